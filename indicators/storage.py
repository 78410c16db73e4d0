"""The store: one DuckDB file holding the framework, every version of every value, and the journals.

Guarantees:
- The schema is declared once (`MIGRATIONS`), applied by numbered migrations recorded in
  `schema_migrations`; a store is created and migrated automatically on first use.
- Nothing is updated in place (accounts aside): every change — an import, a hand entry, a text, a
  milestone, a plan amendment, a payment, a training record, the demo load — is one `changesets` row
  (who, when, which file, why) and the versions it wrote, each tied to it by `changeset_id`.
- The ledger rule (see `ledger`): a cell's current value is the one written by the latest change that
  is not cancelled; a version whose value is NULL (or text '') withdraws the value. Cancelling is a
  change of its own (kind 'revert', `reverts` = its target) that writes no version; cancelling a
  cancellation re-establishes its target. Every view of current state applies the rule, as of any
  change (`*_at(upto)` macros). The only rows ever deleted are demo data's.
- DuckDB lets one process write at a time. Connections are opened for one unit of work and closed
  at once, so the CLI can import while the dashboard runs; a busy file is retried with back-off for
  `lock_timeout` seconds, then `StoreBusy` says so in French.
- `transaction()` is all or nothing: an exception inside it rolls everything back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from indicators import settings
from indicators.errors import FrameworkError, Refused, StoreBusy, StoreDamaged, StoreError
from indicators.framework import Framework, load_framework, parse_framework

# A version's id orders the versions of one value (the latest is the current value). The versions a
# changeset writes get ids changeset id × 2**32 + their position, computed inside the INSERT (`$cs` is the
# changeset id): a million-value import then needs no sequence call per row, which took half the time of
# the write. Ids that `version_seq` gave before are all below 2**32, hence older; the sequence is no
# longer used for versions. An import numbers its cells from their line and column instead (importing.DIFF_VIEW_SQL).
VERSION_BLOCK = 4294967296
NEW_VERSION_ID = f"$cs * {VERSION_BLOCK} + row_number() OVER ()"

SCHEMA_V1 = """
CREATE SEQUENCE changeset_seq START 1;
CREATE SEQUENCE version_seq START 1;
CREATE SEQUENCE audit_seq START 1;

CREATE TABLE frameworks (
    id INTEGER PRIMARY KEY,
    convention_id VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    content VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    loaded_by VARCHAR NOT NULL
);

-- One row per import, edit, revert or demo load: the journal of every change of values.
CREATE TABLE changesets (
    id INTEGER PRIMARY KEY,
    kind VARCHAR NOT NULL,            -- import | edit | revert | demo
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,    -- UTC
    comment VARCHAR,
    file_name VARCHAR,
    file_sha256 VARCHAR,
    file_bytes BIGINT,
    file_format VARCHAR,
    added BIGINT NOT NULL DEFAULT 0,
    changed BIGINT NOT NULL DEFAULT 0,
    unchanged BIGINT NOT NULL DEFAULT 0,
    reverts INTEGER                   -- for kind = 'revert': the changeset it undoes
);

-- Append-only: every version of every value. value NULL = the value was withdrawn.
CREATE TABLE value_versions (
    id BIGINT NOT NULL,
    changeset_id INTEGER NOT NULL,
    indicator VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    value DOUBLE,
    comment VARCHAR,
    source_line INTEGER
);

-- Append-only journal of every write that is not itself a value version (init, demo removal…).
CREATE TABLE audit (
    id BIGINT NOT NULL,
    logged_at TIMESTAMP NOT NULL,
    user_name VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    details VARCHAR
);

CREATE VIEW latest_versions AS
SELECT * EXCLUDE (rn) FROM (
    SELECT v.*, row_number() OVER (PARTITION BY indicator, year ORDER BY id DESC) AS rn
    FROM value_versions v
) WHERE rn = 1;

CREATE VIEW current_values AS
SELECT indicator, year, value, comment, changeset_id, id AS version_id
FROM latest_versions WHERE value IS NOT NULL;

