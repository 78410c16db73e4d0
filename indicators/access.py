"""Who may do what: roles, local accounts (argon2id), login with rate limiting, and each year's approval
state (brouillon → soumis → validé), enforced by every function that writes.

- Before the first account exists the store is in « open » mode, as a fresh install is: every write is
  allowed and journaled under the name given. `kpi user add NAME --role admin` creates the first admin;
  from then on every write needs an active account whose role allows it.
- A submitted or validated year refuses imports, edits and explanations for that year; an evaluator
  approves or returns a submitted year, and unlocks a validated one with a reason.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
import threading
import unicodedata
from pathlib import Path

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from indicators.errors import Refused
from indicators.storage import Store, utcnow

ROLES = {
    "lecteur": "lecteur",
    "charge_de_mission": "chargé(e) de mission",
    "evaluateur": "évaluateur",
    "admin": "administrateur",
}
# permission -> (roles allowed, what it is, in French, for the refusal message)
PERMISSIONS = {
    "write": ({"charge_de_mission", "admin"}, "importer, saisir, commenter ou annuler"),
    "conclude": ({"evaluateur", "admin"}, "écrire les conclusions de l'évaluation"),
    "submit": ({"charge_de_mission", "admin"}, "soumettre une année"),
    "approve": ({"evaluateur", "admin"}, "valider, renvoyer ou déverrouiller une année"),
    "report": ({"evaluateur", "charge_de_mission", "admin"}, "produire un rapport"),
    "export": ({"evaluateur", "charge_de_mission", "admin"}, "exporter les données"),
    "admin": ({"admin"}, "gérer les comptes, le référentiel et les restaurations"),
}
STATES = {"brouillon": "brouillon", "soumis": "soumis", "valide": "validé"}
LOCKED = {"soumis", "valide"}
MAX_FAILURES, FAILURE_WINDOW = 5, dt.timedelta(minutes=15)
MAX_NAME = 64  # characters, for account names and login names alike
_hasher = PasswordHasher()
_DUMMY_HASH: str | None = None
_attempts_lock = threading.Lock()


def accounts_exist(store: Store) -> bool:
    with store.connect() as con:
        return con.execute("SELECT count(*) FROM users").fetchone()[0] > 0


def role_of(store: Store, user: str | None) -> str | None:
    """The active role of `user`, or None (no such account, or disabled)."""
    with store.connect() as con:
        row = con.execute("SELECT role FROM users WHERE name = ? AND active", [user or ""]).fetchone()
    return row[0] if row else None


def _standing(con: duckdb.DuckDBPyConnection, user: str | None) -> tuple[bool, str | None]:
    """(the store is still open — no account yet —, the active role of `user`), in one query."""
    accounts, role = con.execute(
        "SELECT (SELECT count(*) FROM users), (SELECT role FROM users WHERE name = ? AND active)", [user or ""]
    ).fetchone()
    return accounts == 0, role


def allowed(store: Store, user: str | None, permission: str) -> bool:
    with store.connect() as con:
        is_open, role = _standing(con, user)
    return is_open or role in PERMISSIONS[permission][0]


def require(store: Store, user: str | None, permission: str) -> None:
    """Raise Refused unless `user` may do `permission` (always allowed before the first account)."""
    with store.connect() as con:
        require_con(con, user, permission)


def require_con(con: duckdb.DuckDBPyConnection, user: str | None, permission: str) -> None:
    """`require` on a connection the caller already holds."""
    is_open, role = _standing(con, user)
    roles, what = PERMISSIONS[permission]
    if is_open or role in roles:
        return
    who = f"« {user} » ({ROLES[role]})" if role else f"« {user} » n'a pas de compte actif et"
    names = ", ".join(ROLES[r] for r in sorted(roles))
    raise Refused(f"{who} ne peut pas {what} : il faut le rôle {names}.")


# -- accounts ---------------------------------------------------------------------------------------
MIN_PASSWORD = 10
PASSWORD_RULE = (
    f"Règle : au moins {MIN_PASSWORD} caractères, pas seulement des espaces ni un même caractère répété, "
    "et pas un mot de passe trop courant (« azerty », « motdepasse », « soleil »…, même suivi de chiffres "
    "ou de symboles). Une phrase de plusieurs mots convient bien."
)
COMMON_PASSWORDS = Path(__file__).resolve().parent / "common_passwords.txt"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The most common passwords shipped with the package (`common_passwords.txt`), normalised."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(_plain(w) for w in lines if w.strip() and not w.startswith("#"))


def _plain(text: str) -> str:
    """Lower case, without accents: « Liberté » and « liberte » are the same common password."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _check_password(password: str) -> None:
    """Refused (with the rule, in French) for a short, blank, one-character or common password."""
    password = password or ""
    plain = _plain(password)
    if len(password) < MIN_PASSWORD:
        why = f"{len(password)} caractère{'s' if len(password) > 1 else ''} seulement"
    elif not password.strip():
        why = "rien que des espaces"
    elif len(set(password)) == 1:
        why = "un seul caractère répété"
    elif plain in common_passwords() or re.sub(r"[\d\W_]+$", "", plain) in common_passwords():
        why = "mot de passe courant"
    else:
        return
    raise Refused(f"Mot de passe refusé ({why}). {PASSWORD_RULE}")


