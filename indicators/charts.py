"""The Plotly figures of the dashboard and the reports (the same figures in both).

Every figure: French number formatting (`separators`: decimal comma, narrow no-break space between
thousands, as Babel writes them), years on a category axis, statuses in the Okabe-Ito colours of
`kpis.STATUS_STYLE` *and* written as a word and an icon, a title that states the finding, system
fonts only (nothing is fetched from the internet).

Figures are written as plain Plotly JSON and wrapped without Plotly's per-property validation, which
costs 20-30 ms a figure on every page run; `tests/test_charts.py` validates every figure instead.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from indicators import formatting
from indicators.framework import Framework
from indicators.kpis import STATUS_STYLE, IndicatorRows, cumulative, finding, headline_row, rows_by_indicator

SEPARATORS = ",\u202f"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
TARGET_COLOUR = "#1A1A1A"
BASELINE_COLOUR = "#8C8C8C"
ACCENT = "#0072B2"  # Okabe-Ito blue, for tracks that carry no status
SHADES = ("#56B4E9", "#0072B2", "#004C7A", "#002B45")
HEIGHT = 360
# What the page passes to st.plotly_chart(config=…): no Plotly logo, no editing tools.
CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}
TARGET_LINE = {"shape": "hvh", "color": TARGET_COLOUR, "dash": "dash", "width": 2}
TARGET_TICK = {"symbol": "line-ew-open", "size": 34, "line": {"width": 3, "color": TARGET_COLOUR}}


GRID = "#E6E6E6"
AXIS = {
    "gridcolor": GRID,
    "linecolor": GRID,
    "zerolinecolor": GRID,
    "ticks": "",
    "automargin": True,
    "fixedrange": True,
}


def _figure(data: list[dict], title: str, layout: dict | None = None, titled: bool = True) -> go.Figure:
    """The figure with its finding as title or, untitled, for a page that writes the finding as text above
    the chart (where it wraps on a phone); `layout.meta.finding` keeps it either way (`finding_of`)."""
    base = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        "meta": {"finding": title},
        "separators": SEPARATORS,
        "font": {"family": FONT, "size": 13, "color": "#1A1A1A"},
        "template": {},  # styled explicitly: an embedded template weighs 7 kB per figure
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "height": HEIGHT,
        "margin": {"l": 10, "r": 10, "t": 56, "b": 10},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0},
        "bargap": 0.3,
        "hoverlabel": {"font": {"family": FONT}},
        "xaxis": {**AXIS, "type": "category", "showgrid": False},
        "yaxis": {**AXIS, "rangemode": "tozero", "tickformat": ",~r"},
    }
    for key, value in (layout or {}).items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    if not titled:
        base["title"] = {"text": ""}
        base["margin"] = {**base["margin"], "t": 28}
    return go.Figure({"data": data, "layout": base}, _validate=False)


def finding_of(fig: go.Figure) -> str:
    return fig.layout.meta["finding"]


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _rows(table: pd.DataFrame | IndicatorRows, code: str) -> IndicatorRows:
    return table if isinstance(table, IndicatorRows) else rows_by_indicator(table[table["indicator"] == code])[code]


def yearly_chart(
    fw: Framework, table: pd.DataFrame | IndicatorRows, code: str, titled: bool = True, year: int | None = None
) -> go.Figure:
    """Actual per year (bars, coloured and labelled by status) against that year's own target (a step
    line), with the baseline years before the convention shown as grey hatched bars.

    `table` is the KPI table, or that indicator's rows from `kpis.rows_by_indicator`."""
    ind = fw.indicator(code)
    rows = _rows(table, code).yearly
    data = []
    if ind.baselines:
        data.append(
            {
                "type": "bar",
                "x": [str(b.year) for b in ind.baselines],
                "y": [b.value for b in ind.baselines],
                "name": "Référence avant la convention",
                "marker": {
                    "color": "#FFFFFF",
                    "line": {"color": BASELINE_COLOUR, "width": 1.5},
                    "pattern": {"shape": "/", "fgcolor": BASELINE_COLOUR, "bgcolor": "#FFFFFF", "size": 8},
                },
                "text": [formatting.number(b.value) for b in ind.baselines],
                "textposition": "outside",
                "customdata": [b.source for b in ind.baselines],
                "hovertemplate": "Référence %{x} : %{y}<br>%{customdata}<extra></extra>",
            }
        )
    has_target = any(_num(r.target) is not None for r in rows)
    statuses = [r.status for r in rows]
    periods = [r.period for r in rows]
    labels = [
        formatting.number(r.actual)
        + (f" {STATUS_STYLE[r.status][1]}" if has_target and r.status != "sans_objectif" else "")
        if _num(r.actual) is not None
        else "non renseigné"
        for r in rows
    ]
    data.append(
        {
            "type": "bar",
            "x": periods,
            "y": [_num(r.actual) or 0.0 for r in rows],
            "name": "Réalisé",
            "marker": {"color": [STATUS_STYLE[s][2] for s in statuses] if has_target else ACCENT},
            "text": labels,
            "textposition": "auto",
            "insidetextanchor": "start",
            "customdata": [[STATUS_STYLE[r.status][0], formatting.percent(_num(r.rate))] for r in rows],
            "hovertemplate": "%{x} : %{text}<br>%{customdata[0]} · %{customdata[1]} de l'objectif<extra></extra>"
            if has_target
            else "%{x} : %{text}<extra></extra>",
        }
    )
    if has_target:
        data.append(
            {
                "type": "scatter",
                "x": periods,
                "y": [_num(r.target) for r in rows],
                "name": "Objectif de l'année",
                "mode": "lines+markers",
                "line": TARGET_LINE,
                "marker": TARGET_TICK,
                "hovertemplate": "Objectif %{x} : %{y}<extra></extra>",
                "connectgaps": False,
            }
        )
    categories = [str(b.year) for b in ind.baselines] + periods
    numbers = [v for r in rows for v in (_num(r.actual), _num(r.target)) if v is not None]
    top = max([*numbers, *(b.value for b in ind.baselines), 1])
    return _figure(
        data,
        finding(headline_row(rows, year)),
        {
            "xaxis": {"categoryorder": "array", "categoryarray": categories},
            "yaxis": {"range": [0, float(top) * 1.18]},
        },
        titled,
    )


