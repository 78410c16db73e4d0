"""Entry point: `streamlit run dashboard/app.py`. Page configuration and navigation only."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard import common, navigation  # noqa: E402

st.set_page_config(page_title="Convention CNAM – Pays d'Aix", page_icon=":material/dashboard:", layout="wide")
fw = common.framework(common.get_store())
pages = navigation.build(fw)
with st.sidebar:
    st.caption(fw.short_title)
    st.caption(f"Utilisateur : {common.current_user()}")
pages.run()
