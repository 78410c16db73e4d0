"""The ledger rule, for every domain of the store.

A cell's current value is the value written by the latest change (import, hand entry, text, milestone,
plan amendment, payment, training record, demo load) that is not cancelled; when every change to a cell
is cancelled, the cell has no value. Cancelling is a journaled change of its own (kind 'revert': who,
when, why) that marks one change as cancelled and writes no value; cancelling a cancellation
re-establishes the change (« rétablir »). The state of the store is therefore a function of the set of
changes and of which are cancelled: any order of cancellations gives the same store.

The rule is applied in SQL by the store's views and `*_at(upto)` macros (storage, migration 5); this
module writes cancellations and re-establishments, previews them cell by cell, and says as of which
change a reading stands.

Each change is the target of at most one cancellation (a unique index): cancelling, re-establishing
and cancelling again extend one chain C ← annulation ← rétablissement ← annulation …, whose length
says whether C is in force (even) or cancelled (odd).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from indicators import formatting
from indicators.errors import NotFound, Refused
from indicators.storage import LATEST, Store, utcnow

CANCELLABLE_KINDS = ("import", "edit")
PREVIEW_ROWS = 1000


@dataclass(frozen=True)
class Domain:
    """How one versioned table answers the rule: its cells' keys, what a cell holds (NULL: no value),
    which year locks it, and how a person reads a cell and a value. Table names come from code only."""

    name: str  # changesets.domain
    label: str  # French, plural: what its changes change
    table: str
    keys: tuple[str, ...]
    value_sql: str  # over the table's alias t
    year_sql: str  # over t: the year whose approval locks the cell (NULL: never locked)
    cell: Callable[[dict], str]
    show: Callable[[object], str]


def _amount(value) -> str:
    return "aucune valeur" if value is None else formatting.money(value)


def _number(value) -> str:
    return "aucune valeur" if value is None else formatting.number(value)


def _text(value) -> str:
    if value is None:
        return "aucun texte"
    value = str(value)
    return f"« {value[:77]}… »" if len(value) > 80 else f"« {value} »"


def _milestone(value) -> str:
    if value is None:
        return "à venir (jamais mis à jour)"
    from indicators.milestones import STATES

    word = STATES.get(value["state"], (value["state"],))[0]
    return word + (f" en {value['year']}" if value.get("year") else "")


def _training(value) -> str:
    if value is None:
        return "aucun relevé"
    return (
        f"{formatting.number(value['learners'])} alternants, {formatting.number(value['hours'])} h, recettes "
        f"{formatting.money(value['revenue'])}"
    )


def _payment(value) -> str:
    return "annulé" if value is None else formatting.money(value)


DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        Domain(
            "values",
            "valeurs d'indicateurs",
            "value_versions",
            ("indicator", "year"),
            "t.value",
            "t.year",
            lambda k: f"{k['indicator']} {k['year']}",
            _number,
        ),
        Domain(
            "expenses",
            "dépenses réelles",
            "expense_versions",
            ("year", "line", "party", "fiche"),
            "t.amount",
            "t.year",
            lambda k: f"dépenses {k['year']} {k['line']} {k['party']}" + (f" fiche {k['fiche']}" if k["fiche"] else ""),
            _amount,
        ),
        Domain(
            "texts",
            "textes",
            "text_versions",
            ("topic", "indicator", "year"),
            "nullif(t.body, '')",
            "nullif(t.year, 0)",
            lambda k: " ".join(str(x) for x in (_topic(k["topic"]), k["indicator"], k["year"] or "") if x),
            _text,
        ),
        Domain(
            "milestones",
            "jalons",
            "milestone_versions",
            ("milestone",),
            "struct_pack(state := t.state, year := t.year, note := t.note)",
            "t.year",
            lambda k: f"jalon {k['milestone']}",
            _milestone,
        ),
        Domain(
            "plan",
            "budget prévu",
            "plan_versions",
            ("year", "line", "party"),
            "t.amount",
            "t.year",
            lambda k: f"budget prévu {k['year']} {k['line']} {k['party']}",
            lambda v: "montant du référentiel" if v is None else formatting.money(v),
        ),
        Domain(
            "payments",
            "versements",
            "payments",
            ("id",),
            "t.amount",
            "NULL::INTEGER",
            lambda k: f"versement n° {k['id']}",
            _payment,
        ),
        Domain(
            "training",
            "chiffres de la formation",
            "training_records",
            ("year",),
            "struct_pack(learners := t.learners, hours := t.hours, revenue := t.revenue)",
            "t.year",
            lambda k: f"formation {k['year']}",
            _training,
        ),
    )
}


def _topic(code: str) -> str:
    from indicators.texts import TOPICS

    return TOPICS[code].label if code in TOPICS else code


# -- writing changes ------------------------------------------------------------------------------------
def new_changeset(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    domain: str,
    user: str,
    comment: str | None = None,
    details: dict | None = None,
    added: int = 0,
    changed: int = 0,
    unchanged: int = 0,
    reverts: int | None = None,
) -> int:
    """Journal one change inside the caller's transaction; returns its id (the rows it writes carry it)."""
    changeset_id = con.execute("SELECT nextval('changeset_seq')").fetchone()[0]
    con.execute(
        "INSERT INTO changesets (id, kind, user_name, created_at, comment, added, changed, unchanged, reverts, "
        "domain, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            changeset_id,
            kind,
            user,
            utcnow(),
            comment,
            added,
            changed,
            unchanged,
            reverts,
            domain,
            None if details is None else json.dumps(details, ensure_ascii=False, default=str),
        ],
    )
    return changeset_id


