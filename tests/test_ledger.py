"""The ledger rule: a cell's value is the one written by the latest change that is not cancelled;
cancellations commute, can be cancelled in turn (« rétablir »), and apply to every domain."""

from __future__ import annotations

import datetime as dt
import itertools

import duckdb
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from indicators import budget, history, ledger, milestones, storage, texts, training
from indicators.errors import Refused
from indicators.framework import load_framework
from indicators.importing import record_value
from indicators.storage import Store

from .conftest import imp


def paid(store, year: int) -> float:
    fw = store.framework()
    return budget.subsidy(
        fw, budget.plan_frame(store), budget.actual_frame(store), budget.payments_frame(store), year
    ).paid


def values(store) -> dict:
    return {(r.indicator, r.year): r.value for r in history.current_values(store).itertuples()}


@pytest.fixture(autouse=True)
def _no_automatic_backups(monkeypatch):
    monkeypatch.setenv("KPI_BACKUPS_KEPT", "0")


def test_the_reported_sequence_no_cancelled_value_comes_back(store):
    """Issue 11, seen: n° 3 sets 85, n° 4 sets 88; undo n° 3 then n° 4 showed 85, written only by n° 3."""
    imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")
    imp(store, "indicateur;annee;valeur\nF1.1;2017;64\n")
    third = imp(store, "indicateur;annee;valeur\nF1.1;2018;85\n")
    fourth = imp(store, "indicateur;annee;valeur\nF1.1;2018;88\n")
    assert (third.changeset_id, fourth.changeset_id) == (3, 4)
    first = history.revert(store, 3, "test", reason="mauvais fichier")
    assert (first.changed, first.covered) == (0, 1)  # n° 4 covers the cell
    history.revert(store, 4, "test", reason="mauvais fichier aussi")
    assert ("F1.1", 2018) not in values(store)
    assert values(store) == {("F1.1", 2016): 42, ("F1.1", 2017): 64}
    assert set(history.journal(store).query("state == 'reverted'")["id"]) == {3, 4}


@pytest.mark.parametrize("order", list(itertools.permutations([2, 3, 4])))
def test_any_order_of_cancellations_gives_the_same_store(store, order):
    imp(store, "indicateur;annee;valeur\nF1.1;2018;80\nF1.3;2018;20\n")
    imp(store, "indicateur;annee;valeur\nF1.1;2018;85\n")
    imp(store, "indicateur;annee;valeur\nF1.1;2018;88\nF1.3;2018;25\n")
    record_value(store, "F1.3", 2018, "27", "test", reason="correction")
    for n in order:
        history.revert(store, n, "test", reason="essai")
    assert values(store) == {("F1.1", 2018): 80, ("F1.3", 2018): 20}


def test_reinstating_brings_values_back_where_no_later_change_covers_them(store):
    imp(store, "indicateur;annee;valeur\nF1.1;2018;80\nF1.3;2018;20\n")
    second = imp(store, "indicateur;annee;valeur\nF1.1;2018;85\nF1.3;2018;21\n")
    history.revert(store, second.changeset_id, "test", reason="doute")
    assert values(store) == {("F1.1", 2018): 80, ("F1.3", 2018): 20}
    later = record_value(store, "F1.3", 2018, "30", "test", reason="chiffre CNAM")
    preview = history.reinstate(store, second.changeset_id, "test", dry_run=True)
    cells = preview.cells.set_index("cell")
    assert cells.loc["F1.1 2018", ["before", "after", "effect"]].tolist() == ["80", "85", "changée"]
    assert cells.loc["F1.3 2018", ["before", "after", "effect"]].tolist() == ["30", "30", "inchangée"]
    assert cells.loc["F1.3 2018", "covered_by"] == later.changeset_id
    assert values(store)[("F1.1", 2018)] == 80  # a dry run writes nothing
    done = history.reinstate(store, second.changeset_id, "test", reason="le fichier était bon")
    assert done.action == "rétablissement" and done.changed == 1 and done.covered == 1
    assert values(store) == {("F1.1", 2018): 85, ("F1.3", 2018): 30}
    j = history.journal(store).set_index("id")
    assert j.loc[second.changeset_id, "state"] == "applied"
    assert j.loc[done.changeset_id, "action"] == "rétablissement"
    # Cancelling the re-establishment (or the change again) cancels the change again, on the same chain.
    history.revert(store, done.changeset_id, "test", reason="finalement non")
    assert values(store) == {("F1.1", 2018): 80, ("F1.3", 2018): 30}
    with pytest.raises(Refused, match="déjà été annulé à son tour"):
        history.revert(store, int(j.index[j["kind"] == "revert"].min()), "test", reason="x")
    with pytest.raises(Refused, match="rien à rétablir"):
        history.reinstate(store, later.changeset_id, "test", reason="x")


