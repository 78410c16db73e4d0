"""Référentiel: the convention itself, readable by anyone, with the source of every figure."""

from __future__ import annotations

import streamlit as st

from dashboard import common
from indicators import formatting, tables
from indicators.framework import CEILING_LABELS

store = common.get_store()
fw = store.framework()
common.demo_banner(store)

st.title("La convention")
st.markdown(f"**{common.plain(fw.title)}**")
signed = f", signée le {formatting.date(fw.signed)}" if fw.signed else ""
st.caption(f"{common.plain(fw.source)}{signed}. Période : {fw.period_label}.")
st.markdown("Parties : " + " ; ".join(common.plain(p) for p in fw.parties) + ".")

fiche_tab, budget_tab, calendar_tab = st.tabs(["Fiches action et indicateurs", "Budget et subvention", "Calendrier"])

with fiche_tab:
    for fiche in fw.fiches:
        st.subheader(f"Fiche {fiche.number} — {fiche.title}")
        st.caption(f"Pilote : {fiche.pilot} · Source : {fiche.source}")
        st.markdown("\n".join(f"- {common.plain(o)}" for o in fiche.objectives))
        st.dataframe(tables.indicators_frame(fw, fiche.number), hide_index=True, width="stretch")
    st.subheader("Jalons")
    st.dataframe(
        tables.milestones_frame(common.load_milestones(store, str(store.path))), hide_index=True, width="stretch"
    )
    st.caption(
        f"Statuts : atteint à partir de {formatting.percent(fw.status.reached)} de l'objectif, partiel à partir de "
        f"{formatting.percent(fw.status.partial)}, insuffisant en dessous. Une valeur est signalée « à vérifier » "
        f"au-delà de {formatting.number(fw.status.high_factor)} fois son objectif ou en dessous de "
        f"{formatting.percent(fw.status.low_baseline_factor)} de sa référence."
    )

with budget_tab:
    if fw.budget is None:
        st.info("Ce référentiel ne décrit pas de budget.", icon=":material/info:")
    else:
        st.markdown(f"Budget annuel : **{formatting.euros(fw.budget.total)}** ({common.plain(fw.budget.source)}).")
        st.subheader("Par poste et par partenaire")
        st.dataframe(tables.budget_lines_frame(fw), hide_index=True, width="stretch")
        st.subheader("Par fiche action")
        st.dataframe(tables.budget_fiche_frame(fw), hide_index=True, width="stretch")
    if fw.subsidy is not None and fw.cash_subsidy is not None:
        s = fw.subsidy
        ceilings = s.ceilings
        st.subheader("Subvention")
        st.markdown(
            "\n".join(
                [
                    f"- Subvention en numéraire de {common.plain(s.payer)} : **{formatting.euros(fw.cash_subsidy)}** "
                    f"par an (sa part de {formatting.euros(fw.budget.by_party()[s.payer])} moins "
                    f"{formatting.euros(fw.budget.in_kind(s.payer))} apportés en nature).",
                    f"- Versée à {formatting.percent(s.advance_share)} à la notification, soit "
                    f"{formatting.euros(fw.cash_subsidy * s.advance_share)}, et {formatting.percent(s.balance_share)} "
                    f"sur le rapport moral et financier, soit {formatting.euros(fw.cash_subsidy * s.balance_share)}"
                    + (" ; au prorata si les dépenses réalisées sont inférieures au prévu." if s.prorata else "."),
                    *[
                        f"- Plafond : {CEILING_LABELS.get(k, common.plain(k))}, au plus {formatting.euros(v)}."
                        for k, v in ceilings.items()
                    ],
                ]
            )
        )
        st.caption(common.plain(s.source))

with calendar_tab:
    st.dataframe(tables.calendar_frame(fw), hide_index=True, width="stretch")
