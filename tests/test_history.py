"""Versioning, journal and revert."""

from __future__ import annotations

import pytest

from indicators.errors import NotFound, Refused
from indicators.history import current_values, journal, revert, value_history
from indicators.importing import record_value

from .conftest import imp, snapshot


def values(store) -> dict:
    return {(r.indicator, r.year): r.value for r in current_values(store).itertuples()}


def test_every_change_is_a_new_version(store):
    imp(store, "indicateur;annee;valeur;commentaire\nF1.1;2016;42;premier\n", name="a.csv")
    imp(store, "indicateur;annee;valeur\nF1.1;2016;45\n", name="b.csv")
    record_value(store, "F1.1", 2016, "46", "marie", reason="chiffre corrigé par la CNAM")
    h = value_history(store, "F1.1", 2016)
    assert list(h["value"]) == [46, 45, 42]
    assert list(h["kind"]) == ["edit", "import", "import"]
    assert list(h["user_name"]) == ["marie", "test", "test"]
    assert h["reason"][0] == "chiffre corrigé par la CNAM"
    # A file without comment keeps the value's comment.
    assert list(h["comment"]) == ["premier", "premier", "premier"]
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM value_versions").fetchone()[0] == 3


def test_journal_records_file_hash_counts_and_state(store):
    import hashlib

    text = "indicateur;annee;valeur\nF1.1;2016;42\nF1.3;2016;8\n"
    r = imp(store, text, name="cnam.csv")
    j = journal(store)
    row = j.iloc[0]
    assert (row["id"], row["kind"], row["state"], row["file_name"]) == (r.changeset_id, "import", "applied", "cnam.csv")
    assert row["file_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert (row["added"], row["changed"], row["unchanged"]) == (2, 0, 0)
    assert row["user_name"] == "test"


def test_version_ids_are_unique_and_ordered_by_changeset(store):
    imp(store, "indicateur;2016;2017;2018\nF1.1;42;64;80\nF2.1;540;585;600\n")
    imp(store, "indicateur;annee;valeur\nF1.1;2016;45\nF1.1;2016;45\nF1.3;2016;8\n")  # a repeated pair
    edit = record_value(store, "F1.3", 2016, 9, "test", reason="correction")
    revert(store, edit.changeset_id, "test", reason="retour")
    with store.connect() as con:
        rows = con.execute("SELECT id, changeset_id FROM value_versions").fetchall()
    assert len(rows) == 9 and len({i for i, _ in rows}) == 9  # a cancellation writes no version
    assert all(i >> 32 == c for i, c in rows)  # each changeset's versions in its own block, newer above
    assert values(store)[("F1.3", 2016)] == 8


def test_revert_restores_previous_versions(store):
    first = imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")
    second = imp(store, "indicateur;annee;valeur\nF1.1;2016;45\nF1.3;2016;8\n")
    assert values(store) == {("F1.1", 2016): 45, ("F1.3", 2016): 8}
    r = revert(store, second.changeset_id, "test", reason="mauvais fichier")
    assert (r.changed, r.withdrawn, r.covered) == (1, 1, 0)
    assert values(store) == {("F1.1", 2016): 42}
    j = journal(store).set_index("id")
    assert j.loc[second.changeset_id, "state"] == "reverted"
    assert j.loc[first.changeset_id, "state"] == "applied"
    assert j.loc[r.changeset_id, "kind"] == "revert"
    assert j.loc[r.changeset_id, "reverts"] == second.changeset_id
    # Nothing was deleted nor copied: the cancelled version is still in the history, marked as such.
    h = value_history(store, "F1.1", 2016)
    assert list(h["value"]) == [45, 42]
    assert list(h["cancelled"]) == [True, False] and list(h["current"]) == [False, True]
    with pytest.raises(Refused, match="déjà annulé"):
        revert(store, second.changeset_id, "test", reason="encore")
    with pytest.raises(Refused, match="raison"):
        revert(store, first.changeset_id, "test")
    with pytest.raises(NotFound):
        revert(store, 999, "test", reason="x")


def test_revert_leaves_later_changes_alone(store):
    r1 = imp(store, "indicateur;annee;valeur\nF1.1;2016;42\nF1.3;2016;8\n")
    edit = record_value(store, "F1.1", 2016, "43", "test", reason="correction")
    r = revert(store, r1.changeset_id, "test", reason="x")
    assert (r.changed, r.withdrawn, r.covered) == (0, 1, 1)
    covered = r.cells[r.cells["effect"] == "inchangée"]
    assert list(covered["cell"]) == ["F1.1 2016"] and list(covered["covered_by"]) == [edit.changeset_id]
    assert values(store) == {("F1.1", 2016): 43}


def test_revert_dry_run_writes_nothing(store):
    r1 = imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")
    before = snapshot(store)
    r = revert(store, r1.changeset_id, "test", dry_run=True)
    assert (r.changeset_id, r.withdrawn) == (None, 1)
    assert r.cells[["cell", "before", "after", "effect"]].values.tolist() == [
        ["F1.1 2016", "42", "aucune valeur", "retirée"]
    ]
    assert snapshot(store) == before


def test_revert_of_an_edit_restores_a_withdrawn_value_as_withdrawn(store):
    r1 = imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")
    revert(store, r1.changeset_id, "test", reason="x")
    edit = record_value(store, "F1.1", 2016, "50", "test", reason="saisie")
    revert(store, edit.changeset_id, "test", reason="x")
    assert values(store) == {}
    h = value_history(store, "F1.1", 2016)
    assert list(h["value"]) == [50, 42] and list(h["cancelled"]) == [True, True] and not h["current"].any()


def test_migrations_are_recorded_and_idempotent(store):
    with store.connect() as con:
        assert con.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall() == [
            (1, "initial schema"),
            (2, "texts for the reports and milestone states"),
            (3, "budget: actual spending, plan amendments, subsidy payments, training records"),
            (4, "accounts, login attempts, year approval states"),
            (5, "the ledger rule: cancellations that commute, every domain in changesets"),
        ]
    from indicators.storage import MIGRATIONS, Store

    again = Store(store.path)
    assert again.schema_version() == len(MIGRATIONS)


def test_a_version_1_store_is_migrated_with_its_data_kept(tmp_path):
    import duckdb

    from indicators import storage

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)")
    con.execute(storage.SCHEMA_V1)
    con.execute("INSERT INTO schema_migrations VALUES (1, 'initial schema', now())")
    con.execute("INSERT INTO changesets (id, kind, user_name, created_at) VALUES (1, 'edit', 'x', now())")
    con.execute("INSERT INTO value_versions VALUES (1, 1, 'F1.1', 2016, 42, NULL, NULL)")
    con.close()
    old = storage.Store(path)
    assert old.schema_version() == len(storage.MIGRATIONS)
    assert values(old) == {("F1.1", 2016): 42}
    with old.connect() as con:
        assert con.execute("SELECT count(*) FROM current_texts").fetchone()[0] == 0


def test_framework_versions_and_refusal_of_another_convention(store, tmp_path):
    from indicators.errors import FrameworkError
    from indicators.framework import load_framework

    from .conftest import SMALL

    assert store.load_framework(load_framework(), "test") is False  # same file: nothing new
    with pytest.raises(FrameworkError, match="suit la convention"):
        store.load_framework(load_framework(SMALL), "test")


def test_busy_store_is_retried_then_reported(tmp_path):
    import subprocess
    import sys
    import time

    from indicators.errors import StoreBusy
    from indicators.storage import Store

    path = tmp_path / "busy.duckdb"
    Store(path).schema_version()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(path)!r}); print('ok', flush=True); time.sleep(3)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "ok"
    start = time.monotonic()
    with pytest.raises(StoreBusy, match="utilisé en écriture par un autre programme"):
        Store(path, lock_timeout=0.5).schema_version()
    assert 0.4 < time.monotonic() - start < 2.5
    # With a longer wait, the write goes through once the other process lets go.
    assert Store(path, lock_timeout=10).schema_version() == 5
    holder.wait()