def test_cancelling_is_refused_for_a_locked_year_only_where_figures_change(store):
    from indicators import access

    imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")
    second = imp(store, "indicateur;annee;valeur\nF1.1;2016;45\nF1.1;2017;64\n")
    access.submit_year(store, 2016, "test")
    with pytest.raises(Refused, match="2016"):
        history.revert(store, second.changeset_id, "test", reason="x")
    third = imp(store, "indicateur;annee;valeur\nF1.1;2017;70\n")
    assert history.revert(store, third.changeset_id, "test", reason="x").changed == 1  # 2017 is open


def test_an_unchanged_value_is_kept_by_the_later_file_that_says_it(store):
    """Re-importing the same value records it: cancelling the first file leaves it to the second."""
    first = imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")
    second = imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")
    assert (second.added, second.changed, second.unchanged) == (0, 0, 1)
    history.revert(store, first.changeset_id, "test", reason="x")
    assert values(store) == {("F1.1", 2016): 42}


def test_the_same_rule_for_texts_milestones_plan_payments_training_and_expenses(store):
    def cancel_last(domain: str) -> int:
        j = history.journal(store)
        cs = int(j[(j["domain"] == domain) & (j["kind"] != "revert")]["id"].max())
        history.revert(store, cs, "test", reason="erreur")
        return cs

    texts.write_text(store, "explanation", "Premier texte", "test", "F1.1", 2016)
    texts.write_text(store, "explanation", "Second texte", "test", "F1.1", 2016)
    second = cancel_last("texts")
    assert texts.lookup(texts.current_texts(store), "explanation", "F1.1", 2016) == "Premier texte"
    history.reinstate(store, second, "test", reason="il était juste")
    assert texts.lookup(texts.current_texts(store), "explanation", "F1.1", 2016) == "Second texte"
    assert texts.text_history(store, "explanation", "F1.1", 2016)["cancelled"].tolist() == [False, False]

    milestones.set_state(store, "J1", "realise", "test", year=2016)
    cancel_last("milestones")
    assert milestones.milestone_table(store).set_index("code").loc["J1", "state"] == "a_venir"

    budget.amend_plan(store, 2017, "communication", "CNAM", 9_000, "test", "plaquettes")
    before = budget.plan_frame(store)
    cancel_last("plan")
    after = budget.plan_frame(store).set_index(["year", "line", "party"])
    assert not after.loc[(2017, "communication", "CNAM"), "amended"]
    assert len(before) == len(after)

    pid = budget.record_payment(store, 2016, "avance", dt.date(2016, 12, 15), 63_105, "test", "Mandat 1")
    assert paid(store, 2016) == 63_105
    done = budget.cancel_payment(store, pid, "test", "saisi deux fois")
    assert done.cells["before"].tolist() == ["63\u202f105\xa0€"] and done.cells["after"].tolist() == ["annulé"]
    frame = budget.payments_frame(store)
    assert frame["cancelled"].tolist() == [True] and frame["cancel_reason"].tolist() == ["saisi deux fois"]
    assert paid(store, 2016) == 0
    budget.reinstate_payment(store, pid, "test", "il était juste")
    assert paid(store, 2016) == 63_105

    training.record_year(store, 2016, 14, 446, 57_132.6, {"CNAM": 28_450, "CFA": 34_900}, "test")
    training.record_year(store, 2016, 15, 446, 57_132.6, {"CNAM": 28_450, "CFA": 34_900}, "test")
    cancel_last("training")
    assert training.records(store)["learners"].tolist() == [14]

    imp(store, "annee;poste;partenaire;montant\n2016;locaux;CNAM;10000\n", name="depenses.csv")
    imp(store, "annee;poste;partenaire;montant\n2016;locaux;CNAM;12000\n", name="depenses2.csv")
    cancel_last("expenses")
    assert budget.actual_frame(store)["amount"].tolist() == [10_000]


