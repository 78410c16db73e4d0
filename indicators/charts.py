"""The Plotly figures of the dashboard and the reports (the same figures in both).

Every figure: French number formatting (`separators`: decimal comma, narrow no-break space between
thousands, as Babel writes them), years on a category axis, statuses in the Okabe-Ito colours of
`kpis.STATUS_STYLE` *and* written as a word and an icon, a title that states the finding, system
fonts only (nothing is fetched from the internet).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from indicators import formatting
from indicators.framework import Framework
from indicators.kpis import STATUS_STYLE, cumulative, finding, headline_row

SEPARATORS = ",\u202f"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
TARGET_COLOUR = "#1A1A1A"
BASELINE_COLOUR = "#8C8C8C"
ACCENT = "#0072B2"  # Okabe-Ito blue, for tracks that carry no status
HEIGHT = 360
# What the page passes to st.plotly_chart(config=…): no Plotly logo, no editing tools.
CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


def _layout(fig: go.Figure, title: str, x_title: str | None = None, y_title: str | None = None) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        separators=SEPARATORS,
        font={"family": FONT, "size": 13, "color": "#1A1A1A"},
        template="plotly_white",
        height=HEIGHT,
        margin={"l": 10, "r": 10, "t": 56, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0},
        bargap=0.3,
        hoverlabel={"font": {"family": FONT}},
    )
    fig.update_xaxes(type="category", title=x_title, fixedrange=True)
    fig.update_yaxes(title=y_title, rangemode="tozero", fixedrange=True, tickformat=",~r")
    return fig


def _rows(table: pd.DataFrame, code: str) -> pd.DataFrame:
    return table[(table["indicator"] == code) & table["year"].notna()].sort_values("year")


def yearly_chart(fw: Framework, table: pd.DataFrame, code: str) -> go.Figure:
    """Actual per year (bars, coloured and labelled by status) against that year's own target (a step
    line), with the baseline years before the convention shown as grey hatched bars."""
    ind = fw.indicator(code)
    rows = _rows(table, code)
    fig = go.Figure()
    if ind.baselines:
        fig.add_bar(
            x=[str(b.year) for b in ind.baselines],
            y=[b.value for b in ind.baselines],
            name="Référence avant la convention",
            marker={"color": "#FFFFFF", "line": {"color": BASELINE_COLOUR, "width": 1.5}, "pattern": {"shape": "/"}},
            text=[formatting.number(b.value) for b in ind.baselines],
            textposition="outside",
            customdata=[b.source for b in ind.baselines],
            hovertemplate="Référence %{x} : %{y}<br>%{customdata}<extra></extra>",
        )
    has_target = rows["target"].notna().any()
    labels = [
        formatting.number(a) + (f" {STATUS_STYLE[s][1]}" if has_target and s != "sans_objectif" else "")
        if pd.notna(a)
        else "non renseigné"
        for a, s in zip(rows["actual"], rows["status"], strict=True)
    ]
    words = [STATUS_STYLE[s][0] for s in rows["status"]]
    fig.add_bar(
        x=rows["period"],
        y=rows["actual"].fillna(0),
        name="Réalisé",
        marker={"color": [STATUS_STYLE[s][2] for s in rows["status"]] if has_target else ACCENT},
        text=labels,
        textposition="auto",
        insidetextanchor="start",
        customdata=list(zip(words, [formatting.percent(r) for r in rows["rate"]], strict=True)),
        hovertemplate="%{x} : %{text}<br>%{customdata[0]} · %{customdata[1]} de l'objectif<extra></extra>"
        if has_target
        else "%{x} : %{text}<extra></extra>",
    )
    if has_target:
        fig.add_scatter(
            x=rows["period"],
            y=rows["target"],
            name="Objectif de l'année",
            mode="lines+markers",
            line={"shape": "hvh", "color": TARGET_COLOUR, "dash": "dash", "width": 2},
            marker={"symbol": "line-ew-open", "size": 34, "line": {"width": 3, "color": TARGET_COLOUR}},
            hovertemplate="Objectif %{x} : %{y}<extra></extra>",
            connectgaps=False,
        )
    categories = [str(b.year) for b in ind.baselines] + list(rows["period"])
    fig.update_xaxes(categoryorder="array", categoryarray=categories)
    top = max([*rows["actual"].dropna(), *rows["target"].dropna(), *(b.value for b in ind.baselines), 1])
    fig.update_yaxes(range=[0, top * 1.18])
    return _layout(fig, finding(headline_row(table, code)))


def cumulative_chart(fw: Framework, table: pd.DataFrame, code: str) -> go.Figure:
    """For a flow: the cumulative actual against the cumulative target, year after year, towards the
    period target (e.g. ARDAN towards 200)."""
    ind = fw.indicator(code)
    track = cumulative(table, code)
    years = track["year"].astype(str)
    fig = go.Figure()
    fig.add_scatter(
        x=years,
        y=track["cum_target"],
        name="Objectif cumulé",
        mode="lines+markers",
        line={"shape": "hvh", "color": TARGET_COLOUR, "dash": "dash", "width": 2},
        marker={"symbol": "line-ew-open", "size": 34, "line": {"width": 3, "color": TARGET_COLOUR}},
        hovertemplate="Objectif cumulé fin %{x} : %{y}<extra></extra>",
    )
    fig.add_scatter(
        x=years,
        y=track["cum_actual"],
        name="Réalisé cumulé",
        mode="lines+markers+text",
        line={"color": ACCENT, "width": 3},
        marker={"size": 10, "color": ACCENT},
        text=[formatting.number(v, empty="") for v in track["cum_actual"]],
        textposition="top left",
        hovertemplate="Réalisé cumulé fin %{x} : %{y}<extra></extra>",
    )
    period = table[(table["indicator"] == code) & table["year"].isna()]
    done = track["cum_actual"].dropna()
    if len(done):
        first, last = int(track["year"].iloc[0]), int(track.loc[done.index[-1], "year"])
        span = f"en {first}" if first == last else f"de {first} à {last}"
        title = f"{ind.short_label} : {formatting.quantity(done.iloc[-1], ind.unit)} {span}"
    else:
        title = f"{ind.short_label} : aucune valeur depuis {int(track['year'].iloc[0])}"
    if len(period) and pd.notna(period["target"].iloc[0]):
        goal = period["target"].iloc[0]
        title += f", objectif {formatting.number(goal)} sur {fw.period_label}"
        if len(done) and goal > 0:
            title += f" ({formatting.percent(done.iloc[-1] / goal)})"
        fig.add_hline(
            y=goal,
            line={"color": BASELINE_COLOUR, "width": 1},
            annotation_text=f"Objectif de la période : {formatting.number(goal)}",
            annotation_position="top left",
        )
    top = max([*track["cum_actual"].dropna(), *track["cum_target"].dropna(), 1])
    fig.update_yaxes(range=[0, top * 1.18])
    return _layout(fig, title)


def minimum_chart(fw: Framework, table: pd.DataFrame, code: str) -> go.Figure:
    """For an "at least N over the period" target: what each year delivered, stacked, against N."""
    ind = fw.indicator(code)
    rows = _rows(table, code)
    period = table[(table["indicator"] == code) & table["year"].isna()].iloc[0]
    fig = go.Figure()
    shades = ["#56B4E9", "#0072B2", "#004C7A", "#002B45"]
    for i, r in enumerate(rows.itertuples(index=False)):
        if pd.isna(r.actual) or r.actual == 0:
            continue
        fig.add_bar(
            y=[fw.period_label],
            x=[r.actual],
            orientation="h",
            name=str(r.year),
            marker={"color": shades[i % len(shades)]},
            text=[f"{r.year} : {formatting.number(r.actual)}"],
            textposition="inside",
            hovertemplate=f"{r.year} : %{{x}} {ind.unit}<extra></extra>",
        )
    word, icon, colour = STATUS_STYLE[period["status"]]
    fig.add_vline(
        x=period["target"],
        line={"color": TARGET_COLOUR, "dash": "dash", "width": 2},
        annotation_text=f"Au moins {formatting.number(period['target'])}",
        annotation_position="bottom right",
    )
    fig.update_layout(barmode="stack", legend={"traceorder": "normal"})
    title = finding(period) + f" — {icon} {word}"
    _layout(fig, title)
    fig.update_layout(height=220)
    top = max(float(period["target"]), float(period["actual"]) if pd.notna(period["actual"]) else 0.0)
    fig.update_xaxes(type="linear", range=[0, top * 1.25 + 0.5], dtick=1 if top <= 10 else None, title=ind.unit)
    fig.update_yaxes(type="category", showticklabels=False, title=None)
    return fig


def indicator_figures(fw: Framework, table: pd.DataFrame, code: str) -> list[go.Figure]:
    """Every figure that describes one indicator: the yearly chart; the cumulative track for a flow with
    yearly targets; the "at least N" progress for a minimum period target."""
    ind = fw.indicator(code)
    figures = []
    if ind.targets or ind.period_target_kind != "minimum":
        figures.append(yearly_chart(fw, table, code))
    if ind.kind == "flow" and ind.targets:
        figures.append(cumulative_chart(fw, table, code))
    if ind.period_target_kind == "minimum":
        figures.append(minimum_chart(fw, table, code))
    return figures
