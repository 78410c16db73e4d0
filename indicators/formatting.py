"""French formatting of numbers, amounts, rates and dates (Babel, locale fr_FR).

Babel separates thousands with a narrow no-break space (U+202F) and puts a no-break space before
`%` and `€`, so that `115 150 €` and `84 %` never break across lines.
"""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from babel.dates import format_date as _format_date
from babel.numbers import format_currency, format_decimal, format_percent

LOCALE = "fr_FR"
PARIS = ZoneInfo("Europe/Paris")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value, decimals: int = 2, empty: str = "—") -> str:
    """`1 234`, `12,5`: up to `decimals` decimals, none shown for whole numbers."""
    if _missing(value):
        return empty
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


def euros(value, cents: bool = False, empty: str = "—") -> str:
    """`115 150 €` (or `4 080,90 €` with cents)."""
    if _missing(value):
        return empty
    pattern = "#,##0.00\u00a0¤" if cents else "#,##0\u00a0¤"
    return format_currency(value, "EUR", format=pattern, locale=LOCALE, currency_digits=False)


def money(value, empty: str = "—") -> str:
    """`90 150 €`, or `84 124,86 €` when there are cents: an amount exactly as computed."""
    if _missing(value):
        return empty
    return euros(value, cents=round(float(value), 2) != round(float(value)))


def percent(rate, empty: str = "—", decimals: int = 0) -> str:
    """`84 %` from 0.84 (rounded to the unit), or with up to `decimals` decimals: `86,55 %`, `70 %`."""
    if _missing(rate):
        return empty
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "") + "\u00a0%"
    return format_percent(rate, format=pattern, locale=LOCALE)


def date(value: dt.date, long: bool = True) -> str:
    """`31 mars 2017` (long) or `31/03/2017`."""
    return _format_date(value, format="long" if long else "short", locale=LOCALE)


def timestamp(value: dt.datetime) -> str:
    """A UTC timestamp from the store shown in Paris time: `29/11/2026 21:32`."""
    local = value.replace(tzinfo=dt.UTC).astimezone(PARIS)
    return local.strftime("%d/%m/%Y %H:%M")


def plural(n: float, singular: str, plural_form: str | None = None) -> str:
    """`1 erreur`, `3 erreurs` (French: 0 and 1 are singular)."""
    word = singular if abs(n) < 2 else (plural_form or singular + "s")
    return f"{number(n)} {word}"


def quantity(n, unit: str) -> str:
    """`1 formation`, `0 entreprise`, `64 entreprises`: a unit written in the plural agrees with n
    (French: 0 and 1 take the singular). Only the first word changes: `élèves inscrits` is not expected."""
    if _missing(n):
        return f"— {unit}"
    if abs(n) < 2:
        first, _, rest = unit.partition(" ")
        if first.endswith("s") and not first.endswith("ss"):
            unit = first[:-1] + (" " + rest if rest else "")
    return f"{number(n)} {unit}"