def inert_ids(con: duckdb.DuckDBPyConnection, upto: int = LATEST) -> list[int]:
    """Changesets whose versions do not count as of `upto`: cancellations, and the changes they cancel."""
    return [r[0] for r in con.execute("SELECT id FROM inert_changesets(?)", [upto]).fetchall()]


@dataclass
class Cancellation:
    """What cancelling (or re-establishing) a change does, or would do (dry run)."""

    changeset_id: int | None  # the new change (None for a dry run)
    target: int  # the change that is cancelled or re-established
    action: str  # « annulation » | « rétablissement »
    domain: str
    cells: pd.DataFrame  # cell, year, before, after, effect, covered_by (first PREVIEW_ROWS, changed first)
    changed: int  # cells that get another value
    withdrawn: int  # cells left without a value
    restored: int  # cells that get a value back
    covered: int  # cells that stay as they are: a later change in force covers them
    dry_run: bool
    same: int = 0  # cells that stay as they are: an earlier change in force gave the same value

    @property
    def summary(self) -> str:
        """« 1 valeur changée, 2 valeurs inchangées, couvertes par un changement plus récent »."""
        parts = [
            _values(n, word)
            for n, word in ((self.changed, "changée"), (self.restored, "rendue"), (self.withdrawn, "retirée"))
            if n
        ]
        if self.covered:
            parts.append(
                _values(self.covered, "inchangée")
                + (", couvertes" if self.covered > 1 else ", couverte")
                + " par un changement plus récent"
            )
        if self.same:
            parts.append(_values(self.same, "inchangée") + " (même valeur avant)")
        return ", ".join(parts) or "aucune valeur ne change"


def _values(n: int, participle: str) -> str:
    """`1 valeur changée`, `3 valeurs changées` (French: 0 and 1 are singular)."""
    return f"{formatting.number(n)} valeur{'s' if n > 1 else ''} {participle}{'s' if n > 1 else ''}"


def _chain(con: duckdb.DuckDBPyConnection, changeset_id: int) -> tuple[int, int, bool, str, str]:
    """(root, tip, root in force, root kind, root domain) of the chain `changeset_id` belongs to."""
    row = con.execute(
        "SELECT s.root, s.depth, c.kind, c.domain FROM changeset_states(?) s JOIN changesets c ON c.id = s.root "
        "WHERE s.id = ?",
        [LATEST, changeset_id],
    ).fetchone()
    if row is None:
        raise NotFound(f"Aucun changement n° {changeset_id} dans le journal (voir « kpi history »).")
    root, _depth, kind, domain = row
    tip, in_force = con.execute(
        "SELECT coalesce(max(node), ?), coalesce(max(length), 0) % 2 = 0 FROM ledger_chains(?) WHERE root = ?",
        [root, LATEST, root],
    ).fetchone()
    return int(root), int(tip), bool(in_force), kind, domain or "values"


