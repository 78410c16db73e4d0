"""Entry point: `streamlit run dashboard/app.py`. Page configuration and navigation only."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard import common, navigation  # noqa: E402
from indicators import settings  # noqa: E402

st.set_page_config(page_title="Convention CNAM – Pays d'Aix", page_icon=":material/dashboard:", layout="wide")
fw = common.framework(common.get_store())
pages = navigation.build(fw)
with st.sidebar:
    st.caption(fw.short_title)
    common.login_box()
if settings.get("login_to_view") == "1" and common.current_user() is None:
    st.title(fw.short_title)
    st.info("Connectez-vous (menu de gauche) pour consulter le tableau de bord.", icon=":material/lock:")
    st.stop()
pages.run()
