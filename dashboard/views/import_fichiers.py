"""Import: the template, the upload, every error at once (with an annotated copy), the preview of
what the files change, and the confirmation that writes them."""

from __future__ import annotations

import streamlit as st

from dashboard import common
from indicators import exporting, formatting, settings, tables
from indicators.errors import ImportRefused, KpiError
from indicators.importing import import_files

store = common.get_store()
fw = common.framework(store)
common.demo_banner(store)
state = st.session_state
state.setdefault("upload_round", 0)

LAYOUTS = {
    "wide": "indicateurs, une colonne par année",
    "long": "indicateurs, une ligne par indicateur et par année",
    "dépenses": "dépenses réelles (année, poste, partenaire, montant)",
}

st.title("Importer les fichiers des partenaires")
common.require_page("write", "importer des fichiers")


@st.cache_data(show_spinner=False)
def template(sha: str, fmt: str) -> bytes:
    return exporting.template_bytes(fw, fmt)


st.subheader("1. Le modèle à remplir")
st.markdown(
    "Une ligne par indicateur, une colonne par année ; une case vide veut dire « non communiqué », jamais zéro. "
    "Le format « une ligne par indicateur et par année » (colonnes indicateur, année, valeur) est accepté aussi. "
    "Les **dépenses réelles** s'importent ici aussi : un fichier aux colonnes année, poste, partenaire, montant "
    "(et, si besoin, fiche et commentaire) est reconnu à ses colonnes."
)
left, right = st.columns(2)
left.download_button(
    "Télécharger le modèle Excel (.xlsx)",
    template(fw.sha256, "xlsx"),
    file_name="modele_indicateurs.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="template_xlsx",
    icon=":material/download:",
)
right.download_button(
    "Télécharger le modèle CSV",
    template(fw.sha256, "csv"),
    file_name="modele_indicateurs.csv",
    mime="text/csv",
    key="template_csv",
    icon=":material/download:",
)

if done := state.pop("import_done", None):
    st.success(done, icon=":material/check_circle:")
    st.page_link(common.PAGES["synthese"], label="Voir la synthèse", icon=":material/dashboard:")

st.subheader("2. Déposer les fichiers")
if common.has_demo(store, str(store.path)):
    st.warning(
        "Les données d'exemple sont encore chargées : retirez-les (bouton en haut de page) avant d'importer de "
        "vraies données, pour qu'elles ne se mélangent jamais.",
        icon=":material/warning:",
    )
    st.stop()

# Streamlit writes its drop zone's instructions and button in English: say them in French instead.
st.html(
    """<style>
    [data-testid="stFileUploaderDropzoneInstructions"] * { font-size: 0 !important; }
    [data-testid="stFileUploaderDropzoneInstructions"]::before {
        content: "Glissez les fichiers ici, ou cliquez sur « Parcourir »"; font-size: 0.875rem; }
    [data-testid="stFileUploaderDropzone"] button * { font-size: 0 !important; }
    [data-testid="stFileUploaderDropzone"] button::after { content: "Parcourir"; font-size: 0.875rem; }
    </style>"""
)
uploads = st.file_uploader(
    f"Fichiers CSV ou Excel (.xlsx), {formatting.number(float(settings.get('max_file_mb')))} Mo au plus chacun",
    accept_multiple_files=True,
    key=f"upload_{state.upload_round}",
    help="Plusieurs fichiers sont importés ensemble : si l'un d'eux contient une erreur, aucun n'est importé.",
)
if not uploads:
    st.info(
        "Déposez un ou plusieurs fichiers : rien n'est enregistré avant votre confirmation.", icon=":material/info:"
    )
    st.stop()

files = [(f.name, f.getvalue()) for f in uploads]
comment = st.text_input("Commentaire pour le journal (facultatif)", key="import_comment", max_chars=500)
user = common.current_user()

try:
    results = import_files(store, files, user, comment or None, dry_run=True)
except ImportRefused as refused:
    errors = tables.errors_frame(refused)
    st.error(common.plain(f"{refused} Corrigez le fichier puis déposez-le à nouveau."), icon=":material/block:")
    st.dataframe(errors, hide_index=True, width="stretch")
    contents = dict(files)
    for name, file_errors in refused.refusals:
        copy = exporting.annotated_copy(contents.get(name, b""), name, file_errors)
        if copy:
            st.download_button(
                f"Télécharger « {copy[0]} » : le fichier avec ses erreurs en face de chaque ligne",
                copy[1],
                file_name=copy[0],
                key=f"annotated_{name}",
                icon=":material/download:",
            )
    st.stop()
except KpiError as e:
    st.error(common.plain(str(e)), icon=":material/block:")
    st.stop()

st.subheader("3. Vérifier puis confirmer")
for result in results:
    with st.container(border=True):
        st.markdown(f"**{common.plain(result.file_name)}** · {LAYOUTS.get(result.layout, result.layout)}")
        c1, c2, c3 = st.columns(3)
        c1.metric("Nouvelles valeurs", formatting.number(result.added))
        c2.metric("Valeurs modifiées", formatting.number(result.changed))
        c3.metric("Valeurs inchangées", formatting.number(result.unchanged))
        for warning in result.warnings:
            st.warning(warning, icon=":material/warning:")
        if len(result.changes):
            st.dataframe(tables.changes_frame(fw, result), hide_index=True, width="stretch")

total = sum(r.added + r.changed for r in results)
if total == 0:
    st.info("Ces fichiers ne changent aucune valeur : il n'y a rien à importer.", icon=":material/info:")
    st.stop()

if st.button(
    f"Confirmer l'import ({formatting.plural(total, 'valeur')} à enregistrer)", type="primary", key="confirm_import"
):
    try:
        applied = import_files(store, files, user, comment or None)
    except (ImportRefused, KpiError) as e:  # the store changed since the preview: show why, write nothing
        st.error(common.plain(str(e)), icon=":material/block:")
        st.stop()
    common.after_values_write()
    state.pop("import_comment", None)
    state.upload_round += 1
    summary = ", ".join(
        f"« {common.plain(r.file_name)} » : import n° {r.changeset_id} ({formatting.plural(r.added, 'nouvelle')}, "
        f"{formatting.plural(r.changed, 'modifiée')})"
        for r in applied
    )
    state.import_done = f"Import enregistré — {summary}. Il peut être annulé depuis la page Historique."
    st.rerun()
