from __future__ import annotations

from pathlib import Path

import pytest

from indicators.framework import load_framework
from indicators.importing import import_file
from indicators.storage import Store

DATA = Path(__file__).parent / "data"
SMALL = DATA / "small_convention.toml"


@pytest.fixture
def store(tmp_path) -> Store:
    """A fresh store on the real convention."""
    s = Store(tmp_path / "kpi.duckdb", lock_timeout=2)
    s.load_framework(load_framework(), "test")
    return s


@pytest.fixture
def small_store(tmp_path) -> Store:
    s = Store(tmp_path / "small.duckdb", lock_timeout=2)
    s.load_framework(load_framework(SMALL), "test")
    return s


def imp(store: Store, text: str, name: str = "f.csv", encoding: str = "utf-8", **kwargs):
    """Import CSV text written in `encoding`."""
    return import_file(store, name, text.encode(encoding), "test", **kwargs)


def snapshot(store: Store) -> dict:
    """Everything a write could change, to prove that a refused write changed nothing."""
    with store.connect() as con:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("changesets", "value_versions", "frameworks", "audit")
        }