def test_as_of_a_change_gives_the_store_as_it_was(store):
    imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")
    texts.write_text(store, "explanation", "Avant", "test", "F1.1", 2016)
    at = ledger.resolve(store)
    imp(store, "indicateur;annee;valeur\nF1.1;2016;45\n")
    texts.write_text(store, "explanation", "Après", "test", "F1.1", 2016)
    history.revert(store, 1, "test", reason="x")
    assert values(store) == {("F1.1", 2016): 45}
    assert {(r.indicator, r.year): r.value for r in history.current_values(store, at).itertuples()} == {
        ("F1.1", 2016): 42
    }
    assert texts.lookup(texts.current_texts(store, at), "explanation", "F1.1", 2016) == "Avant"
    assert at.change == 2 and "changement n° 2" in at.sentence()
    assert ledger.resolve(store, "2") == at
    assert ledger.resolve(store, dt.date(2000, 1, 1)).change == 0
    assert ledger.resolve(store, "31/12/2099").change == 5
    with pytest.raises(Refused, match="Date illisible"):
        ledger.resolve(store, "hier")


def test_a_version_4_store_is_migrated_onto_the_ledger(tmp_path):
    """Texts, payments (with an old counter-entry) and an old revert (with its copied values) keep their
    meaning once migrated."""
    path = tmp_path / "v4.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)")
    for version, name, sql in storage.MIGRATIONS[:4]:
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
    for _ in range(3):
        con.execute("SELECT nextval('changeset_seq')")
    con.execute(
        "INSERT INTO changesets (id, kind, user_name, created_at) VALUES "
        "(1, 'import', 'a', '2017-01-01'), (2, 'import', 'a', '2017-02-01')"
    )
    con.execute(
        "INSERT INTO changesets (id, kind, user_name, created_at, reverts) VALUES (3, 'revert', 'a', '2017-03-01', 2)"
    )
    con.execute(
        "INSERT INTO value_versions VALUES (1, 1, 'F1.1', 2016, 42, NULL, 2), (2, 2, 'F1.1', 2016, 45, NULL, 2), "
        "(3, 3, 'F1.1', 2016, 42, NULL, NULL)"
    )
    con.execute("INSERT INTO text_versions VALUES (1, 'conclusions', '', 0, 'Bilan', 'b', '2017-04-01', false)")
    con.execute(
        "INSERT INTO payments VALUES (1, 2016, 'avance', '2016-12-15', 63105, 'M1', 'b', '2017-05-01', NULL, false), "
        "(2, 2016, 'avance', '2016-12-15', -63105, 'Annulation : doublon', 'b', '2017-05-02', 1, false), "
        "(3, 2016, 'avance', '2016-12-16', 63105, 'M2', 'b', '2017-05-03', NULL, false)"
    )
    con.close()
    store = Store(path, lock_timeout=2)
    store.load_framework(load_framework(), "test")
    assert values(store) == {("F1.1", 2016): 42}
    assert texts.lookup(texts.current_texts(store), "conclusions") == "Bilan"
    frame = budget.payments_frame(store)
    assert frame["id"].tolist() == [1, 3] and frame["cancelled"].tolist() == [True, False]
    assert paid(store, 2016) == 63_105
    j = history.journal(store).set_index("id")
    assert j.loc[2, "state"] == "reverted" and j.loc[1, "state"] == "applied"
    # The migrated changes are in the order they were written, and new ones come after them.
    assert j.sort_index().loc[4:, "domain"].tolist() == ["texts", "payments", "payments", "payments"]
    history.reinstate(store, 2, "test", reason="le second fichier était bon")
    assert values(store) == {("F1.1", 2016): 45}
    texts.write_text(store, "conclusions", "Bilan revu", "test")
    assert int(history.journal(store)["id"].max()) == 9


# -- the stateful test ---------------------------------------------------------------------------------
CELLS = [("F1.1", 2016), ("F1.1", 2017), ("F1.3", 2016), ("F2.1", 2018)]


