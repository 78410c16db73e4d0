"""Backups of the store: a consistent copy taken while the app runs, an automatic copy before every
import and every revert (the last KPI_BACKUPS_KEPT are kept), and restore.

A backup is a copy of the DuckDB file made while this process holds the store (so no other program
writes during the copy) right after a CHECKPOINT (so the file alone holds everything), with a manifest
beside it (SHA-256, schema version, counts, why it was taken). Restore checks the copy, first backs up
the current store, then swaps the files in one rename.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from indicators import settings, storage
from indicators.errors import Refused, StoreBusy, StoreDamaged, StoreError
from indicators.storage import Store, utcnow


@dataclass(frozen=True)
class Backup:
    path: Path
    created_at: dt.datetime
    reason: str
    sha256: str
    schema_version: int
    changesets: int


def backup_dir(store: Store) -> Path:
    configured = settings.get("backup_dir")
    return Path(configured).expanduser() if configured else store.path.parent / "sauvegardes"


def _manifest_sha256(copy: Path) -> str | None:
    try:
        return json.loads(copy.with_suffix(".json").read_text(encoding="utf-8")).get("sha256")
    except (OSError, ValueError):
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# Store path -> a read-only descriptor of the file at that path, never closed while it is that file
# (see `_store_chunks`).
_descriptors: dict[str, int] = {}
_descriptors_lock = threading.Lock()  # a descriptor is never closed while another thread reads through it


def _store_chunks(store: Path) -> Iterator[bytes]:
    """The bytes of the store file, read while this process holds DuckDB's lock on it, without ever closing
    a descriptor of it: the lock is a POSIX record lock, which belongs to the process and the file, and
    closing *any* descriptor of the file releases it — another program could then write into the store
    while this process still uses it (it happened: two imports at once, one lost). So reads go through
    one descriptor per store, kept open as long as the path leads to that file. Once a restore replaced
    the file (or it was deleted) the descriptor is closed: a lock on a file no path leads to protects
    nothing, and the old file's space is freed."""
    if os.name != "posix":  # Windows locks belong to a handle: a plain read releases nothing
        with store.open("rb") as f:
            yield from iter(lambda: f.read(1 << 22), b"")
        return
    with _descriptors_lock:
        fd = _descriptors.get(str(store))
        if fd is None or not _same_file(fd, store):
            for path, old in list(_descriptors.items()):
                if not _same_file(old, Path(path)):
                    os.close(_descriptors.pop(path))
            fd = _descriptors[str(store)] = os.open(store, os.O_RDONLY)
        size, offset = os.fstat(fd).st_size, 0
        while offset < size:
            chunk = os.pread(fd, min(1 << 22, size - offset), offset)
            if not chunk:
                break
            yield chunk
            offset += len(chunk)


def _same_file(fd: int, path: Path) -> bool:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


def _disk_error(e: OSError, folder: Path) -> StoreError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError(
            f"Disque plein : impossible d'écrire dans le dossier {folder}. La copie commencée a été effacée ; "
            "libérez de la place (par exemple d'anciennes sauvegardes) puis réessayez."
        )
    return StoreError(f"Impossible d'écrire dans le dossier {folder} : {e.strerror or e}.")


