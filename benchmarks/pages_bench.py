"""Page benchmark: each page's warm server-side run time (AppTest reruns), on demo data and on a store
100× larger, against a reference page measured in the same run.

The reference emits the same elements as the page — the same figures, metrics, tables, texts and
widgets, in the same containers — all built beforehand from the page's own output, and it stands in
for that page in the app's own navigation: what Streamlit itself costs, which no page can avoid. The ratio page / reference is what
our data work adds. Goal: ≤ 1.5× at demo size, ≤ 2× at 100×.

The larger store: the demo's values replaced by 100 successive imports of every value (3 000 value
versions, 100 journal entries), every explanation written 10 times and every milestone updated 10
times. Run: .venv/bin/python benchmarks/pages_bench.py [--reruns N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = [
    "synthese",
    "fiche-1",
    "fiche-2",
    "fiche-3",
    "budget",
    "formation",
    "import",
    "saisie",
    "historique",
    "audit",
    "rapports",
    "referentiel",
]
BLOCKS = {"main", "flex_container", "column", "tab_container", "tab", "form", "expander", "vertical", "container"}


def run_page(default: str) -> None:
    """The page under test, through the app's own navigation (the body AppTest runs)."""
    from dashboard import common, navigation

    navigation.build(common.framework(common.get_store()), default=default).run()


def run_reference(spec: list, default: str) -> None:
    """The body AppTest runs for the reference: the work is in `reference_page`, imported (compiled once),
    as the real pages are."""
    from benchmarks.pages_bench import reference_page

    reference_page(spec, default)


def reference_page(spec: list, default: str) -> None:
    """Re-emit a page's elements, built beforehand, in place of that page within the app's own navigation
    (so that both runs pay the same navigation)."""
    import streamlit as st

    from dashboard import common, navigation
    from dashboard.views import fiche

    def emit(nodes: list) -> None:
        for kind, payload, children in nodes:
            if kind == "flex_container":
                columns = st.columns(max(1, len(children)))
                for column, child in zip(columns, children, strict=False):
                    with column:
                        emit(child[2])
            elif kind == "tab_container":
                tabs = st.tabs([c[1] or "onglet" for c in children])
                for tab, child in zip(tabs, children, strict=False):
                    with tab:
                        emit(child[2])
            elif kind == "form":
                with st.form(payload):
                    emit(children)
            elif kind == "expander":
                with st.expander(payload or "section", expanded=True):
                    emit(children)
            elif kind in ("column", "tab", "vertical", "container", "main"):
                with st.container():
                    emit(children)
            elif kind in ("title", "subheader", "header", "markdown", "caption") or kind in (
                "info",
                "warning",
                "error",
                "success",
            ):
                getattr(st, kind)(payload)
            elif kind == "metric":
                st.metric(*payload)
            elif kind == "plotly_chart":
                fig, config, key = payload
                st.plotly_chart(fig, theme=None, config=config, key=key)
            elif kind == "dataframe":
                st.dataframe(payload, hide_index=True)
            elif kind == "button":
                label, key, in_form = payload
                (st.form_submit_button(label) if in_form else st.button(label, key=key))
            elif kind == "download_button":
                st.download_button(payload[0], data=payload[1], key=payload[2])
            elif kind == "selectbox":
                st.selectbox(payload[0], payload[1], key=payload[2])
            elif kind == "multiselect":
                st.multiselect(payload[0], payload[1], key=payload[2])
            elif kind == "segmented_control":
                st.segmented_control(payload[0], payload[1], key=payload[2])
            elif kind == "text_input":
                st.text_input(payload[0], value=payload[1], key=payload[2])
            elif kind == "text_area":
                st.text_area(payload[0], value=payload[1], key=payload[2])
            elif kind == "number_input":
                st.number_input(payload[0], value=payload[1], key=payload[2])
            elif kind == "checkbox":
                st.checkbox(payload[0], key=payload[1])
            elif kind == "file_uploader":
                st.file_uploader(payload[0], accept_multiple_files=payload[1], key=payload[2])
            elif kind == "page_link":
                st.page_link(common.PAGES["saisie"], label=payload)

    def reference() -> None:
        emit(spec)

    fw = common.framework(common.get_store())
    if default.startswith("fiche-"):
        number, original = int(default.removeprefix("fiche-")), fiche.page
        fiche.page = lambda n: reference if n == number else original(n)
        try:
            pages = navigation.build(fw, default=default)
        finally:
            fiche.page = original
    else:
        saved = common.PAGES[default]
        common.PAGES[default] = reference
        try:
            pages = navigation.build(fw, default=default)
        finally:
            common.PAGES[default] = saved
    pages.run()


