"""The annual activity report (rapport moral et financier, art. 7) and the final evaluation report, as
one model that `rendering` writes as DOCX, HTML and PDF, so that the three never disagree.

The model is plain data: sections of paragraphs, bullet lists, tables (cells already formatted in
French) and figures (the dashboard's Plotly figures, rendered to PNG once per report). Every text a
person typed is carried as text; renderers escape it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from indicators import budget, charts, formatting, history, kpis, ledger, milestones, tables, texts
from indicators.demo import DEMO_LABEL
from indicators.errors import Refused
from indicators.storage import Store


@dataclass
class Paragraph:
    text: str
    style: str = ""  # "" | "lead" | "note" | "missing"


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    widths: list[float] | None = None  # relative column widths, for DOCX and PDF

    @classmethod
    def of(cls, frame: pd.DataFrame, caption: str = "", widths: list[float] | None = None) -> Table:
        return cls(
            [str(c) for c in frame.columns],
            [["" if v is None else str(v) for v in r] for r in frame.itertuples(index=False)],
            caption,
            widths,
        )


@dataclass
class Figure:
    figure: go.Figure
    caption: str
    width: int = 900
    height: int = 380
    png: bytes | None = None  # rendered once, then reused by every format


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)
    level: int = 1


@dataclass
class Report:
    kind: str  # "annual" | "final"
    title: str
    subtitle: str
    convention: str
    parties: list[str]
    period: str
    generated_at: dt.datetime
    demo: bool
    sections: list[Section]
    status_line: str = ""  # the approval state of the figures (brouillon / soumis / validé)
    as_of_line: str = ""  # « Données arrêtées au 15/03/2018 10:02, changement n° 42. »

    @property
    def stem(self) -> str:
        return "rapport_final_" + self.period if self.kind == "final" else "rapport_annuel_" + self.period

    @property
    def watermark(self) -> str | None:
        return DEMO_LABEL if self.demo else None


def _text_or_missing(body: str, where: str) -> Paragraph:
    if body:
        return Paragraph(body)
    return Paragraph(f"(Non renseigné — à saisir dans la page Saisie et commentaires, {where}.)", "missing")


def _fiche_sections(
    store: Store, fw, table: pd.DataFrame, years: list[int], notes: dict, period: bool, at: ledger.AsOf | None = None
) -> list[Section]:
    by_indicator = kpis.rows_by_indicator(table)
    mtable = milestones.milestone_table(store, at)
    out = []
    for fiche in fw.fiches:
        section = Section(f"Fiche {fiche.number} — {fiche.title}")
        section.blocks.append(Paragraph(f"Pilote : {fiche.pilot}. Source : {fiche.source}.", "note"))
        section.blocks.append(
            Paragraph(kpis.fiche_sentence(table, fiche.number, fw.period_label if period else str(years[0])), "lead")
        )
        section.blocks.append(Bullets(list(fiche.objectives)))
        for ind in (i for i in fw.indicators if i.fiche == fiche.number):
            rows = by_indicator[ind.code]
            sub = Section(f"{ind.code} · {ind.label}", level=2)
            for fig in charts.indicator_figures(fw, rows, ind.code, titled=False, year=None if period else years[0]):
                sub.blocks.append(Figure(fig, charts.finding_of(fig), height=240 if fig.layout.height == 220 else 380))
            if period and ind.baselines:
                ref = ind.baseline_reference
                last = kpis.headline_row(rows.yearly)
                if not pd.isna(last.actual):
                    change = last.actual - ref.value
                    sign = "+" if change > 0 else ""
                    sub.blocks.append(
                        Paragraph(
                            f"Référence {ref.year} : {formatting.quantity(ref.value, ind.unit)} ; {last.period} : "
                            f"{formatting.quantity(last.actual, ind.unit)} ({sign}{formatting.number(change)})."
                        )
                    )
            for row in rows.yearly:
                if int(row.year) not in years:
                    continue
                explanation = texts.lookup(notes, "explanation", ind.code, int(row.year))
                if explanation:
                    sub.blocks.append(Paragraph(f"Explication {row.year} : {explanation}"))
                if isinstance(row.comment, str) and row.comment:
                    sub.blocks.append(Paragraph(f"Commentaire du fichier ({row.year}) : {row.comment}", "note"))
            flags = [
                f
                for row in (*rows.yearly, *([rows.period] if rows.period is not None else []))
                if (period or int(row.year if not pd.isna(row.year) else 0) in years)
                for f in row.flags
            ]
            if flags:
                sub.blocks.append(Bullets([f"Qualité des données : {f}" for f in dict.fromkeys(flags)]))
            section.blocks.append(sub)
        fm = mtable[[fiche.number in f for f in mtable["fiches"]]]
        if len(fm):
            frame = tables.milestones_frame(fm)[["Jalon", "Intitulé", "État", "Année", "Note"]]
            if not period:  # reached (or abandoned) after the report's year: it was not, at that year's end
                later = (fm["year"].notna() & (fm["year"] > years[0])).to_numpy()
                frame.loc[later, ["État", "Année", "Note"]] = [f"○ Pas encore réalisé fin {years[0]}", "", ""]
            section.blocks.append(Table.of(frame, "Jalons"))
        out.append(section)
    return out


def _budget_year_blocks(fw, plan, actual, payments, year: int, figure: bool = True) -> list:
    ex = budget.execution(fw, plan, actual, year)
    sub = budget.subsidy(fw, plan, actual, payments, year)
    blocks: list = [Table.of(tables.execution_summary_frame(ex), f"Exécution du budget {year}")]
    blocks.append(Bullets(sub.formula))
    if figure:  # the final report gives the three years in one table instead
        waterfall = charts.subsidy_waterfall(sub, titled=False)
        blocks.append(Figure(waterfall, charts.finding_of(waterfall)))
    year_payments = payments[payments["year"] == year] if len(payments) else payments
    if len(year_payments):
        blocks.append(
            Table.of(
                tables.payments_table(year_payments)[["Type", "Date", "Montant", "Référence", "État"]],
                f"Versements {year}",
            )
        )
    if ex.warnings:
        blocks.append(Bullets(ex.warnings))
    return blocks


def _provenance(store: Store, until: int | None = None, at: ledger.AsOf | None = None) -> Table:
    """Every import and edit the report's figures come from (values and actual spending in force as of
    `at`), of the years up to `until` when given."""
    journal = history.journal(store, at)
    values = history.current_values(store, at)
    if until is not None and len(values):
        values = values[values["year"] <= until]
    used = values.groupby("changeset_id").size().to_dict() if len(values) else {}
    if fw_has_budget(store):
        with store.connect() as con:
            ids = con.execute(
                "SELECT changeset_id, count(*) FROM current_expenses_at(?) WHERE year <= ? GROUP BY 1",
                [ledger.upto(at), until if until is not None else max(store.framework().years)],
            ).fetchall()
        for cid, n in ids:
            used[cid] = used.get(cid, 0) + n

    def text(value) -> str:  # the journal's frame holds NaN, not None, where a changeset has no file
        return "" if value is None or pd.isna(value) else str(value)

    rows = []
    for r in journal.itertuples(index=False):
        if r.id not in used:
            continue
        source = text(r.file_name)
        if not source:  # no file: say what it was and why, as the journal does
            what = "saisie manuelle" if r.kind == "edit" else history.KIND_LABELS.get(r.kind, r.kind)
            source = f"{what} : {text(r.comment)}" if text(r.comment) else what
        rows.append(
            [
                str(r.id),
                history.KIND_LABELS.get(r.kind, r.kind),
                source,
                formatting.timestamp(pd.Timestamp(r.created_at).to_pydatetime()),
                text(r.user_name),
                str(used[r.id]),
                text(r.file_sha256) or "—",
            ]
        )
    return Table(
        ["N°", "Type", "Fichier", "Le", "Par", "Chiffres", "Empreinte SHA-256"],
        rows,
        "Imports et saisies dont proviennent les chiffres en vigueur (le journal complet est dans l'outil).",
        [0.5, 1, 2, 1.3, 1.2, 0.7, 3.5],
    )


def fw_has_budget(store: Store) -> bool:
    fw = store.framework()
    return fw.budget is not None and fw.subsidy is not None


def build(
    store: Store, year: int | None = None, final: bool = False, as_of: int | str | dt.date | None = None
) -> Report:
    """The annual report of `year`, or (final=True) the evaluation report of the whole convention, on the
    data as they stand now or, `as_of` a change number or a date, exactly as they stood then."""
    fw = store.framework()
    if not final and (year is None or int(year) not in fw.years):
        raise Refused(
            f"Année {year} hors de la convention (attendu : {', '.join(map(str, fw.years))}, ou le rapport final)."
        )
    at = ledger.resolve(store, as_of)
    values = history.current_values(store, at)
    # An annual report is the state of its year: nothing of a later year, in its figures or its charts.
    until = None if final else int(year)
    table = kpis.kpi_table(fw, values, until=until)
    notes = texts.as_dict(texts.current_texts(store, at))
    years = list(fw.years) if final else [int(year)]
    period = fw.period_label if final else str(year)
    sections: list[Section] = []

    # Summary
    summary = Section("Synthèse")
    met, total = kpis.share_met(table, period)
    when = f"sur {period}" if final else f"en {period}"
    summary.blocks.append(
        Paragraph(
            f"{met} objectif{'s' if met > 1 else ''} chiffré{'s' if met > 1 else ''} sur {total} atteint{'s' if met > 1 else ''} {when}.",
            "lead",
        )
    )
    summary.blocks.append(Bullets([kpis.fiche_sentence(table, f.number, period) for f in fw.fiches]))
    rows = table[(table["period"] == period) & (table["status"] != "sans_objectif")]
    summary.blocks.append(
        Bullets([kpis.finding(r) + "." for r in rows.itertuples(index=False) if not pd.isna(r.actual)])
    )
    summary.blocks.append(
        Table.of(tables.kpi_frame(table, period), f"Objectifs et réalisations {period}", [0.75, 4, 1.05, 1, 0.85, 1.5])
    )
    if final:
        yearly = pd.DataFrame(
            {
                "Code": [i.code for i in fw.indicators],
                **{str(y): [_cell(table, i.code, str(y)) for i in fw.indicators] for y in fw.years},
            }
        )
        summary.blocks.append(Table.of(yearly, "Trajectoire : réalisé / objectif de chaque année"))
    sections.append(summary)
    sections += _fiche_sections(store, fw, table, years, notes, final, at)

    # Budget
    money = Section("Budget et subvention")
    if fw_has_budget(store):
        plan, actual, payments = (
            budget.plan_frame(store, at),
            budget.actual_frame(store, at),
            budget.payments_frame(store, at),
        )
        if final:
            money.blocks.append(
                Table.of(_budget_years_frame(fw, plan, actual, payments), f"Budget et subvention {fw.period_label}")
            )
            money.blocks += [
                Bullets(
                    budget.convention_warnings(fw, plan, actual) or ["Aucun plafond de la convention n'est dépassé."]
                )
            ]
            money.blocks += _cost_per_result(fw, table, plan, actual)
            for y in fw.years:
                money.blocks.append(
                    Section(f"Année {y}", _budget_year_blocks(fw, plan, actual, payments, y, figure=False), level=2)
                )
        else:
            money.blocks += _budget_year_blocks(fw, plan, actual, payments, int(year))
    else:
        money.blocks.append(
            Paragraph("Ce référentiel ne décrit pas de budget : la partie financière n'est pas disponible.", "missing")
        )
    sections.append(money)

    if final:
        sections.append(
            Section(
                "Conclusions de l'évaluation",
                [_text_or_missing(texts.lookup(notes, "conclusions"), "onglet « Actions et conclusions »")],
            )
        )
    else:
        sections.append(
            Section(
                f"Actions prévues pour {int(year) + 1}",
                [
                    _text_or_missing(
                        texts.lookup(notes, "next_actions", None, int(year)), "onglet « Actions et conclusions »"
                    )
                ],
            )
        )
    sections.append(Section("Annexe — provenance des chiffres", [_provenance(store, until, at)]))
    from indicators import access

    states = access.year_states(store, at)
    status_line = "État des chiffres : " + " ; ".join(
        f"{y} {access.STATES[states[y][0]]}"
        + (f" (par {states[y][2]} le {formatting.timestamp(states[y][3])})" if states[y][0] != "brouillon" else "")
        for y in years
    )
    title = (
        f"Rapport d'évaluation {fw.period_label}"
        if final
        else f"Rapport d'activité {year} — rapport moral et financier"
    )
    return Report(
        "final" if final else "annual",
        title,
        fw.title,
        fw.id,
        list(fw.parties),
        period,
        dt.datetime.now(dt.UTC).replace(tzinfo=None),
        store.has_demo(),
        sections,
        status_line,
        "Données arrêtées au " + at.sentence().removeprefix("données arrêtées au ") + "."
        if at.change
        else "Aucune donnée enregistrée.",
    )


def _cell(table: pd.DataFrame, code: str, period: str) -> str:
    row = table[(table["indicator"] == code) & (table["period"] == period)].iloc[0]
    actual = formatting.number(row["actual"])
    return actual if pd.isna(row["target"]) else f"{actual} / {formatting.number(row['target'])}"


def _budget_years_frame(fw, plan, actual, payments) -> pd.DataFrame:
    rows = []
    for y in fw.years:
        ex = budget.execution(fw, plan, actual, y)
        sub = budget.subsidy(fw, plan, actual, payments, y)
        rows.append(
            {
                "Année": str(y),
                "Prévu": formatting.money(ex.planned_total),
                "Réalisé": formatting.money(ex.actual_total) if ex.has_actual else "—",
                "Exécution": formatting.percent(ex.rate) if ex.has_actual else "—",
                "Subvention prévue": formatting.money(sub.planned_subsidy),
                "Subvention due": formatting.money(sub.prorated_subsidy),
                "Versé": formatting.money(sub.paid),
                "Reste": formatting.money(sub.remaining),
            }
        )
    return pd.DataFrame(rows)


def _main_result(fw, fiche: int):
    """The result a fiche's spending is divided by: its first flow indicator with a period total (ARDAN
    for fiche 1). One per fiche, so that no euro is charged twice; None when the fiche has none."""
    return next(
        (i for i in fw.indicators if i.fiche == fiche and i.kind == "flow" and i.period_target_kind == "total"), None
    )


def _cost_per_result(fw, table, plan, actual) -> list:
    """Per fiche: its actual spending over the years with actual spending recorded, divided by what its
    main result delivered over those same years; its other flows are given beside, with no cost charged.
    Returns the table and the formulas written out with their figures."""
    executions = [budget.execution(fw, plan, actual, y) for y in fw.years]
    years = [ex.year for ex in executions if ex.has_actual]
    if not years:
        return [Paragraph("Aucune dépense réelle n'est saisie : pas de coût par résultat.", "missing")]
    contiguous = years == list(range(years[0], years[-1] + 1))
    listed = ", ".join(map(str, years[:-1])) + f" et {years[-1]}"
    span = str(years[0]) if len(years) == 1 else (f"{years[0]}-{years[-1]}" if contiguous else listed)
    words = f"en {years[0]}" if len(years) == 1 else (f"de {years[0]} à {years[-1]}" if contiguous else f"en {listed}")
    by_indicator = kpis.rows_by_indicator(table)

    def delivered(code: str) -> float | None:  # None when a year is missing: a total that skips one is wrong
        got = [r.actual for r in by_indicator[code].yearly if int(r.year) in years]
        return None if len(got) < len(years) or any(pd.isna(v) for v in got) else float(sum(got))

    rows, formulas = [], []
    for fiche in fw.budget.fiches:
        spent = round(sum(float(ex.by_fiche.set_index("fiche")["actual"].get(fiche, 0.0)) for ex in executions), 2)
        main = _main_result(fw, fiche)
        others = [i for i in fw.indicators if i.fiche == fiche and i.kind == "flow" and i is not main]
        other_text = " ; ".join(f"{i.code} : {formatting.quantity(delivered(i.code), i.unit)}" for i in others)
        done = delivered(main.code) if main else None
        one = formatting.quantity(1, main.unit).removeprefix("1 ") if main else ""
        cost = round(spent / done, 2) if done and spent else None
        rows.append(
            [
                f"Fiche {fiche}",
                span,
                formatting.money(spent),
                f"{main.code} {main.short_label} : {formatting.quantity(done, main.unit)}" if main else "—",
                f"{formatting.money(cost)} par {one}" if cost else "—",
                other_text,
            ]
        )
        if cost:
            formulas.append(
                f"{formatting.money(spent)} dépensés sur la fiche {fiche} {words} / "
                f"{formatting.quantity(done, main.unit)} = {formatting.money(cost)} par {one}."
            )
    return [
        Table(
            ["Fiche", "Années", "Dépenses réelles", "Résultat principal", "Coût par résultat", "Autres résultats"],
            rows,
            f"Coût par résultat {span} : dépenses réelles de la fiche (années où elles sont saisies) divisées par "
            "son résultat principal sur les mêmes années ; indicatif, car chaque fiche finance aussi ses autres "
            "résultats, donnés sans coût imputé.",
            [0.8, 0.9, 1.1, 2, 1.4, 2.4],
        ),
        Bullets(formulas),
    ]