def cumulative_chart(fw: Framework, table: pd.DataFrame | IndicatorRows, code: str, titled: bool = True) -> go.Figure:
    """For a flow: the cumulative actual against the cumulative target, year after year, towards the
    period target (e.g. ARDAN towards 200)."""
    ind = fw.indicator(code)
    rows = _rows(table, code)
    track = cumulative(rows.yearly)
    years = [str(t["year"]) for t in track]
    data = [
        {
            "type": "scatter",
            "x": years,
            "y": [t["cum_target"] for t in track],
            "name": "Objectif cumulé",
            "mode": "lines+markers",
            "line": TARGET_LINE,
            "marker": TARGET_TICK,
            "hovertemplate": "Objectif cumulé fin %{x} : %{y}<extra></extra>",
        },
        {
            "type": "scatter",
            "x": years,
            "y": [t["cum_actual"] for t in track],
            "name": "Réalisé cumulé",
            "mode": "lines+markers+text",
            "line": {"color": ACCENT, "width": 3},
            "marker": {"size": 10, "color": ACCENT},
            "text": [formatting.number(t["cum_actual"], empty="") for t in track],
            "textposition": "bottom right",
            "hovertemplate": "Réalisé cumulé fin %{x} : %{y}<extra></extra>",
        },
    ]
    done = [t for t in track if t["cum_actual"] is not None]
    first = track[0]["year"]
    if done:
        last = done[-1]["year"]
        span = f"en {first}" if first == last else f"de {first} à {last}"
        title = f"{ind.short_label} : {formatting.quantity(done[-1]['cum_actual'], ind.unit)} {span}"
    else:
        title = f"{ind.short_label} : aucune valeur depuis {first}"
    layout: dict = {}
    goal = _num(rows.period.target) if rows.period is not None else None
    if goal is not None:
        title += f", objectif {formatting.number(goal)} sur {fw.period_label}"
        if done and goal > 0:
            title += f" ({formatting.percent(done[-1]['cum_actual'] / goal)})"
        layout["shapes"] = [
            {
                "type": "line",
                "xref": "x domain",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": goal,
                "y1": goal,
                "line": {"color": BASELINE_COLOUR, "width": 1},
            }
        ]
        layout["annotations"] = [
            {
                "text": f"Objectif de la période : {formatting.number(goal)}",
                "xref": "x domain",
                "x": 0,
                "xanchor": "left",
                "yref": "y",
                "y": goal,
                "yanchor": "bottom",
                "showarrow": False,
            }
        ]
    top = max([v for t in track for v in (t["cum_actual"], t["cum_target"]) if v is not None] + [1])
    layout["yaxis"] = {"range": [0, float(top) * 1.18]}
    return _figure(data, title, layout, titled)