def preview_cells(
    con: duckdb.DuckDBPyConnection, domain: Domain, changeset_id: int, inert_before: list[int], inert_after: list[int]
) -> pd.DataFrame:
    """Every cell `changeset_id` wrote: its value under each set of inert changes, and the change whose
    version is current after. Columns: the keys, year, before, after, before_cs, after_cs."""
    keys = ", ".join(domain.keys)
    ranked = (
        "SELECT {keys}, {value} AS val, {year} AS lock_year, t.changeset_id AS cs, row_number() OVER "
        "(PARTITION BY {keys} ORDER BY t.id DESC) AS rn FROM {table} t JOIN touched USING ({keys}) "
        "WHERE NOT list_contains(${inert}, t.changeset_id)"
    )
    fill = {"keys": keys, "value": domain.value_sql, "year": domain.year_sql, "table": domain.table}
    sql = (
        f"WITH touched AS (SELECT DISTINCT {keys} FROM {domain.table} WHERE changeset_id = $target), "
        f"b AS ({ranked.format(inert='before', **fill)}), a AS ({ranked.format(inert='after', **fill)}) "
        f"SELECT {', '.join(f'touched.{k}' for k in domain.keys)}, coalesce(a.lock_year, b.lock_year) AS year, "
        "b.val AS before, a.val AS after, b.cs AS before_cs, a.cs AS after_cs "
        f"FROM touched LEFT JOIN (SELECT * FROM b WHERE rn = 1) b USING ({keys}) "
        f"LEFT JOIN (SELECT * FROM a WHERE rn = 1) a USING ({keys}) ORDER BY {keys}"
    )
    return con.execute(sql, {"target": changeset_id, "before": inert_before, "after": inert_after}).df()


def _effect(before, after) -> str:
    if _same(before, after):
        return "inchangée"
    if after is None:
        return "retirée"
    if before is None:
        return "rendue"
    return "changée"


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a == b


def _clean(value):
    if value is None:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def flip(
    store: Store, changeset_id: int, user: str, reason: str | None, want_in_force: bool, dry_run: bool = False
) -> Cancellation:
    """Cancel (`want_in_force` False) or re-establish (True) the change `changeset_id` bears on.

    `changeset_id` may be the change itself or a cancellation of it. Raises NotFound, Refused (no reason,
    not cancellable, already in that state, a locked year whose figures would change, demo data).
    """
    from indicators.access import refuse_if_locked_con
    from indicators.backup import guarded_write

    if not dry_run and not str(reason or "").strip():
        raise Refused("Indiquez la raison : elle est obligatoire et figure au journal.")
    with guarded_write(store, user, "annulation", dry_run) as con:
        Store.refuse_if_demo(con)
        root, tip, in_force, kind, domain_name = _chain(con, int(changeset_id))
        if kind not in CANCELLABLE_KINDS:
            from indicators.history import KIND_LABELS

            raise Refused(
                f"Le changement n° {root} est une {KIND_LABELS.get(kind, kind)} : seuls les imports et les saisies "
                "(valeurs, dépenses, textes, jalons, budget, versements, formation) s'annulent."
            )
        if in_force == want_in_force:
            raise Refused(
                f"Le changement n° {root} est déjà en vigueur : il n'y a rien à rétablir."
                if in_force
                else f"Le changement n° {root} est déjà annulé (n° {tip}) : « rétablir » le remet en vigueur."
            )
        domain = DOMAINS[domain_name]
        before = inert_ids(con)
        after = [i for i in before if i != root] if want_in_force else [*before, root]
        cells = preview_cells(con, domain, root, before, after)
        records = cells.to_dict("records")
        effects = [_effect(_clean(r["before"]), _clean(r["after"])) for r in records]
        refuse_if_locked_con(
            con,
            sorted(
                {
                    int(r["year"])
                    for r, e in zip(records, effects, strict=True)
                    if e != "inchangée" and _clean(r["year"])
                }
            ),
        )
        counts = {e: effects.count(e) for e in ("changée", "retirée", "rendue", "inchangée")}
        action = "rétablissement" if want_in_force else "annulation"
        new_id = None
        if not dry_run:
            new_id = new_changeset(
                con,
                "revert",
                domain_name,
                user,
                reason.strip(),
                {"action": action, "change": root},
                changed=counts["changée"] + counts["retirée"] + counts["rendue"],
                unchanged=counts["inchangée"],
                reverts=tip,
            )
        # A cell that keeps its value is covered when the version in force comes from a later change;
        # otherwise it keeps it because an earlier change in force gave the same value.
        covered_by = [
            int(r["after_cs"])
            if e == "inchangée" and _clean(r["after_cs"]) is not None and int(r["after_cs"]) > root
            else None
            for r, e in zip(records, effects, strict=True)
        ]
        shown = pd.DataFrame(
            {
                "cell": [domain.cell(r) for r in records],
                "year": [_clean(r["year"]) for r in records],
                "before": [domain.show(_clean(r["before"])) for r in records],
                "after": [domain.show(_clean(r["after"])) for r in records],
                "effect": effects,
                "covered_by": pd.Series(covered_by, dtype=object),
            },
            columns=["cell", "year", "before", "after", "effect", "covered_by"],
        )
        shown = shown.iloc[shown["effect"].eq("inchangée").argsort(kind="stable")].head(PREVIEW_ROWS)
        return Cancellation(
            new_id,
            root,
            action,
            domain_name,
            shown.reset_index(drop=True),
            counts["changée"],
            counts["retirée"],
            counts["rendue"],
            sum(c is not None for c in covered_by),
            dry_run,
            counts["inchangée"] - sum(c is not None for c in covered_by),
        )


