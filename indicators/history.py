"""Read the store's values and journals, and revert an import or an edit.

A revert is itself a journaled change (kind 'revert'): for every value the reverted changeset wrote
and that nobody has changed since, it writes a new version holding the value as it was before
(or withdraws it, if there was none). Values changed since are left alone and reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from indicators.errors import NotFound, Refused
from indicators.storage import NEW_VERSION_ID, Store, utcnow

KIND_LABELS = {"import": "import", "edit": "saisie", "revert": "annulation", "demo": "données d'exemple"}
STATE_LABELS = {"applied": "appliqué", "reverted": "annulé"}


def current_values(store: Store) -> pd.DataFrame:
    """indicator, year, value, comment, changeset_id, version_id, user_name, recorded_at, kind, file_name."""
    with store.connect() as con:
        return con.execute(
            "SELECT v.indicator, v.year, v.value, v.comment, v.changeset_id, v.version_id, c.user_name, "
            "c.created_at AS recorded_at, c.kind, c.file_name, c.file_sha256 "
            "FROM current_values v JOIN changesets c ON c.id = v.changeset_id ORDER BY v.indicator, v.year"
        ).df()


def journal(store: Store) -> pd.DataFrame:
    """Every changeset, newest first, with its state (applied / reverted)."""
    with store.connect() as con:
        return con.execute(
            "SELECT id, kind, state, user_name, created_at, comment, file_name, file_sha256, file_bytes, "
            "file_format, added, changed, unchanged, reverts, domain FROM journal ORDER BY id DESC"
        ).df()


def value_history(store: Store, indicator: str, year: int) -> pd.DataFrame:
    """All versions of one value, newest first, with who, when, from which change and why. `version`
    numbers them from 1, the oldest (`version_id` is the store's internal ordering key)."""
    with store.connect() as con:
        return con.execute(
            "SELECT row_number() OVER (ORDER BY v.id) AS version, v.id AS version_id, v.value, v.comment, "
            "v.changeset_id, c.kind, c.user_name, c.created_at, c.file_name, c.comment AS reason, v.source_line "
            "FROM value_versions v JOIN changesets c ON c.id = v.changeset_id "
            "WHERE v.indicator = ? AND v.year = ? ORDER BY v.id DESC",
            [indicator, int(year)],
        ).df()


ACTION_LABELS = {
    "import": "import de fichier",
    "edit": "saisie d'une valeur",
    "revert": "annulation",
    "demo": "données d'exemple chargées",
    "framework_loaded": "référentiel chargé",
    "demo_loaded": "données d'exemple chargées",
    "demo_removed": "données d'exemple retirées",
    "text_written": "texte écrit",
    "milestone_updated": "jalon mis à jour",
    "plan_amended": "budget prévu modifié",
    "payment_recorded": "versement enregistré",
    "payment_cancelled": "versement annulé",
    "training_recorded": "chiffres de la formation enregistrés",
    "store_restored": "magasin restauré depuis une sauvegarde",
}


def activity(store: Store, action: str | None = None, user: str | None = None, limit: int = 1000) -> pd.DataFrame:
    """Every write, newest first: the journal of changes (imports, edits, reverts) and the audit entries
    (texts, milestones, budget, demo, framework, restores). Columns: logged_at (UTC), user_name, action,
    summary (French), details (JSON text)."""
    with store.connect() as con:
        frame = con.execute(
            """
            SELECT created_at AS logged_at, user_name, kind AS action,
                   json_object('id', id, 'file', file_name, 'sha256', file_sha256, 'added', added, 'changed', changed,
                               'unchanged', unchanged, 'reverts', reverts, 'comment', comment, 'domain', domain)::VARCHAR
                   AS details
            FROM changesets
            UNION ALL
            SELECT logged_at, user_name, action, details FROM audit
            ORDER BY logged_at DESC
            """
        ).df()
    if action:
        frame = frame[frame["action"] == action]
    if user:
        frame = frame[frame["user_name"] == user]
    frame = frame.head(limit).reset_index(drop=True)
    frame["summary"] = [_summary(a, d) for a, d in zip(frame["action"], frame["details"], strict=True)]
    return frame


def _summary(action: str, details: str | None) -> str:
    import json

    label = ACTION_LABELS.get(action, action)
    try:
        d = json.loads(details) if details else {}
    except ValueError:
        d = {}
    if action in ("import", "edit", "revert", "demo"):
        what = f" n° {d.get('id')}"
        if d.get("file"):
            what += f" « {d['file']} »"
        if action == "revert" and d.get("reverts"):
            what += f" (annule le n° {d['reverts']})"
        return f"{label}{what} : {d.get('added', 0)} nouvelle(s), {d.get('changed', 0)} modifiée(s)"
    if action == "text_written":
        return f"{label} ({d.get('topic')} {d.get('indicator') or ''} {d.get('year') or ''})".replace("  ", " ")
    if action == "milestone_updated":
        return f"{label} {d.get('milestone')}"
    return label


def audit_log(store: Store) -> pd.DataFrame:
    with store.connect() as con:
        return con.execute("SELECT id, logged_at, user_name, action, details FROM audit ORDER BY id DESC").df()


@dataclass
class RevertResult:
    changeset_id: int | None
    reverted: int
    restored: int  # values given back their previous value
    withdrawn: int  # values that did not exist before and are withdrawn
    skipped: pd.DataFrame  # values changed since by another change: left alone
    dry_run: bool


REVERT_SQL = """
CREATE OR REPLACE TEMP TABLE revert_plan AS
WITH written AS (
    SELECT indicator, year, id FROM value_versions WHERE changeset_id = $target
), latest AS (
    SELECT l.indicator, l.year, l.id AS latest_id, l.changeset_id AS latest_changeset
    FROM latest_versions l JOIN written w USING (indicator, year)
), previous AS (
    SELECT w.indicator, w.year, max(v.id) AS old_id
    FROM written w JOIN value_versions v ON v.indicator = w.indicator AND v.year = w.year AND v.id < w.id
    GROUP BY w.indicator, w.year
)
SELECT w.indicator, w.year, pv.value AS old_value, pv.comment AS old_comment, l.latest_changeset,
       l.latest_id = w.id AS still_current
FROM written w JOIN latest l USING (indicator, year) LEFT JOIN previous p USING (indicator, year)
LEFT JOIN value_versions pv ON pv.id = p.old_id
"""

# The same plan for a change of actual spending (keyed by year, line, party and fiche).
EXPENSE_REVERT_SQL = """
CREATE OR REPLACE TEMP TABLE revert_plan AS
WITH written AS (
    SELECT year, line, party, fiche, id FROM expense_versions WHERE changeset_id = $target
), latest AS (
    SELECT l.year, l.line, l.party, l.fiche, l.id AS latest_id, l.changeset_id AS latest_changeset
    FROM latest_expenses l JOIN written w USING (year, line, party, fiche)
), previous AS (
    SELECT w.year, w.line, w.party, w.fiche, max(v.id) AS old_id
    FROM written w JOIN expense_versions v USING (year, line, party, fiche)
    WHERE v.id < w.id GROUP BY w.year, w.line, w.party, w.fiche
)
SELECT w.line || ' ' || w.party || CASE WHEN w.fiche > 0 THEN ' fiche ' || w.fiche ELSE '' END AS indicator,
       w.year, w.line, w.party, w.fiche, pv.amount AS old_value, pv.comment AS old_comment, l.latest_changeset,
       l.latest_id = w.id AS still_current
FROM written w JOIN latest l USING (year, line, party, fiche) LEFT JOIN previous p USING (year, line, party, fiche)
LEFT JOIN expense_versions pv ON pv.id = p.old_id
"""


def revert(
    store: Store, changeset_id: int, user: str, reason: str | None = None, dry_run: bool = False
) -> RevertResult:
    """Undo an import or an edit. Raises NotFound, Refused (already reverted, wrong kind, demo)."""
    from indicators.backup import guarded_write

    with guarded_write(store, user, "annulation", dry_run) as con:
        row = con.execute("SELECT kind, state, domain FROM journal WHERE id = ?", [changeset_id]).fetchone()
        if row is None:
            raise NotFound(f"Aucun import n° {changeset_id} dans le journal (voir « kpi history »).")
        kind, state, domain = row
        expenses = domain == "expenses"
        if kind not in ("import", "edit"):
            raise Refused(
                f"Le changement n° {changeset_id} est une {KIND_LABELS.get(kind, kind)} : seuls les "
                "imports et les saisies peuvent être annulés."
            )
        if state == "reverted":
            by = con.execute("SELECT id FROM changesets WHERE reverts = ?", [changeset_id]).fetchone()[0]
            raise Refused(f"L'import n° {changeset_id} a déjà été annulé (annulation n° {by}).")
        con.execute(EXPENSE_REVERT_SQL if expenses else REVERT_SQL, {"target": changeset_id})
        from indicators.access import refuse_if_locked_con

        refuse_if_locked_con(
            con, [r[0] for r in con.execute("SELECT DISTINCT year FROM revert_plan WHERE still_current").fetchall()]
        )
        counts = con.execute(
            "SELECT count(*) FILTER (WHERE still_current AND old_value IS NOT NULL), "
            "count(*) FILTER (WHERE still_current AND old_value IS NULL), count(*) FROM revert_plan"
        ).fetchone()
        skipped = con.execute(
            "SELECT indicator, year, latest_changeset FROM revert_plan WHERE NOT still_current ORDER BY indicator, year"
        ).df()
        new_id = None
        if not dry_run:
            new_id = con.execute("SELECT nextval('changeset_seq')").fetchone()[0]
            con.execute(
                "INSERT INTO changesets (id, kind, user_name, created_at, comment, added, changed, unchanged, reverts, "
                "domain) VALUES (?, 'revert', ?, ?, ?, 0, ?, ?, ?, ?)",
                [new_id, user, utcnow(), reason, counts[0] + counts[1], len(skipped), changeset_id, domain],
            )
            if expenses:
                con.execute(
                    f"INSERT INTO expense_versions SELECT {NEW_VERSION_ID}, $cs, year, line, party, fiche, "
                    "old_value, old_comment, NULL FROM revert_plan WHERE still_current",
                    {"cs": new_id},
                )
            else:
                con.execute(
                    f"INSERT INTO value_versions SELECT {NEW_VERSION_ID}, $cs, indicator, year, old_value, "
                    "old_comment, NULL FROM revert_plan WHERE still_current",
                    {"cs": new_id},
                )
        return RevertResult(new_id, counts[2], counts[0], counts[1], skipped, dry_run)