CREATE VIEW journal AS
SELECT c.*,
       CASE WHEN c.kind IN ('import', 'edit') AND EXISTS (
                SELECT 1 FROM changesets r WHERE r.kind = 'revert' AND r.reverts = c.id)
            THEN 'reverted' ELSE 'applied' END AS state
FROM changesets c;
"""

SCHEMA_V2 = """
CREATE SEQUENCE text_seq START 1;
CREATE SEQUENCE milestone_seq START 1;

-- Append-only: every version of the texts people write for the reports. topic: explanation (of one
-- indicator's result for one year), next_actions (actions planned after a year), conclusions (final
-- report). indicator '' and year 0 mean "not about one indicator" and "the whole period".
-- An empty text withdraws the text. demo marks rows of the demo data (removed with them).
CREATE TABLE text_versions (
    id BIGINT NOT NULL,
    topic VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    body VARCHAR NOT NULL,
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    demo BOOLEAN NOT NULL DEFAULT false
);

CREATE VIEW current_texts AS
SELECT * EXCLUDE (rn) FROM (
    SELECT t.*, row_number() OVER (PARTITION BY topic, indicator, year ORDER BY id DESC) AS rn
    FROM text_versions t
) WHERE rn = 1 AND body <> '';

-- Append-only: every state a milestone (jalon) has been given, with who, when and why.
CREATE TABLE milestone_versions (
    id BIGINT NOT NULL,
    milestone VARCHAR NOT NULL,
    state VARCHAR NOT NULL,           -- a_venir | en_cours | realise | abandonne
    year INTEGER,                     -- the year it was reached (or abandoned), when known
    note VARCHAR,
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    demo BOOLEAN NOT NULL DEFAULT false
);

CREATE VIEW current_milestones AS
SELECT * EXCLUDE (rn) FROM (
    SELECT m.*, row_number() OVER (PARTITION BY milestone ORDER BY id DESC) AS rn FROM milestone_versions m
) WHERE rn = 1;
"""

SCHEMA_V3 = """
-- What a changeset changed: indicator values, or actual spending (expenses).
ALTER TABLE changesets ADD COLUMN domain VARCHAR DEFAULT 'values';
UPDATE changesets SET domain = 'values';

-- Append-only: every version of an actual spending amount, keyed by year, budget line (its code in the
-- framework), party and fiche (0 when the file gives none). amount NULL = withdrawn.
CREATE TABLE expense_versions (
    id BIGINT NOT NULL,
    changeset_id INTEGER NOT NULL,
    year INTEGER NOT NULL,
    line VARCHAR NOT NULL,
    party VARCHAR NOT NULL,
    fiche INTEGER NOT NULL,
    amount DOUBLE,
    comment VARCHAR,
    source_line INTEGER
);
CREATE VIEW latest_expenses AS
SELECT * EXCLUDE (rn) FROM (
    SELECT e.*, row_number() OVER (PARTITION BY year, line, party, fiche ORDER BY id DESC) AS rn
    FROM expense_versions e
) WHERE rn = 1;
CREATE VIEW current_expenses AS
SELECT year, line, party, fiche, amount, comment, changeset_id, id AS version_id
FROM latest_expenses WHERE amount IS NOT NULL;

-- Append-only amendments of the planned budget of a year (line, party): the framework gives the
-- first year's budget and, by default, every later year's.
CREATE SEQUENCE plan_seq START 1;
CREATE TABLE plan_versions (
    id BIGINT NOT NULL,
    year INTEGER NOT NULL,
    line VARCHAR NOT NULL,
    party VARCHAR NOT NULL,
    amount DOUBLE NOT NULL,
    reason VARCHAR NOT NULL,
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    demo BOOLEAN NOT NULL DEFAULT false
);
CREATE VIEW current_plan AS
SELECT * EXCLUDE (rn) FROM (
    SELECT p.*, row_number() OVER (PARTITION BY year, line, party ORDER BY id DESC) AS rn FROM plan_versions p
) WHERE rn = 1;

-- Append-only record of the subsidy payments received; a wrong entry is cancelled by another row.
CREATE SEQUENCE payment_seq START 1;
CREATE TABLE payments (
    id BIGINT NOT NULL,
    year INTEGER NOT NULL,
    kind VARCHAR NOT NULL,            -- avance | solde | reversement | autre
    paid_on DATE NOT NULL,
    amount DOUBLE NOT NULL,           -- negative for money paid back
    reference VARCHAR,
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    cancels BIGINT,                   -- the payment this row cancels
    demo BOOLEAN NOT NULL DEFAULT false
);