def cancel(
    store: Store, changeset_id: int, user: str, reason: str | None = None, dry_run: bool = False
) -> Cancellation:
    """Cancel a change in force (« annuler »). Cancelling the latest cancellation of a change puts the
    change back in force (it is `reinstate`); an earlier one in its chain is refused. See `flip`."""
    with store.connect() as con:
        row = con.execute("SELECT kind FROM changesets WHERE id = ?", [int(changeset_id)]).fetchone()
        if row and row[0] == "revert":
            root, tip, in_force, _kind, _domain = _chain(con, int(changeset_id))
            if tip != int(changeset_id):
                raise Refused(
                    f"Le changement n° {changeset_id} a déjà été annulé à son tour (n° {tip}) : agissez sur le "
                    f"changement n° {root}, « annuler » ou « rétablir »."
                )
            return flip(store, root, user, reason, want_in_force=not in_force, dry_run=dry_run)
    return flip(store, changeset_id, user, reason, want_in_force=False, dry_run=dry_run)


def reinstate(
    store: Store, changeset_id: int, user: str, reason: str | None = None, dry_run: bool = False
) -> Cancellation:
    """Put a cancelled change back in force (« rétablir ») by cancelling its cancellation. See `flip`."""
    return flip(store, changeset_id, user, reason, want_in_force=True, dry_run=dry_run)


def changeset_of(store: Store, table: str, row_id: int, what: str = "ligne") -> int:
    """The change that wrote row `row_id` of `table` (a name from code, e.g. 'payments'); `what` names
    the row for the person (« versement »)."""
    with store.connect() as con:
        row = con.execute(f"SELECT changeset_id FROM {table} WHERE id = ?", [int(row_id)]).fetchone()
    if row is None or row[0] is None:
        raise NotFound(f"Aucun {what} n° {row_id}.")
    return int(row[0])


# -- as of ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AsOf:
    """A state of the data: every change up to `change` (0: none), the last of them made at `at` (UTC).
    Year approvals are changes too (kind 'approval'), so their state is part of it."""

    change: int
    at: dt.datetime | None

    def sentence(self) -> str:
        if not self.change:
            return "aucune donnée enregistrée"
        return f"données arrêtées au {formatting.timestamp(self.at)}, changement n° {self.change}"


def upto(as_of: AsOf | int | None) -> int:
    """The `upto` argument of the store's *_at macros for a reading as of `as_of` (None: now)."""
    if as_of is None:
        return LATEST
    return as_of.change if isinstance(as_of, AsOf) else int(as_of)


def resolve(store: Store, when: int | str | dt.date | None = None) -> AsOf:
    """The state of the data as of a change number, a date (that day included: « 2018-03-15 » or
    « 15/03/2018 ») or now (None). Raises NotFound for an unknown change, Refused for an unreadable date."""
    with store.connect() as con:
        if when is None:
            row = con.execute("SELECT id, created_at FROM changesets ORDER BY id DESC LIMIT 1").fetchone()
        elif isinstance(when, int) or (isinstance(when, str) and when.strip().isdigit()):
            row = con.execute("SELECT id, created_at FROM changesets WHERE id = ?", [int(when)]).fetchone()
            if row is None:
                raise NotFound(f"Aucun changement n° {when} dans le journal (voir « kpi history »).")
        else:
            day = when if isinstance(when, dt.date) else _parse_day(str(when))
            end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, formatting.PARIS).astimezone(dt.UTC)
            until = end.replace(tzinfo=None)
            row = con.execute(
                "SELECT id, created_at FROM changesets WHERE created_at < ? ORDER BY id DESC LIMIT 1", [until]
            ).fetchone()
    return AsOf(int(row[0]), row[1]) if row else AsOf(0, None)


def _parse_day(text: str) -> dt.date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise Refused(f"Date illisible : « {text} » (attendu : un numéro de changement, AAAA-MM-JJ ou JJ/MM/AAAA).")
