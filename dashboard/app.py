"""Entry point: `streamlit run dashboard/app.py`. Page configuration and navigation only."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

st.set_page_config(page_title="Convention CNAM – Pays d'Aix", page_icon="📊", layout="wide")

PAGES = Path(__file__).resolve().parent / "pages"
navigation = st.navigation(
    [st.Page(PAGES / "synthese.py", title="Synthèse", icon="📊", default=True)],
)
navigation.run()