-- Append-only yearly record of the partnership training's actual economics (latest row per year wins).
CREATE SEQUENCE training_seq START 1;
CREATE TABLE training_records (
    id BIGINT NOT NULL,
    year INTEGER NOT NULL,
    learners INTEGER NOT NULL,
    hours DOUBLE NOT NULL,
    revenue DOUBLE NOT NULL,
    costs_cnam DOUBLE NOT NULL,
    costs_cfa DOUBLE NOT NULL,
    note VARCHAR,
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    demo BOOLEAN NOT NULL DEFAULT false
);
"""

SCHEMA_V4 = """
-- Local accounts. Updated in place (role, password, active), every change journaled in `audit`.
CREATE TABLE users (
    name VARCHAR PRIMARY KEY,
    role VARCHAR NOT NULL,            -- lecteur | charge_de_mission | evaluateur | admin
    password_hash VARCHAR NOT NULL,   -- argon2id
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
-- Every login attempt, for rate limiting and the audit.
CREATE SEQUENCE login_seq START 1;
CREATE TABLE login_attempts (id BIGINT NOT NULL, name VARCHAR NOT NULL, tried_at TIMESTAMP NOT NULL, ok BOOLEAN NOT NULL);
-- Append-only: each year's approval state (brouillon when never set).
CREATE SEQUENCE year_state_seq START 1;
CREATE TABLE year_states (
    id BIGINT NOT NULL,
    year INTEGER NOT NULL,
    state VARCHAR NOT NULL,           -- brouillon | soumis | valide
    reason VARCHAR,
    user_name VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);
"""

SCHEMA_V5 = """
-- The ledger rule for every domain. Cancellations form chains: a change C, the cancellation that
-- targets it, the cancellation of that cancellation (which re-establishes C), and so on; each change is
-- the target of at most one cancellation, so the chain's length says whether C is in force (even) or
-- cancelled (odd). A version counts when its change is in force and is not itself a cancellation:
-- versions older stores wrote for their reverts (copies of old values) are ignored.
ALTER TABLE changesets ADD COLUMN details VARCHAR;
CREATE UNIQUE INDEX changesets_one_cancellation ON changesets (reverts);

CREATE MACRO ledger_chains(upto) AS TABLE
WITH RECURSIVE chain(root, node, depth) AS (
    SELECT r.reverts, r.id, 1 FROM changesets r JOIN changesets t ON t.id = r.reverts
    WHERE r.kind = 'revert' AND t.kind <> 'revert' AND r.id <= upto
    UNION ALL
    SELECT chain.root, r.id, chain.depth + 1 FROM chain JOIN changesets r ON r.reverts = chain.node
    WHERE r.kind = 'revert' AND r.id <= upto
)
SELECT root, node, depth, max(depth) OVER (PARTITION BY root) AS length FROM chain;

-- Changesets whose versions do not count as of change `upto`.
CREATE MACRO inert_changesets(upto) AS TABLE
SELECT id FROM changesets WHERE kind = 'revert' AND id <= upto
UNION ALL
SELECT DISTINCT root FROM ledger_chains(upto) WHERE length % 2 = 1;

-- Every changeset as of `upto`: in force or not, and for a cancellation, the change it bears on (root)
-- and its depth in the chain (odd: an annulation of root, even: a re-establishment).
CREATE MACRO changeset_states(upto) AS TABLE
SELECT c.id, coalesce(ch.root, c.id) AS root, coalesce(ch.depth, 0) AS depth,
       coalesce(ch.length, rl.length, 0) AS chain_length,
       (coalesce(ch.length, rl.length, 0) - coalesce(ch.depth, 0)) % 2 = 0 AS in_force
FROM changesets c
LEFT JOIN ledger_chains(upto) ch ON ch.node = c.id
LEFT JOIN (SELECT DISTINCT root, length FROM ledger_chains(upto)) rl ON rl.root = c.id
WHERE c.id <= upto;

CREATE MACRO latest_values_at(upto) AS TABLE
SELECT * EXCLUDE (rn) FROM (
    SELECT v.*, row_number() OVER (PARTITION BY indicator, year ORDER BY id DESC) AS rn
    FROM value_versions v
    WHERE v.changeset_id <= upto AND v.changeset_id NOT IN (SELECT id FROM inert_changesets(upto))
) WHERE rn = 1;
CREATE MACRO current_values_at(upto) AS TABLE
SELECT indicator, year, value, comment, changeset_id, id AS version_id
FROM latest_values_at(upto) WHERE value IS NOT NULL;
CREATE OR REPLACE VIEW latest_versions AS SELECT * FROM latest_values_at(2147483647);
CREATE OR REPLACE VIEW current_values AS SELECT * FROM current_values_at(2147483647);

CREATE MACRO latest_expenses_at(upto) AS TABLE
SELECT * EXCLUDE (rn) FROM (
    SELECT e.*, row_number() OVER (PARTITION BY year, line, party, fiche ORDER BY id DESC) AS rn
    FROM expense_versions e
    WHERE e.changeset_id <= upto AND e.changeset_id NOT IN (SELECT id FROM inert_changesets(upto))
) WHERE rn = 1;
CREATE MACRO current_expenses_at(upto) AS TABLE
SELECT year, line, party, fiche, amount, comment, changeset_id, id AS version_id
FROM latest_expenses_at(upto) WHERE amount IS NOT NULL;
CREATE OR REPLACE VIEW latest_expenses AS SELECT * FROM latest_expenses_at(2147483647);
CREATE OR REPLACE VIEW current_expenses AS SELECT * FROM current_expenses_at(2147483647);

-- Texts, milestones, plan amendments, payments and training records join the ledger: each row belongs
-- to a changeset. Rows written before get one changeset each, numbered in the order they were written.
ALTER TABLE text_versions ADD COLUMN changeset_id INTEGER;
ALTER TABLE milestone_versions ADD COLUMN changeset_id INTEGER;
ALTER TABLE plan_versions ADD COLUMN changeset_id INTEGER;
ALTER TABLE payments ADD COLUMN changeset_id INTEGER;
ALTER TABLE training_records ADD COLUMN changeset_id INTEGER;
-- A year's approval is a change too (kind 'approval', not cancellable): a report as of a change knows it.
-- Older transitions keep no change number and count in every reading.
ALTER TABLE year_states ADD COLUMN changeset_id INTEGER;

CREATE TEMP TABLE legacy_rows AS
SELECT *, row_number() OVER (ORDER BY created_at, domain, row_id) AS k FROM (
    SELECT 'texts' AS domain, id AS row_id, user_name, created_at, demo, NULL::BIGINT AS cancels,
           NULL AS comment FROM text_versions
    UNION ALL SELECT 'milestones', id, user_name, created_at, demo, NULL, note FROM milestone_versions
    UNION ALL SELECT 'plan', id, user_name, created_at, demo, NULL, reason FROM plan_versions
    UNION ALL SELECT 'payments', id, user_name, created_at, demo, cancels, reference FROM payments
    UNION ALL SELECT 'training', id, user_name, created_at, demo, NULL, note FROM training_records
);
-- Take as many numbers from the sequence as there are rows (consecutive: the migration holds the store).
CREATE TEMP TABLE legacy_first AS
SELECT min(n) AS first FROM (SELECT nextval('changeset_seq') AS n FROM range((SELECT count(*) FROM legacy_rows)));
CREATE TEMP TABLE legacy_ids AS
SELECT r.*, f.first - 1 + r.k AS cs FROM legacy_rows r, legacy_first f;
UPDATE text_versions t SET changeset_id = l.cs FROM legacy_ids l WHERE l.domain = 'texts' AND l.row_id = t.id;
UPDATE milestone_versions t SET changeset_id = l.cs FROM legacy_ids l WHERE l.domain = 'milestones' AND l.row_id = t.id;
UPDATE plan_versions t SET changeset_id = l.cs FROM legacy_ids l WHERE l.domain = 'plan' AND l.row_id = t.id;
UPDATE payments t SET changeset_id = l.cs FROM legacy_ids l WHERE l.domain = 'payments' AND l.row_id = t.id;
UPDATE training_records t SET changeset_id = l.cs FROM legacy_ids l WHERE l.domain = 'training' AND l.row_id = t.id;
-- A payment's counter-entry (older stores' way of cancelling it) becomes the cancellation of its changeset.
INSERT INTO changesets (id, kind, user_name, created_at, comment, added, reverts, domain)
SELECT l.cs, CASE WHEN l.cancels IS NOT NULL THEN 'revert' WHEN l.demo THEN 'demo' ELSE 'edit' END,
       l.user_name, l.created_at, l.comment, CASE WHEN l.cancels IS NULL THEN 1 ELSE 0 END,
       (SELECT t.cs FROM legacy_ids t WHERE t.domain = 'payments' AND t.row_id = l.cancels), l.domain
