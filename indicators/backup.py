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
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from indicators import settings, storage
from indicators.errors import Refused, StoreError
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


def _copy_store(store: Path, target: Path) -> str:
    """Copy the store into `target`; the SHA-256 of the bytes copied."""
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for chunk in _store_chunks(store):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


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
    target.with_suffix(".json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
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
    """(schema version, changesets) of a backup file; Refused when it is not a usable store copy."""
    path = Path(path)
    if not path.is_file():
        raise Refused(f"Sauvegarde introuvable : {path}.")
    manifest = path.with_suffix(".json")
    if manifest.exists():
        expected = json.loads(manifest.read_text(encoding="utf-8")).get("sha256")
        if expected and expected != _sha256(path):
            raise Refused(f"La sauvegarde {path.name} ne correspond plus à son empreinte : elle a été modifiée.")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as e:
        raise Refused(f"{path.name} n'est pas une sauvegarde lisible du magasin ({e}).") from e
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


def restore(store: Store, source: str | Path, user: str) -> Backup:
    """Replace the store by a backup. The current store is backed up first (returned); a store that can
    no longer be opened is kept byte for byte instead."""
    from indicators.access import require

    if store.path.exists():
        # A store too damaged to read its accounts cannot check the role: the restore is the way out.
        with contextlib.suppress(StoreError):
            require(store, user, "admin")
    source = Path(source).expanduser().resolve()
    if source == store.path:
        raise Refused("Ce fichier est le magasin lui-même, pas une sauvegarde.")
    version, changesets = check(source)
    safety = None
    damaged = False
    if store.path.exists():
        try:
            safety = backup(store, reason="avant-restauration")
        except StoreError:  # the store cannot be opened any more: keep its bytes as they are
            damaged = True
            raw = backup_dir(store) / f"{store.path.stem}-{utcnow():%Y%m%d-%H%M%S-%f}-endommage.duckdb"
            raw.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(store.path, raw)
            safety = Backup(raw, utcnow(), "endommagé", _sha256(raw), 0, 0)
    partial = store.path.with_name(store.path.name + ".restauration")
    shutil.copyfile(source, partial)
    if damaged or not store.path.exists():
        os.replace(partial, store.path)
        Path(str(store.path) + ".wal").unlink(missing_ok=True)
    else:
        with store.connect() as con:  # holds the file while the copy takes its place
            con.execute("CHECKPOINT")
            os.replace(partial, store.path)
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
            },
        )
    return safety
