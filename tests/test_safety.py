"""Data safety: backups and restore, the automatic copies, the activity journal, two writers at once,
a process killed in the middle of an import, and hostile input (fuzzed files, markup and formulas)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators import backup, exporting, rendering, reports, texts
from indicators.errors import ImportRefused, KpiError
from indicators.history import activity, current_values
from indicators.importing import import_file

from .conftest import imp, snapshot

ROOT = Path(__file__).resolve().parent.parent


def test_backup_then_damage_then_restore_gives_identical_data(store):
    imp(store, "indicateur;2016;2017\nF1.1;45;66\n")
    texts.write_text(store, "conclusions", "Bilan positif.", "alice")
    before = snapshot(store)
    saved = backup.backup(store, store.path.parent / "copies")
    assert saved.path.exists() and saved.path.with_suffix(".json").exists()
    imp(store, "indicateur;2016\nF1.1;1\n")  # a later change…
    store.path.write_bytes(store.path.read_bytes()[:4096])  # …then the file is damaged
    safety = backup.restore(store, saved.path, "admin")
    after = snapshot(store)
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}
    assert after["audit"][: len(before["audit"])] == before["audit"]
    assert activity(store).iloc[0]["action"] == "store_restored"
    assert safety.path.exists()


def test_restore_refuses_a_file_that_is_not_a_backup(store, tmp_path):
    bogus = tmp_path / "faux.duckdb"
    bogus.write_bytes(b"pas une base")
    before = snapshot(store)
    with pytest.raises(KpiError, match="n'est pas une sauvegarde"):
        backup.restore(store, bogus, "admin")
    assert snapshot(store) == before


def test_a_tampered_backup_is_refused(store):
    saved = backup.backup(store)
    data = bytearray(saved.path.read_bytes())
    data[-1] ^= 0xFF
    saved.path.write_bytes(bytes(data))
    with pytest.raises(KpiError, match="empreinte"):
        backup.restore(store, saved.path, "admin")


def test_every_import_and_revert_is_preceded_by_a_backup_and_only_the_last_are_kept(store, monkeypatch):
    monkeypatch.setenv("KPI_BACKUPS_KEPT", "3")
    for value in range(5):
        result = imp(store, f"indicateur;2016\nF1.1;{value}\n")
    from indicators.history import revert

    revert(store, result.changeset_id, "alice", "test")
    automatic = sorted(backup.backup_dir(store).glob("*-auto-*.duckdb"))
    assert len(automatic) == 3
    assert automatic[-1].name.endswith("-auto-annulation.duckdb")
    monkeypatch.setenv("KPI_BACKUPS_KEPT", "0")
    imp(store, "indicateur;2016\nF1.1;9\n")
    assert len(list(backup.backup_dir(store).glob("*-auto-*.duckdb"))) == 3


def test_refused_files_do_not_push_useful_automatic_copies_out(store, monkeypatch):
    monkeypatch.setenv("KPI_BACKUPS_KEPT", "2")
    imp(store, "indicateur;2016\nF1.1;1\n")
    imp(store, "indicateur;2016\nF1.1;2\n")

    def automatic():
        return sorted(p.name for p in backup.backup_dir(store).glob("*-auto-*.duckdb"))

    kept = automatic()
    assert len(kept) == 2
    for _ in range(3):  # the same state each time: its copy is taken once
        with pytest.raises(ImportRefused):
            import_file(store, "faux.csv", b"indicateur;2016\nF1.1;x\n", "test")
    after_refusals = automatic()
    assert len(after_refusals) == 2 and after_refusals[0] == kept[1]  # the state after import 1 is still kept
    imp(store, "indicateur;2016\nF1.1;3\n")  # nothing changed since the last copy: no new one
    assert automatic() == after_refusals


def test_activity_journal_of_a_full_scenario(store):
    first = imp(store, "indicateur;2016\nF1.1;45\n", name="envoi.csv")
    texts.write_text(store, "explanation", "Retard", "alice", "F1.1", 2016)
    from indicators import budget, milestones
    from indicators.history import revert

    milestones.set_state(store, "J1", "realise", "bob", year=2016)
    budget.amend_plan(store, 2017, "locaux", "CNAM", 12_000, "carole", "bail")
    revert(store, first.changeset_id, "dan", "erreur")
    log = activity(store)
    assert list(log["action"][:5]) == ["revert", "plan_amended", "milestone_updated", "text_written", "import"]
    assert list(log["user_name"][:5]) == ["dan", "carole", "bob", "alice", "test"]
    assert "« envoi.csv »" in log["summary"].iloc[4]
    assert json.loads(log["details"].iloc[1])["before"] == 10_000
    assert list(activity(store, user="bob")["action"]) == ["milestone_updated"]


def kpi(*args, db: Path, env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-m", "indicators.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "KPI_DB": str(db), "KPI_USER": "cli", "KPI_LOCK_TIMEOUT": "60", **(env or {})},
        timeout=180,
    )


def test_backup_restore_and_audit_commands(tmp_path):
    db = tmp_path / "cli.duckdb"
    assert kpi("init", db=db).returncode == 0
    (tmp_path / "v.csv").write_text("indicateur;2016\nF1.1;45\n", encoding="utf-8")
    assert kpi("import", tmp_path / "v.csv", db=db).returncode == 0
    done = kpi("backup", "--out", tmp_path / "copies", db=db)
    assert done.returncode == 0, done.stderr
    copy = next((tmp_path / "copies").glob("*.duckdb"))
    (tmp_path / "w.csv").write_text("indicateur;2016\nF1.1;50\n", encoding="utf-8")
    assert kpi("import", tmp_path / "w.csv", db=db).returncode == 0
    assert kpi("restore", copy, db=db).returncode == 0
    status = json.loads(kpi("status", "--json", "--year", "2016", db=db).stdout)
    assert next(r for r in status["rows"] if r["indicator"] == "F1.1")["actual"] == 45
    entries = json.loads(kpi("audit", "--json", db=db).stdout)["entries"]
    assert entries[0]["action"] == "store_restored"


OPEN_FOR_WRITING = "import duckdb, sys; duckdb.connect(sys.argv[1]).close()"


def test_a_backup_never_releases_the_lock_this_process_holds_on_the_store(store, tmp_path):
    # Closing any descriptor of a file releases the process's POSIX lock on it: a backup that copied the
    # store with an ordinary open/close let another program write into it while this process used it.
    imp(store, "indicateur;2016\nF1.1;45\n")
    with store.connect():  # e.g. a dashboard session in the middle of a page
        backup.backup(store, tmp_path / "copies")  # its own connection, closed when the copy is done
        for _ in range(2):  # and again through the descriptor kept from the first copy
            other = subprocess.run([sys.executable, "-c", OPEN_FOR_WRITING, str(store.path)], capture_output=True)
            assert other.returncode != 0 and b"lock" in other.stderr.lower()
            backup.backup(store, tmp_path / "copies")
    assert subprocess.run([sys.executable, "-c", OPEN_FOR_WRITING, str(store.path)]).returncode == 0
    # Once a restore has put another file at the store's path, the descriptor of the old one is closed.
    backup.restore(store, next((tmp_path / "copies").glob("*.duckdb")), "admin")
    backup.backup(store, tmp_path / "copies")
    held = [fd for path, fd in backup._descriptors.items() if path == str(store.path)]
    assert len(held) == 1 and backup._same_file(held[0], store.path)
    assert all(backup._same_file(fd, Path(path)) for path, fd in backup._descriptors.items())


def test_two_processes_importing_at_once_lose_nothing(tmp_path):
    db = tmp_path / "both.duckdb"
    assert kpi("init", db=db).returncode == 0
    files = []
    for i, code in enumerate(["F1.1", "F2.1"]):
        path = tmp_path / f"f{i}.csv"
        path.write_text("indicateur;2016;2017;2018\n" + f"{code};{10 + i};{20 + i};{30 + i}\n", encoding="utf-8")
        files.append(path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "indicators.cli", "import", str(f)],
            cwd=ROOT,
            env={**os.environ, "KPI_DB": str(db), "KPI_USER": f"p{i}", "KPI_LOCK_TIMEOUT": "60"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, f in enumerate(files)
    ]
    outcomes = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outcomes
    status = json.loads(kpi("status", "--json", db=db).stdout)
    got = {(r["indicator"], r["period"]): r["actual"] for r in status["rows"]}
    assert [got[("F1.1", y)] for y in ("2016", "2017", "2018")] == [10, 20, 30]
    assert [got[("F2.1", y)] for y in ("2016", "2017", "2018")] == [11, 21, 31]


KILLED_IMPORT = textwrap.dedent(
    """
    import os, signal, sys
    from indicators import storage
    from indicators.importing import import_file
    from indicators.storage import Store

    real = storage.Store.atomic

    def dying(con, commit=True):
        manager = real(con, commit)
        class Wrapper:
            def __enter__(self_inner):
                return manager.__enter__()
            def __exit__(self_inner, *exc):
                # Everything is written inside the transaction: die before the commit.
                con.execute("SELECT count(*) FROM value_versions").fetchall()
                sys.stdout.write("about to commit\\n"); sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        return Wrapper()

    storage.Store.atomic = staticmethod(dying)
    rows = "\\n".join(f"F1.1;{2016 + i % 3};{i}" for i in range(1))
    import_file(Store(sys.argv[1]), "gros.csv", ("indicateur;année;valeur\\n" + rows).encode(), "kill")
    """
)


def test_a_process_killed_during_an_import_leaves_the_store_as_it_was(tmp_path, store):
    imp(store, "indicateur;2016\nF2.1;550\n")
    before = snapshot(store)
    script = tmp_path / "die.py"
    script.write_text(KILLED_IMPORT, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(store.path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KPI_BACKUPS_KEPT": "0"},
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert "about to commit" in done.stdout
    assert snapshot(store) == before
    assert list(current_values(store)["indicator"]) == ["F2.1"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.text(alphabet=st.sampled_from(list("F1.2;,\t\n\r\"' éa0-9€")), max_size=300).map(
            lambda t: t.encode("utf-8")
        ),
    )
)
def test_fuzz_the_importer_never_crashes_and_a_refusal_changes_nothing(store, data):
    before = snapshot(store)
    try:
        import_file(store, "fuzz.csv", data, "fuzz", dry_run=False)
    except ImportRefused as refused:
        assert refused.errors and all(e.line >= 1 for e in refused.errors)
        assert snapshot(store) == before
    except KpiError:
        assert snapshot(store) == before


FORMULA = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert(1)</script>"


def test_markup_and_formulas_come_out_inert_in_exports_and_reports(store, tmp_path):
    imp(
        store,
        f"indicateur;année;valeur;commentaire\nF1.1;2016;45;{FORMULA}\nF1.3;2016;8;{SCRIPT}\n",
        name=f"{SCRIPT}.csv",
    )
    texts.write_text(store, "explanation", f"{SCRIPT} {FORMULA}", "alice", "F1.1", 2016)
    csv_text = exporting._csv_bytes(exporting.export_frame(store)).decode("utf-8-sig")
    assert f"'{FORMULA}" in csv_text and f";{FORMULA}" not in csv_text
    path, _ = exporting.export(store, "xlsx", tmp_path / "export.xlsx")
    cells = [c.value for row in openpyxl.load_workbook(path).active.iter_rows() for c in row]
    assert f"'{FORMULA}" in cells and FORMULA not in cells
    report = reports.build(store, year=2016)
    html_text = rendering.to_html(report)
    assert "<script" not in html_text and "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.csv" in html_text  # the file name, in the provenance annex


def test_uploaded_file_names_never_reach_the_file_system(store, tmp_path, monkeypatch):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    result = import_file(store, "../../etc/passwd", b"indicateur;2016\nF1.1;4\n", "alice")
    assert result.file_name == "../../etc/passwd"  # kept as text in the journal
    assert list(work.iterdir()) == []
    assert not [p for p in tmp_path.rglob("*") if "passwd" in p.name]  # nothing written under that name


def test_upload_size_and_row_limits(store):
    before = snapshot(store)
    with pytest.raises(ImportRefused) as caught:
        import_file(store, "gros.csv", b"indicateur;2016\n" + b"F1.1;1\n" * 200, "alice", max_bytes=100)
    assert "au-delà de la limite" in str(caught.value.errors[0])
    with pytest.raises(ImportRefused) as caught:
        import_file(store, "long.csv", b"indicateur;annee;valeur\n" + b"F1.1;2016;1\n" * 50, "alice", max_rows=10)
    assert "lignes" in str(caught.value.errors[0])
    assert snapshot(store) == before


def test_the_dashboard_shows_hostile_text_as_text(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from indicators.storage import Store

    from .test_dashboard import clear_caches, run_page

    db = tmp_path / "app.duckdb"
    monkeypatch.setenv("KPI_DB", str(db))
    clear_caches()
    s = Store(db)
    s.framework()
    imp(s, f"indicateur;année;valeur;commentaire\nF1.1;2016;45;{SCRIPT} {FORMULA}\n", name=f"{SCRIPT}.csv")
    at = AppTest.from_function(run_page, args=("fiche-1",), default_timeout=30).run()
    shown = [m.value for m in at.markdown if "alert" in m.value]
    assert shown and all("<script>" not in v for v in shown) and "\\<script\\>" in shown[0]
    at = AppTest.from_function(run_page, args=("historique",), default_timeout=30).run()
    assert at.dataframe[0].value["Fichier"].iloc[0] == f"{SCRIPT}.csv"  # a table cell: shown as text
    clear_caches()


# -- issue 12: truncated backups, busy stores, a full disk -----------------------------------------
TRUNCATED = 2_000_000  # what `truncate -s 2000000` leaves of a store copy (a fresh store is ~2.4 MB)


def _truncated_copy(store, tmp_path) -> Path:
    """A backup copied without its manifest (as `cp` does), then cut short."""
    saved = backup.backup(store, tmp_path / "copies")
    cut = tmp_path / "cut" / saved.path.name
    cut.parent.mkdir()
    cut.write_bytes(saved.path.read_bytes())
    assert cut.stat().st_size > TRUNCATED + 100_000
    os.truncate(cut, TRUNCATED)
    return cut


def test_a_truncated_backup_is_refused_before_it_replaces_anything(store, tmp_path):
    imp(store, "indicateur;2016\nF1.1;45\n")
    cut = _truncated_copy(store, tmp_path)
    before, inode = snapshot(store), store.path.stat().st_ino
    with pytest.raises(KpiError, match="incomplète ou endommagée"):
        backup.check(cut)
    with pytest.raises(KpiError, match="incomplète ou endommagée"):
        backup.restore(store, cut, "admin")
    assert store.path.stat().st_ino == inode and snapshot(store) == before
    assert not list(backup.backup_dir(store).glob("*avant-restauration*"))  # refused before any copy


def test_a_truncated_backup_beside_its_manifest_fails_its_fingerprint(store, tmp_path):
    saved = backup.backup(store, tmp_path / "copies")
    os.truncate(saved.path, TRUNCATED)
    with pytest.raises(KpiError, match="empreinte"):
        backup.check(saved.path)


def test_kpi_restore_is_the_way_back_from_a_store_that_fails_at_its_first_query(tmp_path):
    db = tmp_path / "cli.duckdb"
    assert kpi("init", db=db).returncode == 0
    (tmp_path / "v.csv").write_text("indicateur;2016\nF1.1;45\n", encoding="utf-8")
    assert kpi("import", tmp_path / "v.csv", db=db).returncode == 0
    assert kpi("backup", "--out", tmp_path / "copies", db=db).returncode == 0
    good = next((tmp_path / "copies").glob("*.duckdb"))
    cut = tmp_path / "coupee.duckdb"
    cut.write_bytes(good.read_bytes())
    os.truncate(cut, TRUNCATED)
    refused = kpi("restore", cut, db=db)
    assert refused.returncode == 1 and "incomplète ou endommagée" in refused.stderr, refused.stderr
    assert kpi("status", "--json", db=db).returncode == 0  # the live store was not touched
    os.truncate(db, TRUNCATED)  # now the live store itself is damaged: it opens, its first query fails
    status = kpi("status", db=db)
    assert status.returncode == 1 and "Traceback" not in status.stderr, status.stderr
    assert "endommagé" in status.stderr and "kpi restore" in status.stderr
    back = kpi("restore", good, db=db)
    assert back.returncode == 0, back.stderr
    assert "gardé" in back.stdout  # the bytes it replaced are kept, and it says where
    status = json.loads(kpi("status", "--json", "--year", "2016", db=db).stdout)
    assert next(r for r in status["rows"] if r["indicator"] == "F1.1")["actual"] == 45


HOLD = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
    con.execute("SELECT count(*) FROM changesets").fetchall()
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our stdin
    """
)


