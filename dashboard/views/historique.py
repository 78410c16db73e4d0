"""Historique: the journal of changes, every version of a value, and cancelling or re-establishing a change."""

from __future__ import annotations

import streamlit as st

from dashboard import common
from indicators import access, formatting, history, tables
from indicators.errors import KpiError

store = common.get_store()
fw = common.framework(store)
common.demo_banner(store)
path = str(store.path)
page = common.load_view(store, path, "historique")

st.title("Historique des changements")
common.show_flash()
if page["empty"]:
    common.empty_state("Le journal est vide : aucun fichier n'a encore été importé ni aucune valeur saisie.")
    st.stop()

st.subheader("Journal des imports et des saisies")
st.caption("Le plus récent en premier. Rien n'est jamais effacé : une annulation est elle-même un changement.")
st.dataframe(
    page["journal"],
    hide_index=True,
    width="stretch",
    column_config={"Empreinte SHA-256": st.column_config.TextColumn(width="medium")},
)

st.subheader("Validation des années")
states = common.load_view(store, path, "year_states")
st.dataframe(states, hide_index=True, width="stretch")
left, mid, right = st.columns([1, 2, 2])
y = left.selectbox("Année", fw.years, key="state_year")
reason = mid.text_input("Raison (pour renvoyer ou déverrouiller)", key="state_reason")
actions = {
    "submit": ("Soumettre", "submit", access.submit_year),
    "approve": ("Valider", "approve", access.approve_year),
    "return": ("Renvoyer", "approve", access.return_year),
    "unlock": ("Déverrouiller", "approve", access.unlock_year),
}
with right:
    for key, (label, permission, action) in actions.items():
        if common.allowed(permission) and st.button(label, key=f"year_{key}"):
            args = (store, y, common.current_user()) + ((reason,) if key in ("return", "unlock") else ())
            common.write(
                lambda action=action, args=args: action(*args),
                common.after_values_write,
                lambda _: f"Année {y} : {access.STATES[access.year_states(store)[y][0]]}.",
            )

st.subheader("Historique d'une valeur")
latest = page["latest"]
left, right = st.columns(2)
code = left.selectbox(
    "Indicateur",
    [i.code for i in fw.indicators],
    format_func=lambda c: f"{c} – {fw.indicator(c).short_label}",
    key="history_indicator",
)
year = right.selectbox("Année", fw.years, index=fw.years.index(latest), key="history_year")
versions = common.load_view(store, path, "value_history", code, int(year))
if versions is None:
    st.info(f"Aucune version pour {code} en {year}.", icon=":material/info:")
else:
    st.dataframe(versions, hide_index=True, width="stretch")

st.subheader("Annuler ou rétablir un changement")
common.require_page("write", "annuler ou rétablir un changement")
st.caption(
    "Règle : la valeur en vigueur d'une case est celle du dernier changement non annulé. Annuler ne recopie "
    "aucune valeur : la case reprend celle du changement précédent en vigueur (ou n'a plus de valeur). "
    "Une annulation se rétablit à son tour."
)
choices = {"annuler": page["revertable"], "rétablir": page["reinstatable"]}
mode = st.radio(
    "Action",
    [m for m in choices if choices[m]] or ["annuler"],
    format_func=lambda m: {"annuler": "Annuler un changement en vigueur", "rétablir": "Rétablir un changement annulé"}[
        m
    ],
    horizontal=True,
    key="revert_mode",
)
labels = choices[mode]
if not labels:
    st.info("Aucun import ni aucune saisie à annuler.", icon=":material/info:")
    st.stop()
target = st.selectbox(
    "Changement à annuler" if mode == "annuler" else "Changement à rétablir",
    list(labels),
    format_func=labels.get,
    key=f"revert_target_{mode}",
)
reinstating = mode == "rétablir"
try:
    plan = common.load_revert_plan(store, path, int(target), reinstating)
except KpiError as e:
    st.error(common.plain(str(e)), icon=":material/block:")
    st.stop()
verb = "Le rétablissement" if reinstating else "L'annulation"
st.markdown(common.plain(f"{verb} du changement n° {target} : {plan.summary}."))
st.dataframe(
    tables.cancellation_frame(plan.cells),
    hide_index=True,
    width="stretch",
)
if plan.covered:
    st.info(
        f"{formatting.plural(plan.covered, 'valeur')} reste(nt) telle(s) quelle(s) : un changement plus récent, en "
        "vigueur, la (les) couvre (colonne « Couverte par »).",
        icon=":material/info:",
    )
word = "du rétablissement" if reinstating else "de l'annulation"
reason = st.text_input(f"Raison {word} (obligatoire)", key="revert_reason", max_chars=500)
confirmed = st.checkbox(
    f"Je confirme {'le rétablissement' if reinstating else 'l’annulation'} du changement n° {target}",
    key="revert_confirm",
)
if st.button(
    f"{'Rétablir' if reinstating else 'Annuler'} le changement n° {target}",
    type="primary",
    disabled=not (confirmed and reason.strip()),
    key="revert_button",
    help="Cochez la confirmation et indiquez la raison.",
):
    action = history.reinstate if reinstating else history.revert
    common.write(
        lambda: action(store, int(target), common.current_user(), reason=reason.strip()),
        common.after_ledger_write,
        lambda done: (
            f"Changement n° {target} {'rétabli' if reinstating else 'annulé'} "
            f"({done.action} n° {done.changeset_id} : {done.summary})."
        ),
        forget=("revert_reason", "revert_confirm"),
    )
