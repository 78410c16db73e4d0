"""The framework file against REFERENTIEL.md: every figure literal, every total derived."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from indicators.errors import FrameworkError
from indicators.framework import DEFAULT_FRAMEWORK, load_framework, parse_framework

from .conftest import SMALL


@pytest.fixture(scope="module")
def fw():
    return load_framework()


@pytest.mark.parametrize(
    ("code", "targets", "period", "kind"),
    [
        ("F1.1", {2016: 50, 2017: 70, 2018: 80}, 200, "total"),
        ("F1.2", {}, None, None),
        ("F1.3", {2016: 10, 2017: 20, 2018: 30}, 60, "total"),
        ("F1.4", {}, 2, "minimum"),
        ("F2.1", {2016: 550, 2017: 600, 2018: 650}, None, None),
        ("F2.2", {}, 1, "minimum"),
        ("F2.3", {}, 1, "minimum"),
        ("F2.4", {2016: 2, 2017: 5, 2018: 10}, 17, "total"),
        ("F3.1", {2016: 15, 2017: 40, 2018: 50}, None, None),
        ("F3.2", {2016: 1, 2017: 1}, 2, "total"),
    ],
)
def test_targets(fw, code, targets, period, kind):
    ind = fw.indicator(code)
    assert ind.targets == targets
    assert ind.period_target == period
    assert ind.period_target_kind == kind


def test_codes_fiches_and_kinds(fw):
    assert [i.code for i in fw.indicators] == [
        "F1.1",
        "F1.2",
        "F1.3",
        "F1.4",
        "F2.1",
        "F2.2",
        "F2.3",
        "F2.4",
        "F3.1",
        "F3.2",
    ]
    assert [f.number for f in fw.fiches] == [1, 2, 3]
    assert fw.indicator("F2.1").kind == "headcount"
    assert fw.indicator("F3.1").kind == "headcount"
    assert fw.indicator("F1.1").kind == "flow"
    assert all(i.whole for i in fw.indicators)
    assert fw.years == (2016, 2017, 2018)
    assert fw.indicator("F1.1").label == "Entreprises (TPE) accompagnées par le dispositif ARDAN"


def test_baselines(fw):
    assert [(b.year, b.value) for b in fw.indicator("F1.1").baselines] == [(2013, 19), (2014, 19)]
    assert fw.indicator("F2.1").baseline_reference.value == 650
    assert fw.indicator("F2.1").baseline_reference.year == 2014
    assert fw.indicator("F1.3").baseline_reference is None


def test_milestones(fw):
    assert [(m.code, m.fiches) for m in fw.milestones] == [("J1", (1, 2)), ("J2", (3,)), ("J3", (2,))]


def test_budget_totals_are_derived_from_the_lines(fw):
    b = fw.budget
    assert b.total == 230300
    assert b.by_party() == {"CNAM": 115150, "Territoire": 115150}
    assert b.by_group() == {
        "Personnels": {"CNAM": 82800, "Territoire": 83000, "total": 165800},
        "Charges externes": {"CNAM": 31350, "Territoire": 32150, "total": 63500},
        "Autres": {"CNAM": 1000, "Territoire": 0, "total": 1000},
    }
    assert b.by_fiche() == {1: 118500, 2: 60400, 3: 51400}
    assert len(b.lines) == 13
    assert "230300" not in DEFAULT_FRAMEWORK.read_text().split("[budget.stated]")[0]


def test_subsidy(fw):
    assert fw.cash_subsidy == 90150
    assert fw.budget.in_kind("Territoire") == 25000
    assert round(fw.cash_subsidy * fw.subsidy.advance_share, 2) == 63105
    assert round(fw.cash_subsidy * fw.subsidy.balance_share, 2) == 27045
    assert fw.subsidy.ceilings == {
        "operation_per_year": 300000,
        "party_per_year": 150000,
        "party_over_convention": 450000,
    }


def test_fiche_cross_section_agrees_line_by_line(fw):
    b = fw.budget
    merged = {fl.label: fl for fl in b.by_fiche_lines}
    assert merged["Entretien et frais divers"].lines == ("entretien", "frais_divers")
    assert sum(merged["Entretien et frais divers"].amounts.values()) == 7000
    assert sum(merged["Développeur (poste)"].amounts.values()) == 116000
    assert sum(merged["Encadrement développeur"].amounts.values()) == 14800


def test_calendar(fw):
    deadlines = fw.deadlines()
    assert (
        dt.date(2018, 3, 31),
        "Rapport moral et financier de l'année 2017 (résultats et actions prévues pour l'année suivante)",
    ) in [(d, label) for d, label, _ in deadlines]
    assert dt.date(2019, 6, 30) in [d for d, _, _ in deadlines]
    assert dt.date(2016, 4, 30) in [d for d, _, _ in deadlines]


def test_status_thresholds(fw):
    assert (fw.status.reached, fw.status.partial) == (1.0, 0.8)


def _mutate(old: str, new: str) -> str:
    text = DEFAULT_FRAMEWORK.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("amounts = { CNAM = 7800 }", "amounts = { CNAM = 7900 }", "total du budget"),
        (
            "amounts = { 1 = 3500, 2 = 2500, 3 = 1000 }",
            "amounts = { 1 = 3500, 2 = 2500, 3 = 1100 }",
            "Entretien et frais divers",
        ),
        ("period_target = 200", "period_target = 210", "n'est pas la somme"),
        ('code = "F1.2"', 'code = "F1.1"', "F1.1 défini deux fois"),
        ('fiche = 3\nlabel = "Jeunes', 'fiche = 4\nlabel = "Jeunes', "fiche 4 inconnue"),
        ('kind = "headcount"', 'kind = "stock"', "nature « stock » inconnue"),
        (
            "targets = { 2016 = 2, 2017 = 5, 2018 = 10 }",
            "targets = { 2016 = 2, 2017 = 5, 2019 = 10 }",
            "hors convention",
        ),
        ('lines = ["entretien", "frais_divers"]', 'lines = ["entretien"]', "frais_divers : présente 0 fois"),
        ("cash_subsidy = 90150", "cash_subsidy = 90000", "en numéraire"),
        ("advance_share = 0.7", "advance_share = 0.6", "avance + solde"),
        ('month_day = "03-31"', 'month_day = "02-31"', "invalide"),
        ("years = [2016, 2017, 2018]", "years = [16, 17, 18]", "quatre chiffres"),
    ],
)
def test_inconsistencies_are_refused_with_a_clear_message(old, new, message):
    with pytest.raises(FrameworkError) as e:
        parse_framework(_mutate(old, new))
    assert message in str(e.value)


def test_every_problem_is_listed_at_once():
    text = _mutate("amounts = { CNAM = 7800 }", "amounts = { CNAM = 7900 }").replace(
        "period_target = 200", "period_target = 210"
    )
    with pytest.raises(FrameworkError) as e:
        parse_framework(text)
    assert "total du budget" in str(e.value) and "n'est pas la somme" in str(e.value)


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(FrameworkError, match="syntaxe TOML"):
        parse_framework("[convention\n")
    with pytest.raises(FrameworkError, match="introuvable"):
        load_framework(tmp_path / "absent.toml")
    with pytest.raises(FrameworkError, match="champ manquant"):
        parse_framework("[convention]\nid = 'x'\n")


def test_a_second_convention_needs_only_another_file():
    small = load_framework(SMALL)
    assert small.id == "petite-convention-2020-2021"
    assert small.years == (2020, 2021)
    assert small.budget.total == 3000
    assert small.cash_subsidy == 1000
    assert small.indicator("A2").whole is False
    assert Path(SMALL).read_text().count("[[indicators]]") == 2