def capture(node, in_form: bool = False, keys: list | None = None) -> list:
    """The page's element tree as (kind, payload, children), with every payload built beforehand."""
    import plotly.graph_objects as go

    keys = [] if keys is None else keys

    def key_of(widget) -> str:
        keys.append(getattr(widget, "key", None) or f"reference_{len(keys)}")
        return keys[-1]

    out = []
    for key in sorted(node.children):
        child = node.children[key]
        kind = getattr(child, "type", "")
        if kind in BLOCKS and hasattr(child, "children"):
            label = getattr(child, "label", None)
            if kind == "form":
                label = child.proto.form.form_id
            out.append((kind, label, capture(child, in_form or kind == "form", keys)))
            continue
        proto = getattr(child, "proto", None)
        if kind in ("title", "subheader", "header", "markdown", "caption", "info", "warning", "error", "success"):
            payload = child.value
        elif kind == "metric":
            payload = (child.label, child.value)
        elif kind == "plotly_chart":
            payload = (go.Figure(json.loads(proto.spec)), json.loads(proto.config), None)
        elif kind == "dataframe":
            payload = child.value
        elif kind == "button":
            payload = (child.label, key_of(child), in_form)
        elif kind == "download_button":
            payload = (child.label, b"x" * 8000, key_of(child))
        elif kind in ("selectbox", "segmented_control", "multiselect"):
            payload = (child.label, list(child.options), key_of(child))
        elif kind == "number_input":
            payload = (child.label, child.value, key_of(child))
        elif kind in ("text_input", "text_area"):
            payload = (child.label, child.value or "", key_of(child))
        elif kind == "checkbox":
            payload = (child.label, key_of(child))
        elif kind == "file_uploader":
            payload = (child.label, child.accept_multiple_files, key_of(child))
        elif kind == "page_link":
            payload = proto.label
        else:
            continue
        out.append((kind, payload, []))
    return out


def timed(tests: list, reruns: int) -> list[float]:
    """Median warm rerun time of each AppTest, in ms; reruns alternate between them so that a slow
    moment of the machine weighs on both alike."""
    for at in tests:
        at.run()
        at.run()  # warm: caches filled, modules imported
    samples: list[list[float]] = [[] for _ in tests]
    for _ in range(reruns):
        for at, out in zip(tests, samples, strict=True):
            start = time.perf_counter()
            at.run()
            out.append(time.perf_counter() - start)
            assert not at.exception, at.exception
    return [statistics.median(s) * 1000 for s in samples]


def make_large(store) -> None:
    from indicators import demo, milestones, texts
    from indicators.importing import import_file

    rng = random.Random(7)
    fw = store.framework()
    for n in range(100):
        lines = ["indicateur;année;valeur"]
        for code, years in demo.DEMO_VALUES.items():
            for year, value in years.items():
                lines.append(f"{code};{year};{max(0, int(value) + rng.randint(-3, 3)) if n < 99 else int(value)}")
        import_file(store, f"envoi_{n:03d}.csv", "\n".join(lines).encode(), "bench")
    for round_ in range(10):
        for ind in fw.indicators:
            for year in fw.years:
                texts.write_text(
                    store, "explanation", f"Explication {round_} de {ind.code} en {year}.", "bench", ind.code, year
                )
        for m in fw.milestones:
            milestones.set_state(store, m.code, ["en_cours", "realise"][round_ % 2], "bench", note=f"Point {round_}")


def keep_compiled_scripts() -> None:
    """A running server compiles each page's script once and keeps it (ScriptCache); AppTest makes a new
    cache for every run, which would charge every rerun of a file page with its compilation. Give AppTest
    one shared cache, as the server has, so that "warm" means what it means in production."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    app_test.ScriptCache = lambda: shared
    local_script_runner.ScriptCache = lambda: shared


def measure(label: str, reruns: int, pages: list[str]) -> list[tuple[str, float, float]]:
    from streamlit.testing.v1 import AppTest

    from dashboard import common

    rows = []
    for page in pages:  # warm the process once (imports, locale data, first-run costs) before measuring
        AppTest.from_function(run_page, args=(page,), default_timeout=60).run()
    for page in pages:
        common.get_store.clear()
        common.load_framework.clear()
        common.after_demo_removal()
        at = AppTest.from_function(run_page, args=(page,), default_timeout=60)
        at.run()
        spec = capture(at.main)
        ref = AppTest.from_function(run_reference, args=(spec, page), default_timeout=60)
        page_ms, ref_ms = timed([at, ref], reruns)
        rows.append((page, page_ms, ref_ms))
        print(
            f"{label:<8} {page:<12} page {page_ms:7.1f} ms   référence {ref_ms:7.1f} ms   ratio {page_ms / ref_ms:5.2f}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=15)
    parser.add_argument("--pages", nargs="*", default=PAGES, help="url paths of the pages to measure")
    parser.add_argument("--only-demo", action="store_true", help="skip the 100× store")
    args = parser.parse_args()
    from streamlit import logger

    logger.set_log_level("error")
    keep_compiled_scripts()
    from indicators.demo import load_demo
    from indicators.storage import Store

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, goal in (("démo", 1.5), ("100×", 2.0))[: 1 if args.only_demo else 2]:
            db = Path(tmp) / f"{label}.duckdb"
            os.environ["KPI_DB"] = str(db)
            store = Store(db)
            store.framework()
            if label == "démo":
                load_demo(store)
            else:
                start = time.perf_counter()
                make_large(store)
                print(f"(magasin 100× construit en {time.perf_counter() - start:.1f} s)")
            rows = measure(label, args.reruns, args.pages)
            worst = max(p / r for _, p, r in rows)
            results[label] = (worst, goal)
    print()
    for label, (worst, goal) in results.items():
        verdict = "atteint" if worst <= goal else "NON ATTEINT"
        print(f"{label:<6} ratio le plus élevé {worst:4.2f} (objectif ≤ {goal:g}) : {verdict}")


if __name__ == "__main__":
    main()
