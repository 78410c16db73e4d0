"""Numbers and amounts typed by a person (dashboard fields, CLI arguments), read exactly as the importer
reads a cell (`importing.parse_number`: `63 105,00`, `63105`, `63 105 €`, no-break spaces, decimal comma),
checked, and echoed back in French before anything is saved.

The write functions (`budget.record_payment`, `budget.amend_plan`, `training.record_year`) call `number`
on what they are given, so a typed string and a float go through the same checks; the pages call `read`
to show « Montant lu : 63 105,00 € » under a field, or the error, before the person saves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from indicators import formatting
from indicators.errors import Refused
from indicators.importing import CAPACITY, parse_number

EXAMPLE_AMOUNT = "63 105,00"


@dataclass(frozen=True)
class Reading:
    """What a typed field holds: its value, or the French error that names the field."""

    field: str
    text: str
    value: float | None
    error: str | None
    money: bool = True
    unit: str = ""

    @property
    def echo(self) -> str | None:
        """`Montant lu : 63 105,00 €` (or `Nombre lu : 14`), None while nothing readable is typed."""
        if self.value is None:
            return None
        if self.money:
            return f"Montant lu : {formatting.euros(self.value, cents=True)}"
        if self.unit:
            return f"Nombre lu : {formatting.quantity(self.value, self.unit)}"
        return f"Nombre lu : {formatting.number(self.value)}"

    def checked(self) -> float:
        """The value; raises Refused with the error (naming the field) when it could not be read."""
        if self.error:
            raise Refused(self.error)
        return self.value


def _shown(raw: str | float) -> str:
    if isinstance(raw, str):
        return raw.strip()
    if not math.isfinite(raw) or abs(raw) >= CAPACITY:  # Babel cannot write 1e308 with six decimals
        return f"{raw:g}"
    return formatting.number(raw, decimals=6)


def read(raw: str | float | None, field: str, *, money: bool = True, whole: bool = False, unit: str = "") -> Reading:
    """Read one typed number. Accepted: what the importer accepts, ≥ 0; at most two decimals for an amount,
    none when `whole`. Never raises: an unreadable entry gives `error`, starting with « field »."""
    text = "" if raw is None else (raw if isinstance(raw, str) else repr(raw))
    expected = (
        f"un montant en euros, par exemple {EXAMPLE_AMOUNT}"
        if money
        else ("un nombre entier ≥ 0" if whole else "un nombre ≥ 0, par exemple 12,5")
    )

    def refused(message: str) -> Reading:
        return Reading(field, text, None, f"« {field} » : {message}", money, unit)

    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return refused(f"saisissez {'un montant' if money else 'un nombre'} (attendu : {expected})")
    if isinstance(raw, str):
        value = parse_number(raw)
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    else:
        value = None
    if value is None or math.isnan(value):
        return refused(f"« {_shown(raw)} » n'est pas un nombre (attendu : {expected})")
    if math.isinf(value) or abs(value) >= CAPACITY:
        return refused(f"« {_shown(raw)} » est trop grand pour être enregistré (attendu : {expected})")
    if value < 0:
        return refused(f"« {_shown(raw)} » est négatif (attendu : {expected})")
    if whole and value != math.floor(value):
        return refused(f"« {_shown(raw)} » n'est pas un entier (attendu : un nombre entier ≥ 0)")
    if money and abs(value * 100 - round(value * 100)) > 1e-6:
        return refused(f"« {_shown(raw)} » a plus de deux décimales (attendu : des euros et des centimes)")
    return Reading(field, text, float(value), None, money, unit)


def number(raw: str | float | None, field: str, *, money: bool = True, whole: bool = False) -> float:
    """The value of one typed number (see `read`). Raises Refused, naming the field, when it cannot be read."""
    return read(raw, field, money=money, whole=whole).checked()


def refuse_above(value: float, bound: float, field: str, what: str, money: bool = True) -> None:
    """Refused when `value` exceeds the plausible `bound`. `what` names the bound and where it comes from,
    with `{bound}` where the bound is written (« la subvention prévue pour 2016 ({bound}) »)."""
    if value > bound + 1e-9:
        shown = formatting.money if money else formatting.number
        raise Refused(
            f"« {field} » : {shown(value)} dépasse {what.format(bound=shown(bound))} : vérifiez "
            + ("le montant saisi." if money else "le nombre saisi.")
        )
