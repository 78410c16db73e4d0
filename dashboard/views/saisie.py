"""Saisie et commentaires: correct or enter a value (a reason is required), explain a year's result,
write the actions planned and the conclusions, update a milestone."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import common
from indicators import milestones, texts
from indicators.importing import record_value

store = common.get_store()
fw = common.framework(store)
common.demo_banner(store)
path = str(store.path)
page = common.load_view(store, path, "saisie")
user = common.current_user()
codes = [i.code for i in fw.indicators]
labels = {i.code: f"{i.code} – {i.short_label}" for i in fw.indicators}
latest = page["latest"]

st.title("Saisie et commentaires")
if not common.allowed("conclude"):
    common.require_page("write", "saisir ou commenter")
st.caption(f"Chaque modification est enregistrée au journal à votre nom ({user}) et peut être annulée.")
common.show_flash()
if common.has_demo(store, path):
    st.warning(
        "Les données d'exemple sont chargées : retirez-les (bouton en haut de page) avant de saisir de vraies "
        "valeurs ou de vrais commentaires.",
        icon=":material/warning:",
    )

tab_value, tab_explain, tab_actions, tab_milestones = st.tabs(
    ["Corriger une valeur", "Expliquer un résultat", "Actions et conclusions", "Jalons"]
)

with tab_value:
    if not common.refused("write", "corriger une valeur"):
        left, right = st.columns(2)
        code = left.selectbox("Indicateur", codes, format_func=labels.get, key="edit_indicator")
        year = right.selectbox("Année", fw.years, index=fw.years.index(latest), key="edit_year")
        ind = fw.indicator(code)
        st.markdown(page["current"].get((code, year), "Aucune valeur enregistrée pour cette année."))
        # A container, not a form: the typed value is read and echoed (« Nombre lu : … ») before it is saved.
        with st.container(border=True):
            new_value = common.number_field(
                st, f"Nouvelle valeur ({ind.unit})", "edit_new_value", money=False, whole=ind.whole, unit=ind.unit
            )
            comment = st.text_input(
                "Commentaire de la valeur (facultatif, repris dans les exports)", key="edit_comment"
            )
            reason = st.text_area("Raison de la modification (obligatoire)", key="edit_reason", max_chars=1000)
            submitted = st.button("Enregistrer la valeur", type="primary", key="save_value")
        if submitted:
            common.write(
                lambda: record_value(store, code, year, new_value.text, user, reason, comment or None),
                common.after_values_write,
                lambda result: f"Valeur enregistrée (changement n° {result.changeset_id}).",
                unchanged="Cette valeur était déjà enregistrée : rien n'a changé.",
                forget=("edit_new_value", "edit_comment", "edit_reason"),
            )

with tab_explain:
    if not common.refused("write", "expliquer un résultat"):
        st.markdown(
            "L'explication d'un résultat (un retard, un report, un dépassement) figure sur la page de la fiche et "
            "dans les rapports."
        )
        left, right = st.columns(2)
        code = left.selectbox("Indicateur", codes, format_func=labels.get, key="explain_indicator")
        year = right.selectbox("Année", fw.years, index=fw.years.index(latest), key="explain_year")
        st.caption(page["captions"][(code, year)])
        notes = page["texts"]
        body = st.text_area(
            "Explication",
            value=texts.lookup(notes, "explanation", code, year),
            key=f"explain_text_{code}_{year}",
            height=150,
            max_chars=texts.MAX_CHARS,
        )
        if st.button("Enregistrer l'explication", key="save_explanation", type="primary"):
            common.write(
                lambda: texts.write_text(store, "explanation", body, user, indicator=code, year=year),
                common.after_text_write,
                "Explication enregistrée.",
            )

with tab_actions:
    notes = page["texts"]
    year = st.selectbox("Année du rapport", fw.years, index=fw.years.index(latest), key="actions_year")
    actions = st.text_area(
        f"Actions prévues pour {year + 1} (rapport moral et financier {year})",
        value=texts.lookup(notes, "next_actions", None, year),
        key=f"actions_text_{year}",
        height=150,
        max_chars=texts.MAX_CHARS,
    )
    if st.button("Enregistrer les actions prévues", key="save_actions", type="primary"):
        common.write(
            lambda: texts.write_text(store, "next_actions", actions, user, year=year),
            common.after_text_write,
            "Actions prévues enregistrées.",
        )
    conclusions = st.text_area(
        f"Conclusions de l'évaluation finale {fw.period_label}",
        value=texts.lookup(notes, "conclusions"),
        key="conclusions_text",
        height=200,
        max_chars=texts.MAX_CHARS,
    )
    if st.button("Enregistrer les conclusions", key="save_conclusions", type="primary"):
        common.write(
            lambda: texts.write_text(store, "conclusions", conclusions, user),
            common.after_text_write,
            "Conclusions enregistrées.",
        )

with tab_milestones:
    if not common.refused("write", "mettre à jour un jalon"):
        table = page["milestones"]
        st.dataframe(page["milestones_frame"], hide_index=True, width="stretch")
        by_code = table.set_index("code")
        code = st.selectbox(
            "Jalon", list(by_code.index), format_func=lambda c: f"{c} – {by_code.loc[c, 'label']}", key="milestone_code"
        )
        states = list(milestones.STATES)
        left, right = st.columns(2)
        state = left.selectbox(
            "État",
            states,
            index=states.index(by_code.loc[code, "state"]),
            format_func=lambda s: f"{milestones.STATES[s][1]} {milestones.STATES[s][0]}",
            key=f"milestone_state_{code}",
        )
        years = [None, *fw.years]
        current_year = by_code.loc[code, "year"]
        when = right.selectbox(
            "Année de réalisation (ou d'abandon)",
            years,
            index=years.index(int(current_year)) if pd.notna(current_year) else 0,
            format_func=lambda y: "—" if y is None else str(y),
            key=f"milestone_year_{code}",
        )
        note = st.text_input(
            "Note (facultative)",
            value=by_code.loc[code, "note"] if isinstance(by_code.loc[code, "note"], str) else "",
            key=f"milestone_note_{code}",
            max_chars=milestones.MAX_NOTE,
        )
        if st.button("Mettre à jour le jalon", key="save_milestone", type="primary"):
            common.write(
                lambda: milestones.set_state(store, code, state, user, year=when, note=note),
                common.after_milestone_write,
                f"Jalon {code} mis à jour.",
            )
