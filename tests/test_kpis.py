"""KPI rules, with literal figures from the convention."""

from __future__ import annotations

import pandas as pd
import pytest

from indicators.framework import load_framework
from indicators.kpis import fiche_sentence, kpi_table, latest_year_with_data, share_met


@pytest.fixture(scope="module")
def fw():
    return load_framework()


def frame(rows):
    return pd.DataFrame(rows, columns=["indicator", "year", "value"])


def row(table, code, period):
    return table[(table["indicator"] == code) & (table["period"] == period)].iloc[0]


@pytest.mark.parametrize(
    ("actual", "rate", "status"),
    [
        (50, 1.0, "atteint"),
        (60, 1.2, "atteint"),
        (42, 0.84, "partiel"),
        (40, 0.8, "partiel"),
        (39, 0.78, "insuffisant"),
        (0, 0.0, "insuffisant"),
    ],
)
def test_yearly_status_thresholds(fw, actual, rate, status):
    t = kpi_table(fw, frame([("F1.1", 2016, actual)]))
    r = row(t, "F1.1", "2016")
    assert (r["target"], r["actual"], r["status"]) == (50, actual, status)
    assert r["rate"] == pytest.approx(rate)
    assert r["gap"] == actual - 50


def test_missing_value_and_no_target(fw):
    t = kpi_table(fw, frame([("F1.1", 2016, 42)]))
    assert row(t, "F1.1", "2017")["status"] == "non_renseigne"
    assert row(t, "F1.2", "2016")["status"] == "sans_objectif"
    assert row(t, "F3.2", "2018")["status"] == "sans_objectif"  # F3.2 has no 2018 target


def test_period_adds_flows_and_never_headcounts(fw):
    t = kpi_table(
        fw,
        frame([("F1.1", 2016, 42), ("F1.1", 2017, 64), ("F1.1", 2018, 85), ("F2.1", 2016, 540), ("F2.1", 2017, 585)]),
    )
    p = row(t, "F1.1", "2016-2018")
    assert (p["target"], p["actual"], p["status"], p["target_kind"]) == (200, 191, "partiel", "total")
    assert p["rate"] == pytest.approx(0.955)
    assert not ((t["indicator"] == "F2.1") & (t["period"] == "2016-2018")).any()
    assert not ((t["indicator"] == "F3.1") & (t["period"] == "2016-2018")).any()


def test_at_least_targets(fw):
    t = kpi_table(fw, frame([("F1.4", 2016, 0), ("F1.4", 2017, 1), ("F1.4", 2018, 1), ("F2.3", 2017, 0)]))
    p = row(t, "F1.4", "2016-2018")
    assert (p["target"], p["actual"], p["status"], p["target_kind"]) == (2, 2, "atteint", "minimum")
    assert row(t, "F2.3", "2016-2018")["status"] == "insuffisant"
    assert row(t, "F2.2", "2016-2018")["status"] == "non_renseigne"


def test_rows_cover_every_indicator_and_year_plus_period_rows(fw):
    t = kpi_table(fw, frame([]))
    assert len(t) == 10 * 3 + 7
    assert set(t["status"]) == {"non_renseigne", "sans_objectif"}


def test_change_against_baseline_and_previous_year(fw):
    t = kpi_table(fw, frame([("F1.1", 2016, 42), ("F1.1", 2017, 64), ("F2.1", 2016, 540)]))
    r = row(t, "F1.1", "2017")
    assert (r["baseline"], r["baseline_year"], r["change_vs_baseline"]) == (19, 2014, 45)
    assert (r["previous_actual"], r["change_vs_previous"]) == (42, 22)
    assert row(t, "F2.1", "2016")["change_vs_baseline"] == -110


def test_quality_flags(fw):
    t = kpi_table(fw, frame([("F1.1", 2016, 120), ("F2.1", 2016, 300), ("F1.3", 2017, 20)]))
    assert row(t, "F1.1", "2016")["flags"] == ["plus de 2 fois l'objectif : à vérifier"]
    assert row(t, "F2.1", "2016")["flags"] == ["moins de la moitié de la référence 2014 (650) : à vérifier"]
    assert row(t, "F1.3", "2016")["flags"] == ["valeur 2016 manquante alors que d'autres indicateurs sont renseignés"]
    assert row(t, "F1.1", "2017")["flags"] == ["valeur 2017 manquante alors que d'autres indicateurs sont renseignés"]
    assert row(t, "F1.1", "2018")["flags"] == []  # no data at all for 2018 yet
    assert row(t, "F1.1", "2016-2018")["flags"] == ["années non renseignées : 2017"]


def test_summaries(fw):
    t = kpi_table(
        fw,
        frame(
            [
                ("F1.1", 2017, 70),
                ("F1.3", 2017, 12),
                ("F2.1", 2017, 600),
                ("F2.4", 2017, 5),
                ("F3.1", 2017, 40),
                ("F3.2", 2017, 0),
            ]
        ),
    )
    assert fiche_sentence(t, 1, "2017") == "Fiche 1 : 1 objectif sur 2 atteint en 2017"
    assert fiche_sentence(t, 2, "2017") == "Fiche 2 : 2 objectifs sur 2 atteints en 2017"
    assert fiche_sentence(t, 3, "2017") == "Fiche 3 : 1 objectif sur 2 atteint en 2017"
    assert share_met(t, "2017") == (4, 6)
    assert latest_year_with_data(fw, frame([("F1.1", 2017, 70), ("F1.1", 2016, 1)])) == 2017
    assert latest_year_with_data(fw, frame([])) is None


def test_a_table_until_a_year_knows_nothing_of_later_years(fw):
    values = frame([("F1.1", 2016, 42), ("F1.1", 2017, 64), ("F1.1", 2018, 85), ("F1.4", 2018, 1)])
    t = kpi_table(fw, values, until=2017)
    assert sorted(set(t["period"])) == ["2016", "2016-2018", "2017"]
    p = row(t, "F1.1", "2016-2018")
    assert (p["target"], p["actual"]) == (200, 106)  # 42 + 64: the period so far, against the period target
    assert pd.isna(row(t, "F1.4", "2016-2018")["actual"])
    assert not any("2018" in f for flags in t["flags"] for f in flags)