def add_user(store: Store, name: str, role: str, password: str, by: str) -> None:
    """Create an account. The first one must be an admin; later ones need an admin (`by`)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise Refused(f"Le nom du compte doit compter de 1 à {MAX_NAME} caractères.")
    if role not in ROLES:
        raise Refused(f"Rôle inconnu : « {role} » (attendu : {', '.join(ROLES)}).")
    _check_password(password)
    first = not accounts_exist(store)
    if first and role != "admin":
        raise Refused("Le premier compte doit être un administrateur (--role admin).")
    if not first:
        require(store, by, "admin")
    with store.transaction() as con:
        if con.execute("SELECT count(*) FROM users WHERE name = ?", [name]).fetchone()[0]:
            raise Refused(f"Le compte « {name} » existe déjà.")
        con.execute("INSERT INTO users VALUES (?, ?, ?, true, ?)", [name, role, _hasher.hash(password), utcnow()])
        Store.audit(con, by if not first else name, "user_added", {"name": name, "role": role})


def list_users(store: Store) -> list[dict]:
    with store.connect() as con:
        rows = con.execute("SELECT name, role, active, created_at FROM users ORDER BY name").fetchall()
    return [{"name": n, "role": r, "active": a, "created_at": c} for n, r, a, c in rows]


def _update(store: Store, name: str, by: str, action: str, sql: str, params: list, details: dict) -> None:
    require(store, by, "admin")
    with store.transaction() as con:
        if not con.execute("SELECT count(*) FROM users WHERE name = ?", [name]).fetchone()[0]:
            raise Refused(f"Aucun compte « {name} ».")
        con.execute(sql, [*params, name])
        if con.execute("SELECT count(*) FROM users WHERE role = 'admin' AND active").fetchone()[0] == 0:
            raise Refused("Il doit rester au moins un administrateur actif.")
        Store.audit(con, by, action, {"name": name, **details})


def set_role(store: Store, name: str, role: str, by: str) -> None:
    if role not in ROLES:
        raise Refused(f"Rôle inconnu : « {role} » (attendu : {', '.join(ROLES)}).")
    before = role_of(store, name)
    _update(
        store,
        name,
        by,
        "user_role_set",
        "UPDATE users SET role = ? WHERE name = ?",
        [role],
        {"before": before, "after": role},
    )


def disable(store: Store, name: str, by: str) -> None:
    _update(store, name, by, "user_disabled", "UPDATE users SET active = false WHERE name = ?", [], {})


def enable(store: Store, name: str, by: str) -> None:
    """Give a disabled account back its access (same role, same password); needs an admin."""
    _update(store, name, by, "user_enabled", "UPDATE users SET active = true WHERE name = ?", [], {})


def set_password(store: Store, name: str, password: str, by: str) -> None:
    _check_password(password)
    _update(
        store,
        name,
        by,
        "user_password_set",
        "UPDATE users SET password_hash = ? WHERE name = ?",
        [_hasher.hash(password)],
        {},
    )


def _dummy_hash() -> str:
    """A hash of a random password, made once: unknown names are verified against it, so an attempt
    costs the same argon2 work whether the account exists or not (timing reveals no names)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def _record_attempt(store: Store, name: str, now: dt.datetime) -> int | None:
    """Count the recent failures of `name` and, below the limit, record this attempt as a failure, in
    one transaction under one lock: the id of the attempt, or None when the limit refuses it.

    The lock serialises the threads of this process; other processes are kept out by DuckDB's file
    lock, held as long as the connection is open. A password is then verified only for an attempt
    already counted, so parallel logins cannot check more passwords than the limit allows."""
    with _attempts_lock, store.transaction() as con:
        failures = con.execute(
            "SELECT count(*) FROM login_attempts WHERE name = ? AND NOT ok AND tried_at > ?",
            [name, now - FAILURE_WINDOW],
        ).fetchone()[0]
        if failures >= MAX_FAILURES:
            Store.audit(con, name, "login_blocked", {})
            return None
        return con.execute(
            "INSERT INTO login_attempts VALUES (nextval('login_seq'), ?, ?, false) RETURNING id", [name, now]
        ).fetchone()[0]


def authenticate(store: Store, name: str, password: str) -> str:
    """Check a login; returns the role. Refused (name too long, wrong name or password, disabled, too
    many failures), always with the same message for a wrong name or password.

    Every attempt is recorded once, in `login_attempts` (the journal shows them from there), before
    its password is verified; a name longer than MAX_NAME is refused before anything is written."""
    name = name or ""
    if len(name) > MAX_NAME:
        raise Refused(f"Nom de compte trop long : {MAX_NAME} caractères au plus.")
    attempt = _record_attempt(store, name, utcnow())
    if attempt is None:
        raise Refused(
            f"Trop d'essais manqués pour « {name} » : réessayez dans {int(FAILURE_WINDOW.total_seconds() // 60)} minutes."
        )
    with store.connect() as con:
        row = con.execute("SELECT role, password_hash, active FROM users WHERE name = ?", [name]).fetchone()
    try:
        ok = _hasher.verify(row[1] if row else _dummy_hash(), password or "") and row is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if ok and row[2]:
        with store.transaction() as con:
            con.execute("UPDATE login_attempts SET ok = true WHERE id = ?", [attempt])
    if not ok:
        raise Refused("Nom ou mot de passe incorrect.")
    if not row[2]:
        raise Refused(f"Le compte « {name} » est désactivé.")
    return row[0]


