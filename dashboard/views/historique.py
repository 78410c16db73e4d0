"""Historique: the journal of imports and edits, every version of a value, and reverting a change."""

from __future__ import annotations

import streamlit as st

from dashboard import common
from indicators import access, formatting, history
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

st.subheader("Annuler un import ou une saisie")
common.require_page("write", "annuler un import ou une saisie")
if not page["revertable"]:
    st.info("Aucun import ni aucune saisie à annuler.", icon=":material/info:")
    st.stop()
labels = page["revertable"]
target = st.selectbox("Changement à annuler", list(labels), format_func=labels.get, key="revert_target")
try:
    plan = common.load_revert_plan(store, path, int(target))
except KpiError as e:
    st.error(common.plain(str(e)), icon=":material/block:")
    st.stop()
st.markdown(
    f"L'annulation rendra leur valeur précédente à **{formatting.plural(plan.restored, 'valeur')}** et retirera "
    f"**{formatting.plural(plan.withdrawn, 'valeur')}** qui n'existai{'en' if plan.withdrawn > 1 else ''}t pas avant."
)
if len(plan.skipped):
    st.warning(
        f"{formatting.plural(len(plan.skipped), 'valeur')} modifiée(s) depuis par un autre changement "
        "restera(ont) telle(s) quelle(s) : "
        + ", ".join(f"{r.indicator} {r.year} (n° {r.latest_changeset})" for r in plan.skipped.itertuples()),
        icon=":material/warning:",
    )
reason = st.text_input("Raison de l'annulation (obligatoire)", key="revert_reason", max_chars=500)
confirmed = st.checkbox(f"Je confirme l'annulation du changement n° {target}", key="revert_confirm")
if st.button(
    f"Annuler le changement n° {target}",
    type="primary",
    disabled=not (confirmed and reason.strip()),
    key="revert_button",
    help="Cochez la confirmation et indiquez la raison.",
):
    common.write(
        lambda: history.revert(store, int(target), common.current_user(), reason=reason.strip()),
        common.after_values_write,
        lambda done: (
            f"Changement n° {target} annulé (annulation n° {done.changeset_id} : "
            f"{formatting.plural(done.restored, 'valeur')} rétablie(s), {formatting.plural(done.withdrawn, 'valeur')} "
            "retirée(s))."
        ),
        forget=("revert_reason", "revert_confirm"),
    )
