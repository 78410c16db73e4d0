"""KPI computations: targets against actuals for every indicator and year, and over the period.

Rules (thresholds from the framework's [status] table):
- rate = actual / target; `atteint` when rate ≥ reached (100 %), `partiel` when ≥ partial (80 %),
  `insuffisant` below; `non_renseigne` when there is a target but no value; `sans_objectif` when
  there is no target.
- Period actuals add up flows over the convention's years and never headcounts; a period target is
  either the total of the yearly targets or an "at least N".
- Data-quality flags: a value missing for a year that has data elsewhere, a value above
  high_factor × its target, a value below low_baseline_factor × the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from indicators import formatting
from indicators.framework import Framework

STATUSES = ("atteint", "partiel", "insuffisant", "non_renseigne", "sans_objectif")
# Word, icon and colour for each status: the icon and the word carry the meaning without the colour
# (Okabe-Ito palette, readable by colour-blind people).
STATUS_STYLE = {
    "atteint": ("Atteint", "✔", "#009E73"),
    "partiel": ("Partiel", "◐", "#E69F00"),
    "insuffisant": ("Insuffisant", "✖", "#D55E00"),
    "non_renseigne": ("Non renseigné", "?", "#8C8C8C"),
    "sans_objectif": ("Sans objectif", "–", "#BBBBBB"),
}
TARGET_KIND_LABELS = {"annuel": "objectif annuel", "total": "total sur la période", "minimum": "au moins"}


def status_word(status: str) -> str:
    return STATUS_STYLE[status][0]


def _indicator_frame(fw: Framework) -> pd.DataFrame:
    rows = []
    for ind in fw.indicators:
        ref = ind.baseline_reference
        rows.append(
            {
                "indicator": ind.code,
                "fiche": ind.fiche,
                "label": ind.label,
                "short_label": ind.short_label,
                "unit": ind.unit,
                "kind": ind.kind,
                "whole": ind.whole,
                "baseline": ref.value if ref else np.nan,
                "baseline_year": ref.year if ref else pd.NA,
                "period_target": ind.period_target if ind.period_target is not None else np.nan,
                "period_target_kind": ind.period_target_kind,
            }
        )
    return pd.DataFrame(rows)


def _status(rate: pd.Series, target: pd.Series, actual: pd.Series, fw: Framework) -> np.ndarray:
    has_target, has_actual = target.notna(), actual.notna()
    zero_target = has_target & (target == 0)
    return np.select(
        [~has_target, ~has_actual, zero_target | (rate >= fw.status.reached - 1e-9), rate >= fw.status.partial - 1e-9],
        ["sans_objectif", "non_renseigne", "atteint", "partiel"],
        default="insuffisant",
    )


def kpi_table(fw: Framework, values: pd.DataFrame, until: int | None = None) -> pd.DataFrame:
    """One row per indicator and convention year, plus one period row per indicator with a period target.

    `values` has columns indicator, year, value (and optionally comment), as `history.current_values`.
    With `until` (the annual report of that year), the table is the state at the end of that year: no
    row and no value of a later year; the period rows keep the convention's period and target, their
    actual is what the years up to `until` delivered.
    Columns: indicator, fiche, label, short_label, unit, kind, period, year, target, target_kind, actual,
    rate, status, gap, previous_actual, change_vs_previous, baseline, baseline_year, change_vs_baseline,
    comment, flags (list of French strings).
    """
    inds = _indicator_frame(fw)
    years = [y for y in fw.years if until is None or y <= int(until)]
    if len(values):
        values = values[values["indicator"].isin(inds["indicator"]) & values["year"].isin(years)]
    grid = pd.MultiIndex.from_product([inds["indicator"], years], names=["indicator", "year"]).to_frame(index=False)
    targets = pd.DataFrame(
        [(i.code, y, t) for i in fw.indicators for y, t in i.targets.items()], columns=["indicator", "year", "target"]
    )
    cols = ["indicator", "year", "value"] + (["comment"] if "comment" in values.columns else [])
    vals = (
        values[cols].rename(columns={"value": "actual"})
        if len(values)
        else pd.DataFrame(columns=cols).rename(columns={"value": "actual"})
    )
    vals = vals.astype({"year": "int64", "actual": "float64"})
    yearly = (
        grid.merge(inds, on="indicator")
        .merge(targets, on=["indicator", "year"], how="left")
        .merge(vals, on=["indicator", "year"], how="left")
    )
    if "comment" not in yearly.columns:
        yearly["comment"] = None
    yearly["target_kind"] = np.where(yearly["target"].notna(), "annuel", None)
    prev = yearly[["indicator", "year", "actual"]].assign(year=lambda d: d["year"] + 1)
    yearly = yearly.merge(prev.rename(columns={"actual": "previous_actual"}), on=["indicator", "year"], how="left")
    yearly["period"] = yearly["year"].astype(str)
    years_with_data = set(vals["year"].unique()) if len(vals) else set()

    flows = yearly[yearly["kind"] == "flow"]
    sums = flows.groupby("indicator").agg(
        actual=("actual", lambda s: s.sum(min_count=1)), missing=("actual", lambda s: int(s.isna().sum()))
    )
    period = inds[inds["period_target"].notna()].merge(sums, left_on="indicator", right_index=True, how="left")
    period = period.assign(
        year=pd.NA,
        period=fw.period_label,
        target=period["period_target"],
        target_kind=period["period_target_kind"],
        previous_actual=np.nan,
        comment=None,
    )
    table = pd.concat([yearly, period.drop(columns=["missing"])], ignore_index=True)
    table["year"] = table["year"].astype("Int64")
    table["rate"] = np.where(table["target"] > 0, table["actual"] / table["target"].where(table["target"] > 0), np.nan)
    table["status"] = _status(table["rate"], table["target"], table["actual"], fw)
    table["gap"] = table["actual"] - table["target"]
    table["change_vs_previous"] = table["actual"] - table["previous_actual"]
    table["change_vs_baseline"] = table["actual"] - table["baseline"]

    missing_years = {}
    for code, group in yearly.groupby("indicator"):
        missing_years[code] = [
            int(y) for y, a in zip(group["year"], group["actual"], strict=True) if pd.isna(a) and y in years_with_data
        ]
    flags = []
    high, low = fw.status.high_factor, fw.status.low_baseline_factor
    for row in table.itertuples(index=False):
        f = []
        if row.period != fw.period_label:
            if pd.isna(row.actual) and row.year in years_with_data:
                f.append(f"valeur {row.year} manquante alors que d'autres indicateurs sont renseignés")
        elif missing := [y for y in fw.years if y in years_with_data and y in missing_years[row.indicator]]:
            f.append("années non renseignées : " + ", ".join(map(str, missing)))
        if pd.notna(row.actual) and pd.notna(row.target) and row.target > 0 and row.actual > high * row.target:
            f.append(f"plus de {high:g} fois l'objectif : à vérifier".replace(".", ","))
        if (
            row.period != fw.period_label
            and pd.notna(row.actual)
            and pd.notna(row.baseline)
            and row.actual < low * row.baseline
        ):
            f.append(f"moins de la moitié de la référence {row.baseline_year} ({row.baseline:g}) : à vérifier")
        flags.append(f)
    table["flags"] = flags
    order = [
        "indicator",
        "fiche",
        "label",
        "short_label",
        "unit",
        "kind",
        "period",
        "year",
        "target",
        "target_kind",
        "actual",
        "rate",
        "status",
        "gap",
        "previous_actual",
        "change_vs_previous",
        "baseline",
        "baseline_year",
        "change_vs_baseline",
        "comment",
        "flags",
    ]
    table = table.assign(_is_period=table["year"].isna())
    table = table.sort_values(["fiche", "indicator", "_is_period", "period"], kind="stable")
    return table[order].reset_index(drop=True)


def latest_year_with_data(fw: Framework, values: pd.DataFrame) -> int | None:
    years = [y for y in fw.years if len(values) and (values["year"] == y).any()]
    return max(years) if years else None


def _counts(table: pd.DataFrame, period: str, fiche: int | None = None) -> tuple[int, int, int]:
    """(met, with a target, without a value) among one period's rows, on numpy arrays (a page calls this
    several times per run: pandas masks would cost more than the counting)."""
    status = table["status"].to_numpy()
    mask = (table["period"].to_numpy() == period) & (status != "sans_objectif")
    if fiche is not None:
        mask &= table["fiche"].to_numpy() == fiche
    chosen = status[mask]
    return int((chosen == "atteint").sum()), int(mask.sum()), int((chosen == "non_renseigne").sum())


def share_met(table: pd.DataFrame, period: str) -> tuple[int, int]:
    """(targets met, targets with a value or due) for one period ('2017' or '2016-2018')."""
    met, total, _ = _counts(table, period)
    return met, total


def fiche_sentence(table: pd.DataFrame, fiche: int, period: str) -> str:
    """'Fiche 1 : 2 objectifs sur 3 atteints en 2017' (or 'sur 2016-2018'), from the data."""
    met, total, missing = _counts(table, period, fiche)
    when = f"en {period}" if "-" not in period else f"sur {period}"
    if total == 0:
        return f"Fiche {fiche} : aucun objectif chiffré {when}"
    text = f"Fiche {fiche} : {met} objectif{'s' if met > 1 else ''} sur {total} atteint{'s' if met > 1 else ''} {when}"
    if missing:
        text += f" ({missing} non renseigné{'s' if missing > 1 else ''})"
    return text


def status_rows(table: pd.DataFrame, fw: Framework) -> list[dict]:
    """The rows of `kpi status --json`: one per indicator and year, plus the period rows."""
    out = []
    for row in table.itertuples(index=False):
        out.append(
            {
                "indicator": row.indicator,
                "period": row.period,
                "target": _num(row.target),
                "actual": _num(row.actual),
                "rate": None if pd.isna(row.rate) else round(float(row.rate), 4),
                "status": row.status,
                "target_kind": row.target_kind,
                "flags": list(row.flags),
            }
        )
    return out


def _num(x):
    if x is None or pd.isna(x):
        return None
    x = float(x)
    return int(x) if x.is_integer() else x


@dataclass(frozen=True)
class IndicatorRows:
    """One indicator's rows of the KPI table as plain records: yearly rows in year order, and the period
    row (None without a period target). Charts and pages read these without pandas operations, which
    cost far more than the arithmetic on a handful of rows."""

    yearly: list[SimpleNamespace]
    period: SimpleNamespace | None


def rows_by_indicator(table: pd.DataFrame) -> dict[str, IndicatorRows]:
    yearly: dict[str, list[SimpleNamespace]] = {}
    period: dict[str, SimpleNamespace] = {}
    for record in table.to_dict("records"):
        row = SimpleNamespace(**record)
        if pd.isna(row.year):
            period[row.indicator] = row
        else:
            yearly.setdefault(row.indicator, []).append(row)
    return {code: IndicatorRows(sorted(rows, key=lambda r: r.year), period.get(code)) for code, rows in yearly.items()}


def cumulative(yearly: list[SimpleNamespace]) -> list[dict]:
    """The cumulative track of a flow over the convention years: year, actual, target, cum_actual, cum_target.

    cum_actual stops at the first year without a value (a total that skips a year would be wrong);
    cum_target adds up the yearly targets (a year without target adds 0) from the first year with one.
    """
    out, cum_actual, cum_target, known, started = [], 0.0, 0.0, True, False
    for row in yearly:
        known = known and not pd.isna(row.actual)
        cum_actual += 0.0 if pd.isna(row.actual) else float(row.actual)
        started = started or not pd.isna(row.target)
        cum_target += 0.0 if pd.isna(row.target) else float(row.target)
        out.append(
            {
                "year": int(row.year),
                "actual": row.actual,
                "target": row.target,
                "cum_actual": cum_actual if known else None,
                "cum_target": cum_target if started else None,
            }
        )
    return out


def finding(row) -> str:
    """A chart title that states the finding: 'ARDAN : 64 entreprises en 2017, 91 % de l'objectif de 70'."""
    when = f"en {row.period}" if "-" not in str(row.period) else f"sur {row.period}"
    if pd.isna(row.actual):
        if pd.isna(row.target):
            return f"{row.short_label} : aucune valeur {when}"
        return f"{row.short_label} : pas encore de valeur {when} (objectif : {formatting.number(row.target)})"
    text = f"{row.short_label} : {formatting.quantity(row.actual, row.unit)} {when}"
    if pd.isna(row.target):
        return text + (f" (pas d'objectif fixé pour {row.period})" if "-" not in str(row.period) else "")
    target = formatting.number(row.target)
    if row.target_kind == "minimum":
        return text + f" (objectif : au moins {target})"
    if row.target == 0:
        return text + " (objectif : 0)"
    return text + f", {formatting.percent(row.rate)} de l'objectif de {target}"


def headline_row(yearly: list[SimpleNamespace], year: int | None = None) -> SimpleNamespace:
    """The row a chart's title speaks of: `year`'s, else the latest year with a value (else the first)."""
    if year is not None:
        for row in yearly:
            if int(row.year) == int(year):
                return row
    with_value = [r for r in yearly if not pd.isna(r.actual)]
    return with_value[-1] if with_value else yearly[0]
