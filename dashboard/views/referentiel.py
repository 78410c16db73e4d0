"""Référentiel: the convention itself, readable by anyone, with the source of every figure."""

from __future__ import annotations

import streamlit as st

from dashboard import common
from indicators import formatting, tables
from indicators.framework import CEILING_LABELS

store = common.get_store()
fw = common.framework(store)
common.demo_banner(store)


@st.cache_data(show_spinner=False)
def frames(sha256: str) -> dict:
    """The framework's tables, built once per version of the framework (`sha256` keys the cache)."""
    out = {f"fiche_{f.number}": tables.indicators_frame(fw, f.number) for f in fw.fiches}
    out["calendar"] = tables.calendar_frame(fw)
    if fw.budget is not None:
        out["budget_lines"] = tables.budget_lines_frame(fw)
        out["budget_fiche"] = tables.budget_fiche_frame(fw)
    return out


built = frames(fw.sha256)

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
        st.dataframe(built[f"fiche_{fiche.number}"], hide_index=True, width="stretch")
    st.subheader("Jalons")
    st.dataframe(common.load_view(store, str(store.path), "milestones_table"), hide_index=True, width="stretch")
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
        st.dataframe(built["budget_lines"], hide_index=True, width="stretch")
        st.subheader("Par fiche action")
        st.dataframe(built["budget_fiche"], hide_index=True, width="stretch")
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
    st.dataframe(built["calendar"], hide_index=True, width="stretch")
