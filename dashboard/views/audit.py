"""Journal d'audit: every write (imports, edits, reverts, texts, milestones, budget, restores), filterable."""

from __future__ import annotations

import streamlit as st

from dashboard import common
from indicators import formatting

store = common.get_store()
common.demo_banner(store)

st.title("Journal d'audit")
st.caption("Toutes les écritures dans le magasin, la plus récente en premier. Rien ne s'y efface.")
page = common.load_view(store, str(store.path), "audit")
table = page["table"]
if table.empty:
    st.info("Le journal est vide.", icon=":material/info:")
    st.stop()
left, right = st.columns(2)
users = left.multiselect("Personnes", page["users"], key="audit_users")
actions = right.multiselect(
    "Actions", page["actions"], format_func=lambda a: page["labels"].get(a, a), key="audit_actions"
)
shown = table
if users:
    shown = shown[shown["Par"].isin(users)]
if actions:
    shown = shown[shown["action"].isin(actions)]
st.caption(f"{formatting.plural(len(shown), 'entrée')} sur {formatting.number(len(table))}.")
st.dataframe(shown, hide_index=True, width="stretch", column_order=["Le", "Par", "Action", "Détails"])