@contextlib.contextmanager
def held(path: Path, mode: str):
    """Another process holding the store (`rw`: the write lock, as a long import does; `ro`: read-only)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        yield
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


@pytest.mark.parametrize("mode", ["rw", "ro"])
def test_a_busy_store_is_not_taken_for_a_damaged_one(store, tmp_path, mode):
    from indicators import access
    from indicators.storage import Store

    access.add_user(store, "admin", "admin", "mot de passe long", "installation")
    access.add_user(store, "lecteur", "lecteur", "mot de passe long", "admin")
    imp_as_admin = import_file(store, "f.csv", b"indicateur;2016\nF1.1;45\n", "admin")
    saved = backup.backup(store, tmp_path / "copies")
    import_file(store, "g.csv", b"indicateur;2016\nF1.1;50\n", "admin")
    before, inode = snapshot(store), store.path.stat().st_ino
    impatient = Store(store.path, lock_timeout=0.3)
    with held(store.path, mode):
        for user in ("admin", "lecteur"):
            with pytest.raises(KpiError, match="Réessayez") as caught:
                backup.restore(impatient, saved.path, user)
            assert "rien n'a été changé" in str(caught.value)
    assert store.path.stat().st_ino == inode and snapshot(store) == before
    assert not list(backup.backup_dir(store).glob("*endommage*"))
    assert imp_as_admin.changeset_id
    with pytest.raises(KpiError, match="ne peut pas"):  # once free, the reader is still refused
        backup.restore(store, saved.path, "lecteur")
    assert snapshot(store) == before


def test_on_a_damaged_store_only_an_admin_of_the_backup_restores(store, tmp_path):
    from indicators import access

    access.add_user(store, "admin", "admin", "mot de passe long", "installation")
    access.add_user(store, "lecteur", "lecteur", "mot de passe long", "admin")
    saved = backup.backup(store, tmp_path / "copies")
    assert not Path(str(store.path) + ".wal").exists()
    os.truncate(store.path, TRUNCATED)
    damaged = store.path.read_bytes()
    with pytest.raises(KpiError, match="endommagé"):
        access.role_of(store, "admin")
    with pytest.raises(KpiError, match="illisible.*ne peut pas"):
        backup.restore(store, saved.path, "lecteur")
    assert store.path.read_bytes() == damaged
    safety = backup.restore(store, saved.path, "admin")
    assert safety.reason == "endommagé" and safety.path.read_bytes() == damaged
    assert access.role_of(store, "lecteur") == "lecteur"


class _FillsUp:
    """A file on a disk that is full after `room` bytes: the write that goes past it raises ENOSPC."""

    def __init__(self, f, room: int):
        self.f, self.room = f, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            self.f.write(data[: self.room])  # some bytes reach the file…
            self.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")  # …then the disk is full
        self.room -= len(data)
        return self.f.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def _full_disk_after(monkeypatch, room: int, suffixes=(".partiel", ".restauration")):
    real = Path.open

    def open_(self, mode="r", *args, **kwargs):
        f = real(self, mode, *args, **kwargs)
        return _FillsUp(f, room) if "w" in mode and self.suffix in suffixes else f

    monkeypatch.setattr(Path, "open", open_)


def test_a_full_disk_leaves_no_partial_copy_and_says_so(store, tmp_path, monkeypatch):
    imp(store, "indicateur;2016\nF1.1;45\n")
    out = tmp_path / "copies"
    _full_disk_after(monkeypatch, 1_000_000)
    with pytest.raises(KpiError, match="[Dd]isque plein") as caught:
        backup.backup(store, out)
    assert str(out) in str(caught.value)
    assert list(out.iterdir()) == []
    before = snapshot(store)
    with pytest.raises(KpiError, match="[Dd]isque plein"):  # the automatic copy before an import
        imp(store, "indicateur;2016\nF1.1;46\n")
    assert snapshot(store) == before
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".partiel", ".restauration")]
    monkeypatch.undo()  # room again: the next import works (and does not wait for a lock the failure kept)
    imp(store, "indicateur;2016\nF1.1;47\n")
    assert len(list(backup.backup_dir(store).glob("*-auto-*.duckdb"))) == 2  # before the first import, and now


def test_a_full_disk_during_a_restore_leaves_the_store_and_no_partial_file(store, tmp_path, monkeypatch):
    imp(store, "indicateur;2016\nF1.1;45\n")
    saved = backup.backup(store, tmp_path / "copies")
    imp(store, "indicateur;2016\nF1.1;46\n")
    before = snapshot(store)
    _full_disk_after(monkeypatch, 1_000_000, suffixes=(".restauration",))
    with pytest.raises(KpiError, match=f"Disque plein : impossible d'écrire dans le dossier {store.path.parent}"):
        backup.restore(store, saved.path, "admin")
    monkeypatch.undo()
    assert snapshot(store) == before
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".partiel", ".restauration")]