FROM legacy_ids l ORDER BY l.cs;
DROP TABLE legacy_ids; DROP TABLE legacy_first; DROP TABLE legacy_rows;

CREATE MACRO current_texts_at(upto) AS TABLE
SELECT * EXCLUDE (rn) FROM (
    SELECT t.*, row_number() OVER (PARTITION BY topic, indicator, year ORDER BY id DESC) AS rn
    FROM text_versions t
    WHERE t.changeset_id <= upto AND t.changeset_id NOT IN (SELECT id FROM inert_changesets(upto))
) WHERE rn = 1 AND body <> '';
CREATE OR REPLACE VIEW current_texts AS SELECT * FROM current_texts_at(2147483647);

CREATE MACRO current_milestones_at(upto) AS TABLE
SELECT * EXCLUDE (rn) FROM (
    SELECT m.*, row_number() OVER (PARTITION BY milestone ORDER BY id DESC) AS rn FROM milestone_versions m
    WHERE m.changeset_id <= upto AND m.changeset_id NOT IN (SELECT id FROM inert_changesets(upto))
) WHERE rn = 1;
CREATE OR REPLACE VIEW current_milestones AS SELECT * FROM current_milestones_at(2147483647);

CREATE MACRO current_plan_at(upto) AS TABLE
SELECT * EXCLUDE (rn) FROM (
    SELECT p.*, row_number() OVER (PARTITION BY year, line, party ORDER BY id DESC) AS rn FROM plan_versions p
    WHERE p.changeset_id <= upto AND p.changeset_id NOT IN (SELECT id FROM inert_changesets(upto))
) WHERE rn = 1;
CREATE OR REPLACE VIEW current_plan AS SELECT * FROM current_plan_at(2147483647);