class LedgerMachine(RuleBasedStateMachine):
    """Imports, hand entries, cancellations and re-establishments in any order, against a model that is
    a list of changes with a cancelled flag: a cell's value is the latest live change's."""

    changes = Bundle("changes")

    @initialize()
    def fresh_store(self):
        import tempfile
        from pathlib import Path

        self.dir = tempfile.TemporaryDirectory()
        self.store = Store(Path(self.dir.name) / "kpi.duckdb", lock_timeout=5)
        self.store.load_framework(load_framework(), "test")
        self.model: list[dict] = []  # the reference model: {"id", "cells": {cell: value}, "cancelled"}

    def teardown(self):
        self.dir.cleanup()

    def expected(self) -> dict:
        out = {}
        for change in self.model:  # in order: a later live change overrides
            if not change["cancelled"]:
                out.update(change["cells"])
        return out

    @rule(target=changes, cells=st.dictionaries(st.sampled_from(CELLS), st.integers(0, 99), min_size=1, max_size=4))
    def import_file(self, cells):
        body = "".join(f"{i};{y};{v}\n" for (i, y), v in cells.items())
        r = imp(self.store, "indicateur;annee;valeur\n" + body)
        self.model.append({"id": r.changeset_id, "cells": dict(cells), "cancelled": False})
        return r.changeset_id

    @rule(target=changes, cell=st.sampled_from(CELLS), value=st.integers(0, 99))
    def hand_entry(self, cell, value):
        r = record_value(self.store, cell[0], cell[1], str(value), "test", reason="saisie")
        if self.expected().get(cell) == value:  # a hand entry that changes nothing writes nothing
            assert r.changeset_id is None
            return multiple()
        self.model.append({"id": r.changeset_id, "cells": {cell: value}, "cancelled": False})
        return r.changeset_id

    @rule(change=changes)
    def cancel(self, change):
        entry = next(c for c in self.model if c["id"] == change)
        if entry["cancelled"]:
            with pytest.raises(Refused):
                history.revert(self.store, change, "test", reason="essai")
            return
        history.revert(self.store, change, "test", reason="essai")
        entry["cancelled"] = True

    @rule(change=changes)
    def reinstate(self, change):
        entry = next(c for c in self.model if c["id"] == change)
        if not entry["cancelled"]:
            with pytest.raises(Refused):
                history.reinstate(self.store, change, "test", reason="essai")
            return
        history.reinstate(self.store, change, "test", reason="essai")
        entry["cancelled"] = False

    @invariant()
    def store_matches_model(self):
        if hasattr(self, "store"):
            assert values(self.store) == self.expected()
            states = history.journal(self.store)
            live = set(states[(states["kind"] != "revert") & (states["state"] == "applied")]["id"])
            assert live == {c["id"] for c in self.model if not c["cancelled"]}


LedgerMachine.TestCase.settings = settings(
    max_examples=10, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_ledger_against_its_reference_model = LedgerMachine.TestCase


def test_the_preview_tells_a_covered_cell_from_one_that_had_the_same_value(store):
    first = imp(store, "indicateur;annee;valeur\nF1.1;2016;42\nF1.3;2016;8\n")
    second = imp(store, "indicateur;annee;valeur\nF1.1;2016;42\n")  # the same value, said again
    later = record_value(store, "F1.3", 2016, "9", "test", reason="correction")
    preview = history.revert(store, second.changeset_id, "test", dry_run=True)
    assert (preview.same, preview.covered) == (1, 0) and preview.cells["covered_by"].tolist() == [None]
    assert "même valeur avant" in preview.summary
    preview = history.revert(store, first.changeset_id, "test", dry_run=True)
    assert (preview.covered, preview.withdrawn) == (2, 0)
    assert sorted(preview.cells["covered_by"].tolist()) == [second.changeset_id, later.changeset_id]


def test_cancelling_a_plan_amendment_says_the_framework_amount_comes_back(store):
    budget.amend_plan(store, 2017, "communication", "CNAM", 9_000, "test", "plaquettes")
    j = history.journal(store)
    cs = int(j[j["domain"] == "plan"]["id"].max())
    preview = history.revert(store, cs, "test", dry_run=True)
    assert preview.cells[["before", "after"]].values.tolist() == [["9\u202f000\xa0€", "montant du référentiel"]]