def minimum_chart(fw: Framework, table: pd.DataFrame | IndicatorRows, code: str, titled: bool = True) -> go.Figure:
    """For an "at least N over the period" target: what each year delivered, stacked, against N."""
    ind = fw.indicator(code)
    grouped = _rows(table, code)
    rows, period = grouped.yearly, grouped.period
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": [fw.period_label],
            "x": [float(r.actual)],
            "name": str(r.year),
            "marker": {"color": SHADES[i % len(SHADES)]},
            "text": [f"{r.year} : {formatting.number(r.actual)}"],
            "textposition": "inside",
            "hovertemplate": f"{r.year} : %{{x}} {ind.unit}<extra></extra>",
        }
        for i, r in enumerate(rows)
        if _num(r.actual)
    ]
    word, icon, _ = STATUS_STYLE[period.status]
    target = float(period.target)
    top = max(target, _num(period.actual) or 0.0)
    title = finding(period) + f" — {icon} {word}"
    first, last = int(fw.years[0]), int(rows[-1].year) if rows else int(fw.years[0])
    if last < int(fw.years[-1]):  # a table `until` a year: the period is not over, only "reached" is a verdict
        span = f"en {first}" if first == last else f"de {first} à {last}"
        title = (
            f"{ind.short_label} : "
            + (formatting.quantity(period.actual, ind.unit) if _num(period.actual) is not None else "aucune valeur")
            + f" {span} "
            f"(objectif : au moins {formatting.number(target)} sur {fw.period_label})"
            + (f" — {icon} {word}" if period.status == "atteint" else " — pas encore atteint")
        )
    return _figure(
        data,
        title,
        {
            "barmode": "stack",
            "height": 220,
            "legend": {"traceorder": "normal"},
            "shapes": [
                {
                    "type": "line",
                    "xref": "x",
                    "x0": target,
                    "x1": target,
                    "yref": "y domain",
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": TARGET_COLOUR, "dash": "dash", "width": 2},
                }
            ],
            "annotations": [
                {
                    "text": f"Au moins {formatting.number(target)}",
                    "xref": "x",
                    "x": target,
                    "xanchor": "left",
                    "yref": "y domain",
                    "y": 0,
                    "yanchor": "bottom",
                    "showarrow": False,
                }
            ],
            "xaxis": {
                "type": "linear",
                "range": [0, top * 1.25 + 0.5],
                "dtick": 1 if top <= 10 else None,
                "title": {"text": ind.unit},
            },
            "yaxis": {"type": "category", "showticklabels": False},
        },
        titled,
    )


def indicator_figures(
    fw: Framework, table: pd.DataFrame | IndicatorRows, code: str, titled: bool = True, year: int | None = None
) -> list[go.Figure]:
    """Every figure that describes one indicator: the yearly chart (its finding about `year`, by default the
    latest year with a value); the cumulative track for a flow with yearly targets; the "at least N"
    progress for a minimum period target."""
    ind = fw.indicator(code)
    table = _rows(table, code)
    figures = []
    if ind.targets or ind.period_target_kind != "minimum":
        figures.append(yearly_chart(fw, table, code, titled, year))
    if ind.kind == "flow" and ind.targets:
        figures.append(cumulative_chart(fw, table, code, titled))
    if ind.period_target_kind == "minimum":
        figures.append(minimum_chart(fw, table, code, titled))
    return figures


# -- budget ------------------------------------------------------------------------------------------
PLANNED_COLOUR = "#BBBBBB"


def budget_lines_chart(ex, titled: bool = True) -> go.Figure:
    """Planned against actual spending for each budget line of a year (horizontal bars)."""
    lines = ex.by_line.iloc[::-1]  # the first line of the annex on top
    labels = [f"{label[:48]}…" if len(label) > 49 else label for label in lines["label"]]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "y": labels,
            "x": [float(v) for v in lines["planned"]],
            "name": "Prévu",
            "marker": {"color": PLANNED_COLOUR},
            "hovertemplate": "%{y}<br>Prévu : %{x:,.0f} €<extra></extra>",
        },
        {
            "type": "bar",
            "orientation": "h",
            "y": labels,
            "x": [float(v) for v in lines["actual"]],
            "name": "Réalisé",
            "marker": {"color": ACCENT},
            "text": [formatting.percent(r, empty="") for r in lines["rate"]],
            "textposition": "outside",
            "hovertemplate": "%{y}<br>Réalisé : %{x:,.0f} €<extra></extra>",
        },
    ]
    if ex.has_actual:
        title = (
            f"{ex.year} : {formatting.euros(ex.actual_total)} dépensés sur {formatting.euros(ex.planned_total)} prévus "
            f"({formatting.percent(ex.rate)})"
        )
    else:
        title = f"{ex.year} : {formatting.euros(ex.planned_total)} prévus, aucune dépense réelle saisie"
    return _figure(
        data,
        title,
        {
            "barmode": "group",
            "height": 120 + 38 * len(lines),
            "xaxis": {"type": "linear", "tickformat": ",~r", "ticksuffix": " €", "showgrid": True},
            "yaxis": {"type": "category", "automargin": True},
            "margin": {"l": 10, "r": 40, "t": 56, "b": 10},
        },
        titled,
    )


