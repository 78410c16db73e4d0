"""AppTest of every page, on an empty store and on demo data."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from indicators.demo import load_demo
from indicators.storage import Store

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.fixture
def app(tmp_path, monkeypatch):
    db = tmp_path / "app.duckdb"
    monkeypatch.setenv("KPI_DB", str(db))

    def make(with_demo: bool) -> AppTest:
        store = Store(db)
        store.framework()
        if with_demo:
            load_demo(store)
        at = AppTest.from_file(APP, default_timeout=30)
        at.run()
        assert not at.exception, at.exception
        return at

    yield make
    from dashboard.common import get_store, has_demo, load_values

    get_store.clear()
    load_values.clear()
    has_demo.clear()


def test_synthese_on_an_empty_store(app):
    at = app(with_demo=False)
    assert "Aucune valeur n'est encore enregistrée" in at.info[0].value
    assert at.metric[0].value == "0 sur 6"  # the six targets of 2016
    assert not at.warning


def test_synthese_on_demo_data(app):
    at = app(with_demo=True)
    assert "DONNÉES D'EXEMPLE" in at.warning[0].value
    labels = [m.label for m in at.metric]
    assert "ARDAN (F1.1)" in labels
    ardan = next(m for m in at.metric if m.label == "ARDAN (F1.1)")
    assert ardan.value == "85 entreprises"  # 2018, the latest year with data
    assert "**Fiche 1 : 1 objectif sur 2 atteint en 2018**" in [m.value for m in at.markdown]
    at.button(key="remove_demo").click().run()
    assert not at.exception
    assert not at.warning
    assert "Aucune valeur n'est encore enregistrée" in at.info[0].value
