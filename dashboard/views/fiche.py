"""One page per fiche action: objectives, each indicator's charts, explanations, flags, milestones.

`page(number)` gives the callable that `st.navigation` runs for that fiche.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard import common
from indicators import charts, tables, texts
from indicators.kpis import fiche_sentence, latest_year_with_data, rows_by_indicator


def page(number: int) -> Callable[[], None]:
    def fiche_page() -> None:
        render(number)

    fiche_page.__name__ = f"fiche_{number}"
    return fiche_page


def render(number: int) -> None:
    store = common.get_store()
    fw = common.framework(store)
    common.demo_banner(store)
    fiche = fw.fiche(number)
    values = common.load_values(store, str(store.path))
    table = common.kpis(store)
    notes = texts.as_dict(common.load_texts(store, str(store.path)))
    by_indicator = rows_by_indicator(table)

    st.title(f"Fiche {fiche.number}")
    st.subheader(fiche.title, anchor=False)
    st.caption(f"Pilote : {fiche.pilot} · Source : {fiche.source}")
    latest = latest_year_with_data(fw, values)
    if latest is None:
        common.empty_state("Aucune valeur n'est encore enregistrée pour cette convention : les graphiques sont vides.")
    else:
        st.markdown(
            f"**{fiche_sentence(table, number, str(latest))}**  \n**{fiche_sentence(table, number, fw.period_label)}**"
        )
    with st.expander("Objectifs de la fiche", expanded=True):
        st.markdown("\n".join(f"- {common.plain(o)}" for o in fiche.objectives))

    for ind in (i for i in fw.indicators if i.fiche == number):
        st.subheader(f"{ind.code} · {ind.label}", anchor=ind.code.replace(".", "-").lower())
        rows = by_indicator[ind.code]
        figures = charts.indicator_figures(fw, rows, ind.code, titled=False)
        columns = st.columns(len(figures)) if len(figures) > 1 else [st.container()]
        for i, (column, fig) in enumerate(zip(columns, figures, strict=True)):
            with column:
                common.chart(fig, key=f"chart_{ind.code}_{i}")
        if ind.notes:
            st.caption(common.plain(ind.notes))
        for row in rows.yearly:
            explanation = texts.lookup(notes, "explanation", ind.code, int(row.year))
            comment = row.comment if isinstance(row.comment, str) and row.comment else ""
            if explanation or comment:
                lines = [f"**{row.year}**"]
                if explanation:
                    lines.append(common.plain(explanation))
                if comment:
                    lines.append(f"*Commentaire du fichier :* {common.plain(comment)}")
                st.markdown("  \n".join(lines))
        flags = [f for row in (*rows.yearly, *([rows.period] if rows.period else [])) for f in row.flags]
        for flag in dict.fromkeys(flags):
            st.caption(f"⚑ Qualité des données : {flag}")

    fiche_milestones = common.load_milestones(store, str(store.path))
    fiche_milestones = fiche_milestones[[number in f for f in fiche_milestones["fiches"]]]
    if len(fiche_milestones):
        st.subheader("Jalons")
        for m in tables.milestones_frame(fiche_milestones).itertuples(index=False):
            year = f" ({m.Année})" if m.Année else ""
            note = f"  \n{common.plain(m.Note)}" if m.Note else ""
            st.markdown(f"**{m.État}**{year} — {m.Jalon} · {common.plain(m.Intitulé)}{note}")
    if latest is not None and not pd.isna(latest):
        st.page_link(
            common.PAGES["saisie"], label="Expliquer un résultat ou mettre à jour un jalon", icon=":material/edit:"
        )
