"""View models: everything a page shows — numbers, sentences, tables, figures as Plotly JSON — computed from
the store in one function per page. `common.load_view` caches them until a write makes them stale, so
that a page run only draws (the page benchmark compares that drawing with Streamlit's own cost).

No Streamlit call here: these are plain functions over `indicators`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard import common
from indicators import charts, formatting, tables, texts
from indicators.kpis import TARGET_KIND_LABELS, fiche_sentence, latest_year_with_data, rows_by_indicator, share_met


def fiche(store, number: int) -> dict:
    """Everything the page shows, computed from the store (cached in `common.load_view` until a write)."""
    fw = common.framework(store)
    path = str(store.path)
    values = common.load_values(store, path)
    table = common.kpis(store)
    notes = texts.as_dict(common.load_texts(store, path))
    by_indicator = rows_by_indicator(table)
    latest = latest_year_with_data(fw, values)
    indicators = []
    for ind in (i for i in fw.indicators if i.fiche == number):
        rows = by_indicator[ind.code]
        notes_by_year = []
        for row in rows.yearly:
            explanation = texts.lookup(notes, "explanation", ind.code, int(row.year))
            comment = row.comment if isinstance(row.comment, str) and row.comment else ""
            if explanation or comment:
                lines = [f"**{row.year}**"]
                if explanation:
                    lines.append(common.plain(explanation))
                if comment:
                    lines.append(f"*Commentaire du fichier :* {common.plain(comment)}")
                notes_by_year.append("  \n".join(lines))
        flags = [f for row in (*rows.yearly, *([rows.period] if rows.period else [])) for f in row.flags]
        indicators.append(
            {
                "code": ind.code,
                "label": ind.label,
                "notes": common.plain(ind.notes) if ind.notes else "",
                "figures": [
                    (charts.finding_of(f), f) for f in charts.indicator_figures(fw, rows, ind.code, titled=False)
                ],
                "explanations": notes_by_year,
                "flags": list(dict.fromkeys(flags)),
            }
        )
    milestones = common.load_milestones(store, path)
    milestones = milestones[[number in f for f in milestones["fiches"]]]
    return {
        "latest": latest,
        "sentences": [fiche_sentence(table, number, str(latest)), fiche_sentence(table, number, fw.period_label)]
        if latest is not None
        else [],
        "indicators": indicators,
        "milestones": [
            f"**{m.État}**"
            + (f" ({m.Année})" if m.Année else "")
            + f" — {m.Jalon} · {common.plain(m.Intitulé)}"
            + (f"  \n{common.plain(m.Note)}" if m.Note else "")
            for m in tables.milestones_frame(milestones).itertuples(index=False)
        ],
    }


def synthese(store, period: str) -> dict:
    """The Synthèse of a year or of the period: the share of targets met, the next deadline, one card per
    quantified indicator (formatted), one sentence per fiche."""
    fw = common.framework(store)
    table = common.kpis(store)
    met, total = share_met(table, period)
    period_met, period_total = share_met(table, fw.period_label)
    deadline = fw.next_deadline(dt.date.today())
    deadlines = fw.deadlines()
    rows = table[(table["period"] == period) & (table["status"] != "sans_objectif")]
    fiches = []
    for fiche_ in fw.fiches:
        cards = []
        for r in (r for r in rows.itertuples(index=False) if r.fiche == fiche_.number):
            target = formatting.number(r.target)
            if r.target_kind == "minimum":
                target = "au moins " + target
            delta = None
            if r.year is not None and r.change_vs_previous == r.change_vs_previous:
                sign = "+" if r.change_vs_previous > 0 else ""
                delta = f"{sign}{formatting.number(r.change_vs_previous)} sur un an"
            cards.append(
                {
                    "label": f"{r.short_label} ({r.indicator})",
                    "value": formatting.quantity(r.actual, r.unit),
                    "delta": delta,
                    "status": common.status_badge(r.status)
                    + f" **{formatting.percent(r.rate)}** de l'objectif ({target}, {TARGET_KIND_LABELS.get(r.target_kind, '')})",
                    "flags": list(r.flags),
                }
            )
        fiches.append(
            {
                "title": f"Fiche {fiche_.number} — {fiche_.title}",
                "sentence": fiche_sentence(table, fiche_.number, period),
                "cards": cards,
            }
        )
    from indicators import access

    states = access.year_states(store)
    return {
        "states": "Validation des chiffres : " + " · ".join(f"{y} {access.STATES[s[0]]}" for y, s in states.items()),
        "met": f"{met} sur {total}",
        "period_met": f"{period_met} sur {period_total}",
        "deadline": (formatting.date(deadline[0]), deadline[1], deadline[2]) if deadline else None,
        "last_deadline": (deadlines[-1][1], formatting.date(deadlines[-1][0])) if deadlines else None,
        "fiches": fiches,
    }


def latest_year(store) -> int:
    fw = common.framework(store)
    return latest_year_with_data(fw, common.load_values(store, str(store.path))) or fw.years[0]


def budget_default_year(store) -> int:
    """The latest year with actual spending (else the first year): where the Budget page opens."""
    fw = common.framework(store)
    _, actual, _ = common.load_budget(store, str(store.path))
    years = sorted(int(y) for y in actual["year"].unique()) if len(actual) else []
    return years[-1] if years else fw.years[0]


def budget(store, year: int) -> dict:
    """The Budget page of a year: execution, subsidy, warnings, tables, figures, amendments, payments."""
    from indicators import budget as budget_core

    fw = common.framework(store)
    plan, actual, payments = common.load_budget(store, str(store.path))
    ex = budget_core.execution(fw, plan, actual, year)
    sub = budget_core.subsidy(fw, plan, actual, payments, year)
    amended = plan[(plan["year"] == year) & plan["amended"]]
    year_payments = payments[payments["year"] == year] if len(payments) else payments
    figures = {
        "waterfall": charts.subsidy_waterfall(sub, titled=False),
        "by_fiche": charts.budget_fiche_chart(ex, titled=False),
        "by_line": charts.budget_lines_chart(ex, titled=False),
    }
    return {
        "execution": ex,
        "subsidy": sub,
        "warnings": [*ex.warnings, *budget_core.convention_warnings(fw, plan, actual)],
        "lines": tables.execution_lines_frame(ex, fw.budget.parties),
        "summary": tables.execution_summary_frame(ex),
        "formula": "\n".join(f"- {common.plain(line)}" for line in sub.formula),
        "figures": {k: (charts.finding_of(f), f) for k, f in figures.items()},
        "amended": " ; ".join(
            f"{r.label} ({r.party}) {formatting.money(r.amount)} — {common.plain(r.reason)}"
            for r in amended.itertuples()
        ),
        "payments": tables.payments_table(year_payments) if len(year_payments) else None,
        "payment_choices": {
            int(r.id): f"n° {r.id} – {budget_core.PAYMENT_KINDS.get(r.kind, r.kind)} de "
            f"{formatting.money(r.amount)} du {formatting.date(pd.Timestamp(r.paid_on).date(), long=False)}"
            for r in year_payments.itertuples(index=False)
        }
        if len(year_payments)
        else {},
        "cancelled_payments": {int(r.id) for r in year_payments.itertuples(index=False) if r.cancelled}
        if len(year_payments)
        else set(),
    }


def saisie(store) -> dict:
    """What the Saisie page looks up as the user picks an indicator and a year: the current value, the
    KPI of that year, the texts, the milestones (a page run then only does dictionary lookups)."""
    fw = common.framework(store)
    path = str(store.path)
    values = common.load_values(store, path)
    units = {i.code: i.unit for i in fw.indicators}
    current = {
        (
            r.indicator,
            int(r.year),
        ): f"Valeur actuelle : **{formatting.quantity(r.value, units.get(r.indicator, ''))}** — "
        f"{common.plain(r.user_name)}, {formatting.timestamp(r.recorded_at.to_pydatetime())}"
        for r in values.itertuples(index=False)
    }
    table = common.kpis(store)
    captions = {}
    for r in table[table["year"].notna()].itertuples(index=False):
        target = formatting.number(r.target) if r.target == r.target else "pas d'objectif"
        captions[(r.indicator, int(r.year))] = (
            f"{r.year} : réalisé {formatting.number(r.actual)}, objectif {target}, {tables.status_text(r.status)}"
        )
    milestones = common.load_milestones(store, path)
    return {
        "latest": latest_year_with_data(fw, values) or fw.years[0],
        "current": current,
        "captions": captions,
        "texts": texts.as_dict(common.load_texts(store, path)),
        "milestones": milestones,
        "milestones_frame": tables.milestones_frame(milestones),
    }


def historique(store) -> dict:
    """The journal as a table, the changes in force that can be cancelled and the cancelled ones that can
    be re-established, with their labels."""
    journal = common.load_journal(store, str(store.path))
    changes = journal[journal["kind"].isin(["import", "edit"])]

    def labels(frame) -> dict[int, str]:
        return {
            int(row.id): f"n° {row.id} – "
            + (f"import de « {row.file_name} »" if row.kind == "import" else "saisie")
            + f" ({tables.DOMAIN_LABELS.get(row.domain, row.domain)})"
            + f" par {row.user_name}, le {formatting.timestamp(row.created_at.to_pydatetime())}"
            for row in frame.itertuples(index=False)
        }

    return {
        "empty": journal.empty,
        "journal": tables.journal_frame(journal),
        "latest": latest_year(store),
        "revertable": labels(changes[changes["state"] == "applied"]),
        "reinstatable": labels(changes[changes["state"] == "reverted"]),
    }


def milestones_table(store) -> object:
    return tables.milestones_frame(common.load_milestones(store, str(store.path)))


def training_records(store):
    """The training's yearly records as a table (None when no year is recorded)."""
    fw = common.framework(store)
    records = common.load_training(store, str(store.path))
    return None if records.empty else tables.training_records_frame(records, fw.training.partners)


