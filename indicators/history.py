"""Read the store's values and journals, as they are now or as of a change, and cancel or re-establish
a change (the ledger rule: see `ledger`)."""

from __future__ import annotations

import pandas as pd

from indicators import ledger
from indicators.storage import Store

KIND_LABELS = {
    "import": "import",
    "edit": "saisie",
    "revert": "annulation",
    "demo": "données d'exemple",
    "approval": "validation d'une année",
}
STATE_LABELS = {"applied": "en vigueur", "reverted": "annulé"}


def kind_label(kind: str, depth: int = 0) -> str:
    """« annulation » or, for the cancellation of a cancellation, « rétablissement »."""
    if kind == "revert" and depth and depth % 2 == 0:
        return "rétablissement"
    return KIND_LABELS.get(kind, kind)


def current_values(store: Store, as_of: ledger.AsOf | int | None = None) -> pd.DataFrame:
    """indicator, year, value, comment, changeset_id, version_id, user_name, recorded_at, kind, file_name,
    file_sha256, reason: the values in force now, or as of a change."""
    with store.connect() as con:
        return con.execute(
            "SELECT v.indicator, v.year, v.value, v.comment, v.changeset_id, v.version_id, c.user_name, "
            "c.created_at AS recorded_at, c.kind, c.file_name, c.file_sha256, c.comment AS reason "
            "FROM current_values_at(?) v JOIN changesets c ON c.id = v.changeset_id ORDER BY v.indicator, v.year",
            [ledger.upto(as_of)],
        ).df()


def journal(store: Store, as_of: ledger.AsOf | int | None = None) -> pd.DataFrame:
    """Every changeset (up to `as_of`), newest first, with its state (applied = in force / reverted =
    cancelled), and for a cancellation the change it bears on (`root`) and `action` (annulation or
    rétablissement)."""
    with store.connect() as con:
        frame = con.execute(
            "SELECT c.id, c.kind, CASE WHEN s.in_force THEN 'applied' ELSE 'reverted' END AS state, c.user_name, "
            "c.created_at, c.comment, c.file_name, c.file_sha256, c.file_bytes, c.file_format, c.added, c.changed, "
            "c.unchanged, c.reverts, c.domain, s.root, s.depth "
            "FROM changesets c JOIN changeset_states(?) s USING (id) ORDER BY c.id DESC",
            [ledger.upto(as_of)],
        ).df()
    frame["action"] = [kind_label(k, d) for k, d in zip(frame["kind"], frame["depth"], strict=True)]
    return frame


def value_history(store: Store, indicator: str, year: int) -> pd.DataFrame:
    """All versions of one value, newest first, with who, when, from which change and why, and whether
    its change is cancelled (`cancelled`) and whether it is the value in force (`current`). `version`
    numbers them from 1, the oldest (`version_id` is the store's internal ordering key). Versions that
    older stores wrote for their reverts are not versions under the ledger rule: they are left out."""
    with store.connect() as con:
        return con.execute(
            "SELECT row_number() OVER (ORDER BY v.id) AS version, v.id AS version_id, v.value, v.comment, "
            "v.changeset_id, c.kind, c.user_name, c.created_at, c.file_name, c.comment AS reason, v.source_line, "
            "NOT s.in_force AS cancelled, v.id IS NOT DISTINCT FROM cur.id AS current "
            "FROM value_versions v JOIN changesets c ON c.id = v.changeset_id "
            "JOIN changeset_states(?) s ON s.id = v.changeset_id "
            "LEFT JOIN latest_versions cur ON cur.indicator = v.indicator AND cur.year = v.year "
            "WHERE v.indicator = ? AND v.year = ? AND c.kind <> 'revert' ORDER BY v.id DESC",
            [ledger.upto(None), indicator, int(year)],
        ).df()


ACTION_LABELS = {
    "import": "import de fichier",
    "edit": "saisie d'une valeur",
    "revert": "annulation",
    "reinstate": "rétablissement",
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
    (texts, milestones, budget, demo, framework, restores) and the login attempts. Columns: logged_at (UTC), user_name, action,
    summary (French), details (JSON text)."""
    with store.connect() as con:
        frame = con.execute(
            """
            SELECT c.created_at AS logged_at, c.user_name,
                   CASE WHEN c.kind = 'revert' AND c.depth % 2 = 0 THEN 'reinstate' ELSE c.kind END AS action,
                   json_object('id', c.id, 'file', c.file_name, 'sha256', c.file_sha256, 'added', c.added,
                               'changed', c.changed, 'unchanged', c.unchanged, 'reverts', c.reverts, 'change', c.root,
                               'comment', c.comment, 'domain', c.domain)::VARCHAR AS details
            FROM journal c
            -- a text, milestone, plan, payment or training entry is described by its own audit entry
            WHERE c.kind = 'revert' OR c.domain IN ('values', 'expenses')
            UNION ALL
            SELECT logged_at, user_name, action, details FROM audit
            UNION ALL
            -- each login attempt is stored once, here; the audit keeps only the refusals of the rate limit
            SELECT tried_at, name, CASE WHEN ok THEN 'login' ELSE 'login_failed' END, '{}' FROM login_attempts
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
    if action in ("revert", "reinstate"):
        verb = "annule" if action == "revert" else "rétablit"
        return (
            f"{label} n° {d.get('id')} ({verb} le changement n° {d.get('change') or d.get('reverts')}) : "
            f"{d.get('changed', 0)} valeur(s) changée(s), {d.get('unchanged', 0)} couverte(s) par un changement plus récent"
        )
    if action in ("import", "edit", "demo"):
        what = f" n° {d.get('id')}"
        if d.get("file"):
            what += f" « {d['file']} »"
        return f"{label}{what} : {d.get('added', 0)} nouvelle(s), {d.get('changed', 0)} modifiée(s)"
    if action == "text_written":
        return f"{label} ({d.get('topic')} {d.get('indicator') or ''} {d.get('year') or ''})".replace("  ", " ")
    if action == "milestone_updated":
        return f"{label} {d.get('milestone')}"
    return label


def audit_log(store: Store) -> pd.DataFrame:
    with store.connect() as con:
        return con.execute("SELECT id, logged_at, user_name, action, details FROM audit ORDER BY id DESC").df()


def revert(
    store: Store, changeset_id: int, user: str, reason: str | None = None, dry_run: bool = False
) -> ledger.Cancellation:
    """Cancel a change (« annuler »), under the ledger rule: see `ledger.cancel`."""
    return ledger.cancel(store, changeset_id, user, reason, dry_run)


def reinstate(
    store: Store, changeset_id: int, user: str, reason: str | None = None, dry_run: bool = False
) -> ledger.Cancellation:
    """Put a cancelled change back in force (« rétablir »): see `ledger.reinstate`."""
    return ledger.reinstate(store, changeset_id, user, reason, dry_run)