-- Payments are not cells: each one is in force or cancelled. Counter-entries of older stores are left out.
CREATE MACRO payments_at(upto) AS TABLE
SELECT p.*, p.changeset_id IN (SELECT id FROM inert_changesets(upto)) AS cancelled
FROM payments p WHERE p.changeset_id <= upto AND p.cancels IS NULL;

CREATE MACRO training_at(upto) AS TABLE
SELECT * EXCLUDE (rn) FROM (
    SELECT t.*, row_number() OVER (PARTITION BY year ORDER BY id DESC) AS rn FROM training_records t
    WHERE t.changeset_id <= upto AND t.changeset_id NOT IN (SELECT id FROM inert_changesets(upto))
) WHERE rn = 1;

CREATE OR REPLACE VIEW journal AS
SELECT c.*, CASE WHEN s.in_force THEN 'applied' ELSE 'reverted' END AS state, s.root, s.depth
FROM changesets c JOIN changeset_states(2147483647) s USING (id);
"""

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "initial schema", SCHEMA_V1),
    (2, "texts for the reports and milestone states", SCHEMA_V2),
    (3, "budget: actual spending, plan amendments, subsidy payments, training records", SCHEMA_V3),
    (4, "accounts, login attempts, year approval states", SCHEMA_V4),
    (5, "the ledger rule: cancellations that commute, every domain in changesets", SCHEMA_V5),
)
LATEST = 2147483647  # `upto` of the *_at macros for the store as it is now

FRAMEWORK_FRESHNESS = 2.0  # seconds
_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def forget_migrated(path: Path) -> None:
    """After a restore, the file at `path` may hold an older schema: check it again on next use."""
    with _migrate_lock:
        _migrated.discard(str(Path(path)))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _is_lock_error(e: Exception) -> bool:
    text = str(e)
    return "Could not set lock" in text or "Conflicting lock" in text


# What DuckDB says when the bytes of a file are missing or wrong (a truncated or corrupt file), at open or
# at the first query that reads the damaged blocks; and after such an error, of the database it invalidated.
_DAMAGE_MESSAGES = (
    "Could not read enough bytes",
    "Corrupt database file",
    "checksum",
    "not a valid DuckDB database file",
    "invalidated",
)


def is_damage_error(e: Exception) -> bool:
    """True when `e` (a duckdb.Error) says the file itself is damaged, not busy or misused."""
    return isinstance(e, duckdb.Error) and any(m in str(e) for m in _DAMAGE_MESSAGES)


def damaged(path: Path, e: Exception) -> StoreDamaged:
    return StoreDamaged(
        f"Le magasin {path} est endommagé (fichier incomplet ou altéré : {e}). Remettez en place une "
        "sauvegarde avec « kpi restore FICHIER » (« kpi backup --list » les énumère) ; "
        "le fichier endommagé sera gardé tel quel."
    )


class Store:
    """All access to one DuckDB store file goes through this class."""

    def __init__(self, path: str | Path | None = None, lock_timeout: float | None = None):
        self.path = Path(path or settings.get("db")).expanduser().resolve()
        self.lock_timeout = settings.get_float("lock_timeout") if lock_timeout is None else lock_timeout
        self._framework: Framework | None = None
        self._framework_checked = 0.0  # time.monotonic() of the last check against the store

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- connections --------------------------------------------------------------------------
    def _open(self) -> duckdb.DuckDBPyConnection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"Impossible de créer le dossier du magasin {self.path.parent} : {e.strerror}.") from e
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.path))
                # Give memory back after each task above 16 MB instead of 128 MB (and after bulk frees):
                # re-importing a million values into a store that holds them peaks 40 MB lower.
                con.execute(
                    "SET allocator_flush_threshold = '16MB'; SET allocator_bulk_deallocation_flush_threshold = '16MB'"
                )
                return con
            except duckdb.IOException as e:
                if is_damage_error(e):
                    raise damaged(self.path, e) from e
                if not _is_lock_error(e):
                    raise StoreError(f"Impossible d'ouvrir le magasin {self.path} : {e}") from e
                if time.monotonic() >= deadline:
                    raise StoreBusy(
                        f"Le magasin {self.path} est utilisé en écriture par un autre programme depuis plus de "
                        f"{self.lock_timeout:g} s. Réessayez dans un instant (ou augmentez KPI_LOCK_TIMEOUT)."
                    ) from e
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
            except duckdb.Error as e:
                if is_damage_error(e):
                    raise damaged(self.path, e) from e
                raise StoreError(f"Impossible d'ouvrir le magasin {self.path} : {e}") from e

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one unit of work, on a migrated store; closed (lock released) on exit.

        Raises StoreBusy when another program holds the file, StoreDamaged when the file opens no more or
        a query inside the block fails on its damaged bytes (a truncated file often opens and fails only
        at its first query)."""
        con = self._open()
        try:
            self._ensure_migrated(con)
            yield con
        except duckdb.Error as e:
            if is_damage_error(e):
                raise damaged(self.path, e) from e
            raise
        finally:
            with contextlib.suppress(duckdb.Error):  # closing a damaged database may fail too
                con.close()

    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: commits when the block ends normally, rolls back on any exception.

        With commit=False the block always rolls back (a dry run that goes through the real path).
        """
        with self.connect() as con, self.atomic(con, commit):
            yield con

    @staticmethod
    @contextmanager
    def atomic(con: duckdb.DuckDBPyConnection, commit: bool = True) -> Iterator[None]:
        """`transaction` on a connection the caller already holds."""
        con.begin()
        try:
            yield
        except BaseException:
            con.rollback()
            raise
        if commit:
            con.commit()
        else:
            con.rollback()

    def _ensure_migrated(self, con: duckdb.DuckDBPyConnection) -> None:
        key = str(self.path)
        if key in _migrated:
            return
        with _migrate_lock:
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
            )
            done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
            for version, name, sql in MIGRATIONS:
                if version in done:
                    continue
                con.begin()
                try:
                    con.execute(sql)
                    con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, utcnow()])
                except BaseException:
                    con.rollback()
                    raise
                con.commit()
            _migrated.add(key)

    def forget_framework(self) -> None:
        self._framework, self._framework_checked = None, 0.0

    def schema_version(self) -> int:
        with self.connect() as con:
            return con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]

    # -- framework ----------------------------------------------------------------------------
    def load_framework(self, fw: Framework, user: str) -> bool:
        """Record `fw` as the store's framework if it differs from the current one. True if recorded.

        Refuses a framework of another convention: one store follows one convention.
        """
        with self.transaction() as con:
            row = con.execute("SELECT convention_id, sha256 FROM frameworks ORDER BY id DESC LIMIT 1").fetchone()
            if row and row[0] != fw.id:
                raise FrameworkError(
                    f"Ce magasin suit la convention « {row[0]} », pas « {fw.id} ». "
                    "Utilisez un autre fichier de magasin (--db) pour une autre convention."
                )
            if row and row[1] == fw.sha256:
                return False
            if not fw.text:
                raise ValueError("this framework was read back from a store without its text: load it from its file")
            next_id = con.execute("SELECT coalesce(max(id), 0) + 1 FROM frameworks").fetchone()[0]
            con.execute(
                "INSERT INTO frameworks VALUES (?, ?, ?, ?, ?, ?)",
                [next_id, fw.id, fw.sha256, fw.text, utcnow(), user],
            )
            self.audit(con, user, "framework_loaded", {"convention": fw.id, "sha256": fw.sha256, "version": next_id})
        self._framework, self._framework_checked = fw, time.monotonic()
        return True

    def framework(self) -> Framework:
        """The store's current framework. A store without one gets the default file (KPI_FRAMEWORK).

        Checked against the store at most every FRAMEWORK_FRESHNESS seconds: one unit of work (a report,
        a page) asks for it many times, and each check would open the file again."""
        if self._framework is not None and time.monotonic() - self._framework_checked < FRAMEWORK_FRESHNESS:
            return self._framework
        with self.connect() as con:
            row = con.execute("SELECT content, sha256 FROM frameworks ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            fw = load_framework(settings.get("framework"))
            self.load_framework(fw, settings.default_user())
            return fw
        if self._framework is None or self._framework.sha256 != row[1]:
            self._framework = parse_framework(row[0], origin=f"enregistré dans {self.path.name}", keep_text=False)
        self._framework_checked = time.monotonic()
        return self._framework

    # -- journals -----------------------------------------------------------------------------
    @staticmethod
    def audit(con: duckdb.DuckDBPyConnection, user: str, action: str, details: dict) -> None:
        """Append one entry to the audit journal, inside the caller's transaction."""
        con.execute(
            "INSERT INTO audit VALUES (nextval('audit_seq'), ?, ?, ?, ?)",
            [utcnow(), user, action, json.dumps(details, ensure_ascii=False, default=str)],
        )

    @staticmethod
    def refuse_if_demo(con: duckdb.DuckDBPyConnection) -> None:
        """Raise Refused while demo data is present: real data must never mix with it."""
        if con.execute("SELECT count(*) FROM changesets WHERE kind = 'demo'").fetchone()[0]:
            raise Refused(
                "Le magasin contient les DONNÉES D'EXEMPLE : retirez-les d'abord (« kpi demo --remove » ou le "
                "bouton du bandeau), pour que les vraies données ne s'y mélangent jamais."
            )

    def has_demo(self) -> bool:
        with self.connect() as con:
            return con.execute("SELECT count(*) FROM changesets WHERE kind = 'demo'").fetchone()[0] > 0

    def is_empty(self) -> bool:
        """True when no value has ever been recorded (demo included)."""
        with self.connect() as con:
            return con.execute("SELECT count(*) FROM changesets").fetchone()[0] == 0