def training_economics(store, values: tuple) -> object:
    """The calculator's result for one set of assumptions ((name, value) pairs)."""
    from indicators import training

    return training.economics(common.framework(store), **dict(values))


def value_history(store, code: str, year: int):
    """Every version of one value as a table (None when it has none)."""
    versions = common.load_value_history(store, str(store.path), code, int(year))
    return None if versions.empty else tables.value_history_frame(versions)


def audit(store):
    """The activity journal as a table, with the raw user and action kept for the filters."""
    from indicators import history

    log = common.load_activity(store, str(store.path))
    return {
        "users": sorted(log["user_name"].unique()),
        "actions": sorted(log["action"].unique()),
        "labels": dict(history.ACTION_LABELS),
        "table": log.assign(Le=[formatting.timestamp(t.to_pydatetime()) for t in log["logged_at"]])[
            ["Le", "user_name", "summary", "details", "action"]
        ].rename(columns={"user_name": "Par", "summary": "Action", "details": "Détails"}),
    }


def year_states(store):
    """Each year's approval state as a table."""
    import pandas as pd

    from indicators import access

    rows = []
    for year, (state, reason, who, when) in access.year_states(store).items():
        rows.append(
            {
                "Année": str(year),
                "État": access.STATES[state],
                "Par": who or "",
                "Le": formatting.timestamp(when) if when else "",
                "Raison": reason or "",
            }
        )
    return pd.DataFrame(rows)