def _write(target: Path, chunks: Iterable[bytes]) -> str:
    """Write `chunks` into `target`; the SHA-256 of the bytes written. On any failure `target` is removed
    (a partial file left behind keeps the disk full and every later import fails) and an OSError becomes
    a StoreError naming the folder (« Disque plein » for ENOSPC)."""
    digest = hashlib.sha256()
    try:
        with target.open("wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
    except BaseException as e:
        target.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise _disk_error(e, target.parent) from e
        raise
    finally:
        # A source left suspended would keep its lock (`_store_chunks` holds `_descriptors_lock` while it
        # yields) for as long as the traceback lives: the next backup would wait for it forever.
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return digest.hexdigest()


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        yield from iter(lambda: f.read(1 << 22), b"")


def _copy_store(store: Path, target: Path) -> str:
    """Copy the store into `target`; the SHA-256 of the bytes copied."""
    return _write(target, _store_chunks(store))


def backup(
    store: Store,
    out_dir: str | Path | None = None,
    reason: str = "manuelle",
    con: duckdb.DuckDBPyConnection | None = None,
) -> Backup:
    """Copy the store into `out_dir` (default: the backup folder). Safe while the dashboard runs.
    `con`: a connection the caller holds on the store, outside any transaction (else one is opened)."""
    out = Path(out_dir).expanduser() if out_dir else backup_dir(store)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Refused(f"Impossible de créer le dossier de sauvegarde {out} : {e.strerror}.") from e
    now = utcnow()
    target = out / f"{store.path.stem}-{now:%Y%m%d-%H%M%S-%f}-{reason}.duckdb"
    # The connection holds the file: no other program writes during the copy.
    with contextlib.nullcontext(con) if con is not None else store.connect() as con:
        con.execute("CHECKPOINT")
        version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        changesets = con.execute("SELECT count(*) FROM changesets").fetchone()[0]
        partial = target.with_suffix(".partiel")
        sha256 = _copy_store(store.path, partial)
        os.replace(partial, target)
    info = Backup(target, now, reason, sha256, int(version), int(changesets))
    manifest = {
        "file": target.name,
        "store": str(store.path),
        "created_at": now.isoformat() + "Z",
        "reason": reason,
        "sha256": info.sha256,
        "schema_version": info.schema_version,
        "changesets": info.changesets,
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    try:
        _write(target.with_suffix(".json"), [text])
    except StoreError:
        target.unlink(missing_ok=True)  # a copy without its manifest would pass for an unchecked one
        raise
    return info


def auto_backup(store: Store, reason: str, con: duckdb.DuckDBPyConnection | None = None) -> Backup | None:
    """The automatic copy taken before an import or a revert; keeps the last KPI_BACKUPS_KEPT. None when
    the store has not changed since the last automatic copy (that copy is this state): otherwise every
    refused attempt at a file would take a copy of the same state and push a useful one out."""
    kept = settings.get_int("backups_kept")
    if kept <= 0 or not store.path.exists():
        return None
    automatic = sorted(backup_dir(store).glob(f"{store.path.stem}-*-auto-*.duckdb"))
    previous = _manifest_sha256(automatic[-1]) if automatic else None
    info = backup(store, reason=f"auto-{reason}", con=con)
    if info.sha256 == previous:  # the same bytes as the last automatic copy: keep that one only
        info.path.unlink()
        info.path.with_suffix(".json").unlink()
        return None
    automatic = sorted(backup_dir(store).glob(f"{store.path.stem}-*-auto-*.duckdb"))
    for old in automatic[:-kept]:
        old.unlink(missing_ok=True)
        old.with_suffix(".json").unlink(missing_ok=True)
    return info


@contextlib.contextmanager
def guarded_write(store: Store, user: str, reason: str, dry_run: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """What an import or a revert does, on one connection: check that `user` may write, take the automatic
    backup, then run the block as one transaction (rolled back for a dry run, which checks nothing)."""
    from indicators.access import require_con

    with store.connect() as con:
        if not dry_run:
            require_con(con, user, "write")
            auto_backup(store, reason, con)
        with Store.atomic(con, commit=not dry_run):
            yield con


def list_backups(store: Store) -> list[Path]:
    return sorted(backup_dir(store).glob(f"{store.path.stem}-*.duckdb"), reverse=True)


def check(path: Path) -> tuple[int, int]:
    """(schema version, changesets) of a backup file, checked in full before it may replace anything: the
    SHA-256 of its manifest when it has one, then every table read entirely on a read-only connection of
    its own (DuckDB verifies each block's checksum as it reads it; DuckDB 2.0 has no statement that
    verifies a whole file, and a truncated copy opens and fails only at the query that reaches its
    missing blocks). Refused when it is not a complete, readable store copy."""
    path = Path(path)
    if not path.is_file():
        raise Refused(f"Sauvegarde introuvable : {path}.")
    manifest = path.with_suffix(".json")
    if manifest.exists():
        try:
            expected = json.loads(manifest.read_text(encoding="utf-8")).get("sha256")
        except (OSError, ValueError, AttributeError) as e:
            raise Refused(f"Le manifeste {manifest.name} de la sauvegarde est illisible : {e}.") from e
        if expected and expected != _sha256(path):
            raise Refused(f"La sauvegarde {path.name} ne correspond plus à son empreinte : elle a été modifiée.")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as e:
        raise Refused(_unreadable(path, e)) from e
    try:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
        for schema, table in tables:  # names from the file's own catalog, quoted
            quoted = '"{}"."{}"'.format(schema.replace('"', '""'), table.replace('"', '""'))
            con.execute(f"SELECT count(*), max(hash(COLUMNS(*))) FROM {quoted}").fetchall()
    except duckdb.Error as e:
        con.close()
        raise Refused(_unreadable(path, e)) from e
    try:
        version = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        changesets = con.execute("SELECT count(*) FROM changesets").fetchone()[0]
    except duckdb.Error as e:
        raise Refused(f"{path.name} n'est pas une sauvegarde du magasin (tables absentes).") from e
    finally:
        con.close()
    if version > storage.MIGRATIONS[-1][0]:
        raise Refused(f"{path.name} vient d'une version plus récente de l'outil (schéma v{version}).")
    return int(version), int(changesets)


def _unreadable(path: Path, e: Exception) -> str:
    return (
        f"{path.name} n'est pas une sauvegarde lisible du magasin : copie incomplète ou endommagée ({e}). "
        "Rien n'a été changé ; choisissez une autre sauvegarde (« kpi backup --list »)."
    )


def _require_admin_of_backup(store: Store, source: Path, user: str) -> None:
    """When the store's own accounts cannot be read (the file is missing or damaged), those of the backup
    decide: it is the state that will govern the store. A backup without accounts (open mode) lets anyone
    restore it, as an open store lets anyone write."""
    from indicators.access import require_con

    con = duckdb.connect(str(source), read_only=True)
    try:
        require_con(con, user, "admin")
    except duckdb.CatalogException:  # a copy older than the accounts (schema < v4): open mode
        pass
    except Refused as e:
        raise Refused(
            f"Le magasin {store.path} est illisible : ses comptes ne peuvent pas être vérifiés, ce sont donc ceux "
            f"de la sauvegarde {source.name} qui décident. {e} Rien n'a été changé."
        ) from e
    finally:
        con.close()


def _keep_damaged(store: Store) -> Backup:
    """The bytes of a store that can no longer be read, kept as they are (its WAL too, if any)."""
    folder = backup_dir(store)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _disk_error(e, folder) from e
    now = utcnow()
    raw = folder / f"{store.path.stem}-{now:%Y%m%d-%H%M%S-%f}-endommage.duckdb"
    sha256 = _write(raw, _file_chunks(store.path))
    wal = Path(str(store.path) + ".wal")
    if wal.exists():
        _write(Path(str(raw) + ".wal"), _file_chunks(wal))
    return Backup(raw, now, "endommagé", sha256, 0, 0)


def restore(store: Store, source: str | Path, user: str) -> Backup | None:
    """Replace the store by a backup, checked in full first (`check`); returns the copy of the state it
    replaced (None when there was no store). Only an admin restores:

    - a readable store: its accounts decide, on the connection that then holds the file through the
      safety backup and the swap, so no other program writes in between;
    - a busy store (another program holds it, even read-only): StoreBusy, and nothing is changed — a busy
      store is never taken for a damaged one;
    - a missing or damaged store (its accounts cannot be read): the backup's accounts decide
      (`_require_admin_of_backup`); the damaged file is kept byte for byte (reason « endommagé »).
    """
    from indicators.access import require_con

    source = Path(source).expanduser().resolve()
    if source == store.path:
        raise Refused("Ce fichier est le magasin lui-même, pas une sauvegarde.")
    version, changesets = check(source)
    partial = store.path.with_name(store.path.name + ".restauration")
    safety, damaged = None, False
    try:
        if store.path.exists():
            try:
                with store.connect() as con:  # holds the file from the role check to the swap
                    require_con(con, user, "admin")
                    safety = backup(store, reason="avant-restauration", con=con)
                    _write(partial, _file_chunks(source))
                    con.execute("CHECKPOINT")
                    os.replace(partial, store.path)
            except StoreBusy as e:
                raise StoreBusy(f"{e} La restauration n'a pas eu lieu : rien n'a été changé.") from e
            except StoreDamaged:
                damaged = True
        if damaged or not store.path.exists():
            _require_admin_of_backup(store, source, user)
            if damaged:
                safety = _keep_damaged(store)
            _write(partial, _file_chunks(source))
            os.replace(partial, store.path)
            Path(str(store.path) + ".wal").unlink(missing_ok=True)
    finally:
        partial.unlink(missing_ok=True)
    storage.forget_migrated(store.path)
    store.forget_framework()
    with store.transaction() as con:
        Store.audit(
            con,
            user,
            "store_restored",
            {
                "from": str(source),
                "schema_version": version,
                "changesets": changesets,
                "safety_copy": str(safety.path) if safety else None,
                "damaged": damaged,
            },
        )
    return safety
