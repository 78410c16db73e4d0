"""Journal d'audit: every write (imports, edits, reverts, texts, milestones, budget, restores), filterable."""

from __future__ import annotations

import streamlit as st

from dashboard import common
from indicators import formatting, history

store = common.get_store()
common.demo_banner(store)

st.title("Journal d'audit")
st.caption("Toutes les écritures dans le magasin, la plus récente en premier. Rien ne s'y efface.")
log = common.load_activity(store, str(store.path))
if log.empty:
    st.info("Le journal est vide.", icon=":material/info:")
    st.stop()
left, right = st.columns(2)
users = left.multiselect("Personnes", sorted(log["user_name"].unique()), key="audit_users")
actions = right.multiselect(
    "Actions",
    sorted(log["action"].unique()),
    format_func=lambda a: history.ACTION_LABELS.get(a, a),
    key="audit_actions",
)
shown = log
if users:
    shown = shown[shown["user_name"].isin(users)]
if actions:
    shown = shown[shown["action"].isin(actions)]
st.caption(f"{formatting.plural(len(shown), 'entrée')} sur {formatting.number(len(log))}.")
table = shown.assign(
    Le=[formatting.timestamp(t.to_pydatetime()) for t in shown["logged_at"]],
)[["Le", "user_name", "summary", "details"]].rename(
    columns={"user_name": "Par", "summary": "Action", "details": "Détails"}
)
st.dataframe(table, hide_index=True, width="stretch")