# -- approval of a year -----------------------------------------------------------------------------
def year_states(store: Store, as_of=None) -> dict[int, tuple[str, str | None, str | None, dt.datetime | None]]:
    """year -> (state, reason, who, when) for every convention year (brouillon when never set), now or
    as of a change (`ledger.AsOf` or its number: each transition is a change of kind 'approval')."""
    from indicators import ledger

    fw = store.framework()
    with store.connect() as con:
        rows = con.execute(
            "SELECT year, state, reason, user_name, created_at FROM (SELECT *, row_number() OVER "
            "(PARTITION BY year ORDER BY id DESC) AS rn FROM year_states WHERE coalesce(changeset_id, 0) <= ?) "
            "WHERE rn = 1",
            [ledger.upto(as_of)],
        ).fetchall()
    current = {y: (s, r, u, c) for y, s, r, u, c in rows}
    return {y: current.get(y, ("brouillon", None, None, None)) for y in fw.years}


def refuse_if_locked(store: Store, years) -> None:
    """Refused when any of `years` is submitted or validated: its figures must not move."""
    states = year_states(store)
    locked = sorted({int(y) for y in years if states.get(int(y), ("brouillon",))[0] in LOCKED})
    if locked:
        details = ", ".join(f"{y} ({STATES[states[y][0]]})" for y in locked)
        raise Refused(
            f"Année{'s' if len(locked) > 1 else ''} verrouillée{'s' if len(locked) > 1 else ''} : {details}. "
            "Un évaluateur doit la renvoyer (si elle est soumise) ou la déverrouiller (si elle est validée), avec une raison."
        )


def refuse_if_locked_con(con, years) -> None:
    """The same check inside a caller's transaction (`con`), for the years a write touches."""
    years = sorted({int(y) for y in years})
    if not years:
        return
    rows = con.execute(
        "SELECT year, state FROM (SELECT *, row_number() OVER (PARTITION BY year ORDER BY id DESC) AS rn "
        "FROM year_states) WHERE rn = 1 AND list_contains(?, year) AND state IN ('soumis', 'valide') ORDER BY year",
        [years],
    ).fetchall()
    if rows:
        details = ", ".join(f"{y} ({STATES[s]})" for y, s in rows)
        raise Refused(
            f"Année{'s' if len(rows) > 1 else ''} verrouillée{'s' if len(rows) > 1 else ''} : {details}. "
            "Un évaluateur doit la renvoyer (si elle est soumise) ou la déverrouiller (si elle est validée), avec une raison."
        )


def _transition(
    store: Store,
    year: int,
    user: str,
    permission: str,
    allowed_from: set,
    to: str,
    reason: str | None,
    need_reason: bool,
) -> None:
    require(store, user, permission)
    fw = store.framework()
    if int(year) not in fw.years:
        raise Refused(f"Année {year} hors de la convention (attendu : {', '.join(map(str, fw.years))}).")
    state = year_states(store)[int(year)][0]
    if state not in allowed_from:
        raise Refused(f"L'année {year} est « {STATES[state]} » : impossible de la passer à « {STATES[to]} ».")
    if need_reason and not (reason or "").strip():
        raise Refused("Indiquez la raison : elle est obligatoire et figure au journal.")
    from indicators import ledger

    with store.transaction() as con:
        cs = ledger.new_changeset(
            con, "approval", "years", user, (reason or "").strip() or None, {"year": int(year), "state": to}
        )
        con.execute(
            "INSERT INTO year_states (id, year, state, reason, user_name, created_at, changeset_id) "
            "VALUES (nextval('year_state_seq'), ?, ?, ?, ?, ?, ?)",
            [int(year), to, (reason or "").strip() or None, user, utcnow(), cs],
        )
        Store.audit(con, user, "year_state", {"year": int(year), "before": state, "after": to, "reason": reason})


def submit_year(store: Store, year: int, user: str) -> None:
    _transition(store, year, user, "submit", {"brouillon"}, "soumis", None, False)


def approve_year(store: Store, year: int, user: str) -> None:
    _transition(store, year, user, "approve", {"soumis"}, "valide", None, False)


def return_year(store: Store, year: int, user: str, reason: str) -> None:
    _transition(store, year, user, "approve", {"soumis"}, "brouillon", reason, True)


def unlock_year(store: Store, year: int, user: str, reason: str) -> None:
    _transition(store, year, user, "approve", {"valide"}, "brouillon", reason, True)
