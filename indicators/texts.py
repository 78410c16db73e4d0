"""The texts people write for the reports: the explanation of an indicator's result for a year, the
actions planned after a year, the conclusions of the final evaluation.

Texts are versioned like values: each save appends a version (who, when), the current text is the
latest one, an empty text withdraws it, and every save is journaled in the audit table. Texts are
stored exactly as typed and are never interpreted as markup or formulas by the tool.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from indicators import ledger
from indicators.errors import Refused
from indicators.framework import Framework
from indicators.storage import Store, utcnow


@dataclass(frozen=True)
class Topic:
    code: str
    label: str
    per_indicator: bool
    per_year: bool


TOPICS = {
    t.code: t
    for t in (
        Topic("explanation", "Explication du résultat", per_indicator=True, per_year=True),
        Topic("next_actions", "Actions prévues pour l'année suivante", per_indicator=False, per_year=True),
        Topic("conclusions", "Conclusions de l'évaluation", per_indicator=False, per_year=False),
    )
}
MAX_CHARS = 20_000


def _key(fw: Framework, topic: str, indicator: str | None, year: int | None) -> tuple[str, int]:
    """The stored (indicator, year) of a text, checked against the framework. Raises Refused."""
    spec = TOPICS.get(topic)
    if spec is None:
        raise Refused(f"Type de texte inconnu : « {topic} » (attendu : {', '.join(TOPICS)}).")
    if spec.per_indicator:
        codes = {i.code for i in fw.indicators}
        if indicator not in codes:
            raise Refused(f"Indicateur inconnu : « {indicator} » (attendu : un code du référentiel, par exemple F1.1).")
    if spec.per_year and (year is None or int(year) not in fw.years):
        raise Refused(f"Année {year} hors de la convention (attendu : {', '.join(map(str, fw.years))}).")
    return (indicator if spec.per_indicator else ""), (int(year) if spec.per_year else 0)


def write_text(
    store: Store,
    topic: str,
    body: str,
    user: str,
    indicator: str | None = None,
    year: int | None = None,
) -> bool:
    """Save a new version of a text; an empty `body` withdraws it. Returns False when nothing changed.

    Raises Refused (unknown topic, indicator or year, text too long, demo data present).
    """
    from indicators import access

    fw = store.framework()
    key_indicator, key_year = _key(fw, topic, indicator, year)
    access.require(store, user, "conclude" if topic == "conclusions" else "write")
    if key_year:
        access.refuse_if_locked(store, [key_year])
    body = (body or "").strip()
    if len(body) > MAX_CHARS:
        raise Refused(f"Texte trop long : {len(body)} caractères (au plus {MAX_CHARS}).")
    with store.transaction() as con:
        Store.refuse_if_demo(con)
        row = con.execute(
            "SELECT body FROM current_texts WHERE topic = ? AND indicator = ? AND year = ?",
            [topic, key_indicator, key_year],
        ).fetchone()
        before = row[0] if row else ""
        if before == body:
            return False
        details = {"topic": topic, "indicator": key_indicator, "year": key_year}
        cs = ledger.new_changeset(
            con, "edit", "texts", user, details=details, added=int(not before), changed=int(bool(before))
        )
        con.execute(
            "INSERT INTO text_versions (id, topic, indicator, year, body, user_name, created_at, demo, changeset_id) "
            "VALUES (nextval('text_seq'), ?, ?, ?, ?, ?, ?, false, ?)",
            [topic, key_indicator, key_year, body, user, utcnow(), cs],
        )
        Store.audit(
            con,
            user,
            "text_written",
            {**details, "change": cs, "before": before, "after": body},
        )
    return True


def current_texts(store: Store, as_of: ledger.AsOf | int | None = None) -> pd.DataFrame:
    """topic, indicator ('' if none), year (0 for the period), body, user_name, created_at (UTC),
    changeset_id: the texts in force now, or as of a change."""
    with store.connect() as con:
        return con.execute(
            "SELECT topic, indicator, year, body, user_name, created_at, demo, changeset_id FROM current_texts_at(?) "
            "ORDER BY topic, indicator, year",
            [ledger.upto(as_of)],
        ).df()


def text_history(store: Store, topic: str, indicator: str | None = None, year: int | None = None) -> pd.DataFrame:
    """Every version of one text, newest first (an empty body is a withdrawal), with its change and
    whether that change is cancelled."""
    with store.connect() as con:
        return con.execute(
            "SELECT t.id, t.body, t.user_name, t.created_at, t.changeset_id, s.state = 'reverted' AS cancelled "
            "FROM text_versions t JOIN journal s ON s.id = t.changeset_id "
            "WHERE topic = ? AND indicator = ? AND year = ? ORDER BY t.id DESC",
            [topic, indicator or "", int(year or 0)],
        ).df()


def as_dict(texts: pd.DataFrame) -> dict[tuple[str, str, int], str]:
    """{(topic, indicator, year): body} from a frame of `current_texts`, for repeated lookups."""
    return {
        (t, i, int(y)): b
        for t, i, y, b in zip(texts["topic"], texts["indicator"], texts["year"], texts["body"], strict=True)
    }


def lookup(texts: pd.DataFrame | dict, topic: str, indicator: str | None = None, year: int | None = None) -> str:
    """The current text for a key, from `current_texts` or its `as_dict` ('' when there is none)."""
    table = texts if isinstance(texts, dict) else as_dict(texts)
    return table.get((topic, indicator or "", int(year or 0)), "")
