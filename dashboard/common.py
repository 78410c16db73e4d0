"""What every page shares: the store (one cached Store object, never an open connection), cached
reads that writes clear, and the demo banner."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from indicators import demo, history, settings
from indicators.storage import Store


@st.cache_resource
def get_store() -> Store:
    """One Store per server process; it opens a connection per unit of work, so the CLI can write too."""
    return Store(settings.get("db"))


@st.cache_data(ttl=30, show_spinner=False)
def load_values(_store: Store, db_path: str) -> pd.DataFrame:
    """Current values (cleared by every write the dashboard makes; `db_path` keys the cache)."""
    return history.current_values(_store)


@st.cache_data(ttl=30, show_spinner=False)
def has_demo(_store: Store, db_path: str) -> bool:
    return _store.has_demo()


def demo_banner(store: Store) -> None:
    """The « DONNÉES D'EXEMPLE » banner with the action that removes them, on every page."""
    if not has_demo(store, str(store.path)):
        return
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.warning(f"**{demo.DEMO_LABEL}** — les chiffres affichés sont fictifs, pour découvrir l'outil.", icon="⚠️")
    if right.button("Retirer les données d'exemple", key="remove_demo", type="secondary"):
        n = demo.remove_demo(store, settings.default_user())
        load_values.clear()
        has_demo.clear()
        st.toast(f"Données d'exemple retirées ({n} valeurs).")
        st.rerun()