def budget_fiche_chart(ex, titled: bool = True) -> go.Figure:
    """Planned against actual spending by fiche action (actual given without a fiche is shared as planned)."""
    fiches = [f"Fiche {f}" for f in ex.by_fiche["fiche"]]
    data = [
        {
            "type": "bar",
            "x": fiches,
            "y": [float(v) for v in ex.by_fiche["planned"]],
            "name": "Prévu",
            "marker": {"color": PLANNED_COLOUR},
            "hovertemplate": "%{x}<br>Prévu : %{y:,.0f} €<extra></extra>",
        },
        {
            "type": "bar",
            "x": fiches,
            "y": [float(v) for v in ex.by_fiche["actual"]],
            "name": "Réalisé",
            "marker": {"color": ACCENT},
            "text": [formatting.percent(r, empty="") for r in ex.by_fiche["rate"]],
            "textposition": "outside",
            "hovertemplate": "%{x}<br>Réalisé : %{y:,.0f} €<extra></extra>",
        },
    ]
    rates = [r for r in ex.by_fiche["rate"] if r is not None and not pd.isna(r)]
    title = f"Par fiche action en {ex.year}"
    if ex.has_actual and rates:
        low = ex.by_fiche.loc[ex.by_fiche["rate"].astype(float).idxmin()]
        title += f" : la fiche {int(low['fiche'])} est la moins exécutée ({formatting.percent(low['rate'])})"
    top = max([*ex.by_fiche["planned"], *ex.by_fiche["actual"], 1])
    return _figure(
        data,
        title,
        {"barmode": "group", "yaxis": {"range": [0, float(top) * 1.15], "ticksuffix": " €"}},
        titled,
    )


def subsidy_waterfall(sub, titled: bool = True) -> go.Figure:
    """From the planned subsidy to what remains due: prorata deduction, advance, other payments."""
    steps = [("Subvention prévue", sub.planned_subsidy, "absolute")]
    if sub.prorated_subsidy is not None and sub.prorated_subsidy != sub.planned_subsidy:
        steps.append(("Réfaction au prorata", sub.prorated_subsidy - sub.planned_subsidy, "relative"))
    due = sub.prorated_subsidy if sub.prorated_subsidy is not None else sub.planned_subsidy
    steps.append(("Subvention due" if sub.prorated_subsidy is not None else "Subvention due (prévue)", due, "total"))
    if sub.paid:
        steps.append(("Versements reçus", -sub.paid, "relative"))
    steps.append(("Reste à verser" if sub.remaining >= 0 else "À reverser", sub.remaining, "total"))
    data = [
        {
            "type": "waterfall",
            "x": [s[0] for s in steps],
            "y": [float(s[1]) for s in steps],
            "measure": [s[2] for s in steps],
            "text": [formatting.euros(s[1]) for s in steps],
            "textposition": "outside",
            "connector": {"line": {"color": GRID}},
            "increasing": {"marker": {"color": "#009E73"}},
            "decreasing": {"marker": {"color": "#D55E00"}},
            "totals": {"marker": {"color": ACCENT}},
            "hovertemplate": "%{x} : %{text}<extra></extra>",
        }
    ]
    if sub.remaining >= 0:
        title = (
            f"Subvention {sub.year} : reste {formatting.euros(sub.remaining)} à verser sur {formatting.euros(due)} dus"
        )
    else:
        title = f"Subvention {sub.year} : {formatting.euros(-sub.remaining)} à reverser par le CNAM"
    top = max(sub.planned_subsidy, due, 1)
    return _figure(
        data, title, {"yaxis": {"range": [min(0, sub.remaining) * 1.2, top * 1.18], "ticksuffix": " €"}}, titled
    )
