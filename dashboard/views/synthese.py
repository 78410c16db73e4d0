"""Synthèse: where each target stands for a year and over the period, in plain French."""

from __future__ import annotations

import streamlit as st

from dashboard import common

store = common.get_store()
fw = common.framework(store)
common.demo_banner(store)
values = common.load_values(store, str(store.path))

st.title("Synthèse")
st.caption(fw.title)

if values.empty:
    common.empty_state(
        "Aucune valeur n'est encore enregistrée. Téléchargez le modèle sur la page Import, faites-le remplir par "
        "les partenaires, puis importez-le : les objectifs s'afficheront ici."
    )

latest = common.load_view(store, str(store.path), "latest_year")
choices = [str(y) for y in fw.years] + [fw.period_label]
period = st.segmented_control("Période", choices, default=str(latest), key="synthese_period") or str(latest)
page = common.load_view(store, str(store.path), "synthese", period)

st.caption(page["states"])
when = f"en {period}" if "-" not in period else f"sur {period}"
c1, c3, c2 = st.columns(3)
c1.metric(f"Objectifs atteints {when}", page["met"], help="Objectifs chiffrés dont le taux atteint 100 %.")
if "-" not in period:  # the whole period stays in sight while a year is shown
    c3.metric(
        f"Objectifs de la période {fw.period_label}",
        page["period_met"],
        help="Objectifs fixés sur toute la convention (totaux et « au moins N ») déjà atteints.",
    )
if page["deadline"]:
    c2.metric("Prochaine échéance", page["deadline"][0], help=page["deadline"][2])
    c2.caption(page["deadline"][1])
else:
    c2.metric("Prochaine échéance", "aucune", help="Le calendrier de la convention est terminé.")
    if page["last_deadline"]:
        c2.caption(f"Calendrier terminé ; dernière échéance : {page['last_deadline'][0]}, {page['last_deadline'][1]}.")

for fiche in page["fiches"]:
    st.subheader(fiche["title"])
    st.markdown(f"**{fiche['sentence']}**")
    columns = st.columns(max(1, min(3, len(fiche["cards"]))))
    for i, card in enumerate(fiche["cards"]):
        with columns[i % len(columns)].container(border=True):
            st.metric(card["label"], card["value"], delta=card["delta"])
            st.markdown(card["status"])
            for flag in card["flags"]:
                st.caption(f"⚑ {flag}")
