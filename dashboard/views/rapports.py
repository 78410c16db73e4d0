"""Rapports: produce the annual report of a year or the final evaluation report, preview it, download it
as Word, PDF or HTML; the texts that go into it are edited on the Saisie page."""

from __future__ import annotations

import streamlit as st

from dashboard import common
from indicators import formatting, rendering, reports
from indicators.errors import KpiError

store = common.get_store()
fw = common.framework(store)
common.demo_banner(store)
state = st.session_state

st.title("Rapports")
common.require_page("report", "produire un rapport")
st.markdown(
    "Le **rapport d'activité** d'une année (rapport moral et financier, à remettre au premier trimestre de "
    f"l'année suivante, art. 7) et le **rapport d'évaluation** {fw.period_label} (premier semestre "
    f"{fw.years[-1] + 1}). Les trois formats disent la même chose : le Word se retouche, le PDF se transmet, "
    "le HTML s'ouvre dans un navigateur sans connexion."
)
choices = {str(y): f"Rapport d'activité {y}" for y in fw.years} | {"final": f"Rapport d'évaluation {fw.period_label}"}
left, right = st.columns(2)
choice = left.selectbox("Rapport", list(choices), format_func=choices.get, index=len(choices) - 1, key="report_choice")
fmt = (
    right.segmented_control(
        "Format",
        list(rendering.FORMATS),
        default="docx",
        format_func={"docx": "Word", "pdf": "PDF", "html": "HTML"}.get,
        key="report_format",
    )
    or "docx"
)
st.page_link(
    common.PAGES["saisie"],
    label="Écrire les explications, les actions prévues et les conclusions qui entrent dans le rapport",
    icon=":material/edit_note:",
)

key = (choice, fmt)
if st.button("Produire le rapport", type="primary", key="make_report"):
    with st.spinner("Production du rapport (les graphiques sont dessinés une fois pour les trois formats)…"):
        try:
            model = reports.build(store, year=None if choice == "final" else int(choice), final=choice == "final")
            html_text = rendering.to_html(model)
            data = html_text.encode("utf-8") if fmt == "html" else rendering.render(model, fmt)
        except KpiError as e:
            st.error(common.plain(str(e)), icon=":material/block:")
            st.stop()
    state.report = {"key": key, "name": f"{model.stem}.{fmt}", "data": data, "html": html_text, "title": model.title}

made = state.get("report")
if made and made["key"] == key:
    st.download_button(
        f"Télécharger « {made['name']} » ({formatting.number(len(made['data']) / 1000, 0)} ko)",
        made["data"],
        file_name=made["name"],
        mime=rendering.MIME[fmt],
        key="download_report",
        icon=":material/download:",
        type="primary",
    )
    st.subheader("Aperçu")
    # The report's HTML has every user text escaped and a Content-Security-Policy that forbids scripts.
    st.iframe(made["html"], height=900)
else:
    st.info("Choisissez le rapport et le format, puis « Produire le rapport ».", icon=":material/info:")
