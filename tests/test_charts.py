"""The figures shared by the dashboard and the reports: French formatting, step targets, baselines."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from indicators import charts, demo, formatting, kpis
from indicators.framework import load_framework

FW = load_framework()


def demo_table(drop: tuple = ()) -> pd.DataFrame:
    values = pd.DataFrame(
        [(c, y, v) for c, ys in demo.DEMO_VALUES.items() for y, v in ys.items() if (c, y) not in drop],
        columns=["indicator", "year", "value"],
    )
    return kpis.kpi_table(FW, values)


def trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def test_yearly_chart_has_a_step_target_per_year_and_distinct_baselines():
    fig = charts.yearly_chart(FW, demo_table(), "F1.1")
    assert fig.layout.separators == ",\u202f"
    assert fig.layout.xaxis.type == "category"
    assert list(fig.layout.xaxis.categoryarray) == ["2013", "2014", "2016", "2017", "2018"]
    target = trace(fig, "Objectif de l'année")
    assert list(target.y) == [50, 70, 80]
    assert target.line.shape == "hvh"
    baseline = trace(fig, "Référence avant la convention")
    assert list(baseline.x) == ["2013", "2014"] and list(baseline.y) == [19, 19]
    assert baseline.marker.pattern.shape == "/"
    actual = trace(fig, "Réalisé")
    assert list(actual.text) == ["42 ◐", "64 ◐", "85 ✔"]  # the status is written, not only coloured
    assert list(actual.marker.color) == ["#E69F00", "#E69F00", "#009E73"]
    assert fig.layout.title.text == "ARDAN : 85 entreprises en 2018, 106\u00a0% de l'objectif de 80"


def test_titles_use_french_formatting_and_agreement():
    table = demo_table()
    row = table[(table["indicator"] == "F2.1") & (table["period"] == "2017")].iloc[0]
    assert kpis.finding(row) == "Promotion sociale : 585 élèves en 2017, 98\u00a0% de l'objectif de 600"
    assert formatting.quantity(1, "formations") == "1 formation"
    assert formatting.quantity(0, "entreprises") == "0 entreprise"
    assert formatting.quantity(1234, "élèves") == "1\u202f234 élèves"


def test_indicator_without_target_has_no_target_line():
    fig = charts.yearly_chart(FW, demo_table(), "F1.2")
    assert [t.name for t in fig.data] == ["Réalisé"]
    assert list(fig.data[0].text) == ["12", "25", "31"]


def test_cumulative_track_towards_the_period_target():
    fig = charts.cumulative_chart(FW, demo_table(), "F1.1")
    assert list(trace(fig, "Réalisé cumulé").y) == [42, 106, 191]
    assert list(trace(fig, "Objectif cumulé").y) == [50, 120, 200]
    assert fig.layout.title.text == "ARDAN : 191 entreprises de 2016 à 2018, objectif 200 sur 2016-2018 (96\u00a0%)"


def test_cumulative_track_stops_at_a_missing_year():
    rows = kpis.rows_by_indicator(demo_table(drop=(("F1.1", 2017),)))["F1.1"]
    track = kpis.cumulative(rows.yearly)
    assert [t["cum_actual"] for t in track] == [42, None, None]
    assert [t["cum_target"] for t in track] == [50, 120, 200]


def test_at_least_n_progress():
    fig = charts.minimum_chart(FW, demo_table(), "F1.4")
    assert [t.name for t in fig.data] == ["2017", "2018"]  # years that delivered
    assert fig.layout.shapes[0].x0 == 2
    assert fig.layout.title.text.endswith("(objectif : au moins 2) — ✔ Atteint")


@pytest.mark.parametrize(
    ("code", "count"), [("F1.1", 2), ("F1.2", 1), ("F1.4", 1), ("F2.1", 1), ("F3.2", 2), ("F2.2", 1)]
)
def test_each_indicator_gets_the_figures_its_targets_call_for(code, count):
    assert len(charts.indicator_figures(FW, demo_table(), code)) == count


@pytest.mark.parametrize("store_state", ["empty", "demo", "one_year_missing"])
def test_every_figure_is_valid_plotly(store_state):
    """Figures skip Plotly's validation at run time (it costs 20-30 ms each): it is done here instead."""
    if store_state == "empty":
        table = kpis.kpi_table(FW, pd.DataFrame(columns=["indicator", "year", "value"]))
    else:
        table = demo_table(drop=(("F1.1", 2017), ("F2.2", 2018)) if store_state == "one_year_missing" else ())
    for ind in FW.indicators:
        for fig in charts.indicator_figures(FW, table, ind.code):
            assert fig.layout.title.text
            go.Figure(fig.to_dict())  # raises ValueError on any invalid property or value


def test_untitled_figures_keep_their_finding_for_the_page():
    table = demo_table()
    titled, untitled = (charts.yearly_chart(FW, table, "F1.1", titled=t) for t in (True, False))
    assert untitled.layout.title.text == ""
    assert charts.finding_of(untitled) == charts.finding_of(titled) == titled.layout.title.text
    go.Figure(untitled.to_dict())


def test_a_yearly_chart_can_speak_of_a_given_year():
    fig = charts.yearly_chart(FW, demo_table(), "F1.1", year=2017)
    assert fig.layout.title.text == "ARDAN : 64 entreprises en 2017, 91\u00a0% de l'objectif de 70"


def test_charts_of_a_table_until_a_year_stop_at_that_year():
    values = pd.DataFrame(
        [(c, y, v) for c, ys in demo.DEMO_VALUES.items() for y, v in ys.items()],
        columns=["indicator", "year", "value"],
    )
    table = kpis.kpi_table(FW, values, until=2017)
    cumulative = charts.cumulative_chart(FW, table, "F1.1")
    assert list(trace(cumulative, "Réalisé cumulé").x) == ["2016", "2017"]
    assert cumulative.layout.title.text == (
        "ARDAN : 106 entreprises de 2016 à 2017, objectif 200 sur 2016-2018 (53\u00a0%)"
    )
    minimum = charts.minimum_chart(FW, table, "F1.4")
    assert [t.name for t in minimum.data] == ["2017"]
    assert minimum.layout.title.text == (
        "Dispositifs entrepreneuriat : 1 dispositif de 2016 à 2017 (objectif : au moins 2 sur 2016-2018)"
        " — pas encore atteint"
    )
    reached = charts.minimum_chart(FW, table, "F2.2")
    assert reached.layout.title.text == (
        "Formations numériques : 1 formation de 2016 à 2017 (objectif : au moins 1 sur 2016-2018) — ✔ Atteint"
    )
    go.Figure(minimum.to_dict())
