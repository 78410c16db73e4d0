"""The state of the convention's milestones (jalons J1, J2, …): versioned and journaled like values.

A milestone nobody has updated is `a_venir`. Each update appends a version with who, when, the year
it was reached (or abandoned) and an optional note.
"""

from __future__ import annotations

import pandas as pd

from indicators import ledger
from indicators.errors import Refused
from indicators.storage import Store, utcnow

# state -> (French word, icon): the icon and the word carry the meaning, never a colour alone.
STATES = {
    "a_venir": ("À venir", "○"),
    "en_cours": ("En cours", "◔"),
    "realise": ("Réalisé", "✔"),
    "abandonne": ("Abandonné", "✖"),
}
DEFAULT_STATE = "a_venir"
MAX_NOTE = 2_000


def set_state(
    store: Store, milestone: str, state: str, user: str, year: int | None = None, note: str | None = None
) -> bool:
    """Record a milestone's new state. Returns False when state, year and note are unchanged.

    Raises Refused (unknown milestone or state, year outside the convention, demo data present).
    """
    from indicators.access import require

    require(store, user, "write")
    fw = store.framework()
    codes = {m.code for m in fw.milestones}
    if milestone not in codes:
        raise Refused(f"Jalon inconnu : « {milestone} » (attendu : {', '.join(sorted(codes))}).")
    if state not in STATES:
        raise Refused(f"État inconnu : « {state} » (attendu : {', '.join(STATES)}).")
    if year is not None and int(year) not in fw.years:
        raise Refused(f"Année {year} hors de la convention (attendu : {', '.join(map(str, fw.years))}).")
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise Refused(f"Note trop longue : {len(note)} caractères (au plus {MAX_NOTE}).")
    with store.transaction() as con:
        Store.refuse_if_demo(con)
        before = con.execute(
            "SELECT state, year, note FROM current_milestones WHERE milestone = ?", [milestone]
        ).fetchone()
        after = (state, None if year is None else int(year), note)
        if before == after or (before is None and after == (DEFAULT_STATE, None, None)):
            return False
        cs = ledger.new_changeset(
            con,
            "edit",
            "milestones",
            user,
            note,
            {"milestone": milestone},
            added=int(before is None),
            changed=int(before is not None),
        )
        con.execute(
            "INSERT INTO milestone_versions (id, milestone, state, year, note, user_name, created_at, demo, changeset_id) "
            "VALUES (nextval('milestone_seq'), ?, ?, ?, ?, ?, ?, false, ?)",
            [milestone, state, after[1], note, user, utcnow(), cs],
        )
        Store.audit(
            con,
            user,
            "milestone_updated",
            {"milestone": milestone, "change": cs, "before": list(before) if before else None, "after": list(after)},
        )
    return True


def milestone_table(store: Store, as_of: ledger.AsOf | int | None = None) -> pd.DataFrame:
    """One row per milestone of the framework: code, label, fiches, state (a_venir when never set), year,
    note, user_name, updated_at (UTC, NaT when never set)."""
    fw = store.framework()
    with store.connect() as con:
        current = con.execute(
            "SELECT milestone AS code, state, year, note, user_name, created_at AS updated_at, changeset_id "
            "FROM current_milestones_at(?)",
            [ledger.upto(as_of)],
        ).df()
    frame = pd.DataFrame(
        [{"code": m.code, "label": m.label, "fiches": list(m.fiches), "source": m.source} for m in fw.milestones],
        columns=["code", "label", "fiches", "source"],
    )
    frame = frame.merge(current, on="code", how="left")
    frame["state"] = frame["state"].fillna(DEFAULT_STATE)
    return frame


def milestone_history(store: Store, milestone: str) -> pd.DataFrame:
    with store.connect() as con:
        return con.execute(
            "SELECT m.id, m.state, m.year, m.note, m.user_name, m.created_at, m.changeset_id, s.state = 'reverted' AS cancelled "
            "FROM milestone_versions m JOIN journal s ON s.id = m.changeset_id "
            "WHERE milestone = ? ORDER BY m.id DESC",
            [milestone],
        ).df()
