"""Texts for the reports and milestone states: versioned, journaled, validated, demo-aware."""

from __future__ import annotations

import json

import pytest

from indicators import demo, milestones, texts
from indicators.errors import Refused
from indicators.history import audit_log

from .conftest import snapshot


def test_explanation_is_versioned_and_journaled(store):
    assert texts.write_text(store, "explanation", "Démarrage tardif.", "alice", indicator="F1.1", year=2016)
    assert texts.write_text(store, "explanation", "Démarrage en octobre.", "bob", indicator="F1.1", year=2016)
    assert not texts.write_text(store, "explanation", "Démarrage en octobre.  ", "bob", indicator="F1.1", year=2016)
    current = texts.current_texts(store)
    assert texts.lookup(current, "explanation", "F1.1", 2016) == "Démarrage en octobre."
    assert texts.lookup(current, "explanation", "F1.1", 2017) == ""
    versions = texts.text_history(store, "explanation", "F1.1", 2016)
    assert list(versions["body"]) == ["Démarrage en octobre.", "Démarrage tardif."]
    assert list(versions["user_name"]) == ["bob", "alice"]
    entry = audit_log(store).iloc[0]
    assert entry["action"] == "text_written"
    assert json.loads(entry["details"])["before"] == "Démarrage tardif."


def test_an_empty_text_withdraws_it_and_keeps_the_history(store):
    texts.write_text(store, "next_actions", "Ouvrir une licence.", "alice", year=2017)
    texts.write_text(store, "next_actions", "", "alice", year=2017)
    assert texts.current_texts(store).empty
    assert len(texts.text_history(store, "next_actions", year=2017)) == 2


def test_text_is_stored_exactly_as_typed(store):
    hostile = "<script>alert(1)</script> =SUM(A1) **gras**"
    texts.write_text(store, "conclusions", hostile, "alice")
    assert texts.lookup(texts.current_texts(store), "conclusions") == hostile


@pytest.mark.parametrize(
    ("topic", "indicator", "year", "message"),
    [
        ("poem", None, None, "Type de texte inconnu"),
        ("explanation", "F9.9", 2016, "Indicateur inconnu"),
        ("explanation", "F1.1", 2020, "Année 2020 hors de la convention"),
        ("next_actions", None, None, "Année None hors de la convention"),
    ],
)
def test_bad_text_keys_are_refused_and_change_nothing(store, topic, indicator, year, message):
    before = snapshot(store)
    with pytest.raises(Refused, match=message):
        texts.write_text(store, topic, "x", "alice", indicator=indicator, year=year)
    assert snapshot(store) == before


def test_milestone_states(store):
    table = milestones.milestone_table(store)
    assert list(table["code"]) == ["J1", "J2", "J3"]
    assert set(table["state"]) == {"a_venir"}
    assert not milestones.set_state(store, "J1", "a_venir", "alice")
    assert milestones.set_state(store, "J1", "en_cours", "alice", note="Locaux trouvés")
    assert milestones.set_state(store, "J1", "realise", "bob", year=2016)
    table = milestones.milestone_table(store).set_index("code")
    assert table.loc["J1", "state"] == "realise"
    assert table.loc["J1", "year"] == 2016
    assert table.loc["J1", "user_name"] == "bob"
    assert list(milestones.milestone_history(store, "J1")["state"]) == ["realise", "en_cours"]
    assert audit_log(store).iloc[0]["action"] == "milestone_updated"
    with pytest.raises(Refused, match="Jalon inconnu"):
        milestones.set_state(store, "J9", "realise", "bob")
    with pytest.raises(Refused, match="État inconnu"):
        milestones.set_state(store, "J1", "fini", "bob")
    with pytest.raises(Refused, match="Année 2019"):
        milestones.set_state(store, "J1", "realise", "bob", year=2019)


def test_demo_texts_and_milestones_go_with_the_demo(store):
    demo.load_demo(store)
    assert len(texts.current_texts(store)) == len(demo.DEMO_TEXTS)
    assert milestones.milestone_table(store).set_index("code").loc["J1", "state"] == "realise"
    with pytest.raises(Refused, match="DONNÉES D'EXEMPLE"):
        texts.write_text(store, "conclusions", "x", "alice")
    with pytest.raises(Refused, match="DONNÉES D'EXEMPLE"):
        milestones.set_state(store, "J3", "realise", "alice")
    demo.remove_demo(store, "alice")
    assert texts.current_texts(store).empty
    assert set(milestones.milestone_table(store)["state"]) == {"a_venir"}
