"""Synthèse: where each target stands for a year and over the period, in plain French."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import streamlit as st

from dashboard import common
from indicators import formatting
from indicators.kpis import TARGET_KIND_LABELS, fiche_sentence, latest_year_with_data, share_met

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

latest = latest_year_with_data(fw, values) or fw.years[0]
choices = [str(y) for y in fw.years] + [fw.period_label]
period = st.segmented_control("Période", choices, default=str(latest), key="synthese_period") or str(latest)
table = common.kpis(store)
rows = table[(table["period"] == period) & (table["status"] != "sans_objectif")]

met, total = share_met(table, period)
when = f"en {period}" if "-" not in period else f"sur {period}"
c1, c3, c2 = st.columns(3)
c1.metric(f"Objectifs atteints {when}", f"{met} sur {total}", help="Objectifs chiffrés dont le taux atteint 100 %.")
if "-" not in period:  # the whole period stays in sight while a year is shown
    period_met, period_total = share_met(table, fw.period_label)
    c3.metric(
        f"Objectifs de la période {fw.period_label}",
        f"{period_met} sur {period_total}",
        help="Objectifs fixés sur toute la convention (totaux et « au moins N ») déjà atteints.",
    )
deadline = fw.next_deadline(dt.date.today())
if deadline:
    c2.metric("Prochaine échéance", formatting.date(deadline[0]), help=deadline[2])
    c2.caption(deadline[1])
else:
    last = fw.deadlines()[-1] if fw.deadlines() else None
    c2.metric("Prochaine échéance", "aucune", help="Le calendrier de la convention est terminé.")
    if last:
        c2.caption(f"Calendrier terminé ; dernière échéance : {last[1]}, {formatting.date(last[0])}.")

cards = [SimpleNamespace(**r) for r in rows.to_dict("records")]
for fiche in fw.fiches:
    st.subheader(f"Fiche {fiche.number} — {fiche.title}")
    st.markdown(f"**{fiche_sentence(table, fiche.number, period)}**")
    fiche_rows = [r for r in cards if r.fiche == fiche.number]
    columns = st.columns(max(1, min(3, len(fiche_rows))))
    for i, r in enumerate(fiche_rows):
        target = formatting.number(r.target)
        if r.target_kind == "minimum":
            target = "au moins " + target
        with columns[i % len(columns)].container(border=True):
            delta = None
            if r.year is not None and r.change_vs_previous == r.change_vs_previous:
                sign = "+" if r.change_vs_previous > 0 else ""
                delta = f"{sign}{formatting.number(r.change_vs_previous)} sur un an"
            st.metric(f"{r.short_label} ({r.indicator})", formatting.quantity(r.actual, r.unit), delta=delta)
            st.markdown(
                f"{common.status_badge(r.status)} **{formatting.percent(r.rate)}** de l'objectif "
                f"({target}, {TARGET_KIND_LABELS.get(r.target_kind, '')})"
            )
            for flag in r.flags:
                st.caption(f"⚑ {flag}")
