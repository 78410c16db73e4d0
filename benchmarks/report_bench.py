"""Report benchmark: the time to produce the final evaluation report in each format, on demo data.

Chart images are rendered once per report (kaleido, one chromium started once per process) and reused
by the three formats. Goal: the three formats together in under 5 s on this machine. The one-off start
of chromium is printed apart: a server process pays it once, at its first report.
Run: .venv/bin/python benchmarks/report_bench.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from indicators import rendering, reports
    from indicators.demo import load_demo
    from indicators.storage import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.duckdb")
        store.framework()
        load_demo(store)

        start = time.perf_counter()
        rendering._ensure_kaleido()
        warm = reports.build(store, year=2016)
        rendering.render_images(warm)  # the first figure also loads plotly.js in the page
        startup = time.perf_counter() - start

        timings = {}
        start = time.perf_counter()
        model = reports.build(store, final=True)
        timings["modèle (données, tableaux, figures)"] = time.perf_counter() - start
        start = time.perf_counter()
        count = rendering.render_images(model)
        timings[f"images ({count} graphiques, une seule fois)"] = time.perf_counter() - start
        sizes = {}
        start = time.perf_counter()
        html_text = rendering.to_html(model)
        timings["HTML"] = time.perf_counter() - start
        sizes["HTML"] = len(html_text.encode())
        for name, make in (
            ("DOCX", lambda: rendering.to_docx(model)),
            ("PDF", lambda: rendering.to_pdf(model, html_text)),
        ):
            start = time.perf_counter()
            data = make()
            timings[name] = time.perf_counter() - start
            sizes[name] = len(data)
        assert rendering.render_images(model) == 0, "images rendered twice"

    print(f"Démarrage de chromium et de plotly.js (une fois par processus) : {startup:5.2f} s")
    for name, seconds in timings.items():
        size = f"  ({sizes[name] / 1e6:.1f} Mo)" if name in sizes else ""
        print(f"{name:<40} {seconds:5.2f} s{size}")
    total = sum(timings.values())
    verdict = "atteint" if total < 5 else "NON ATTEINT"
    print(f"{'Total des trois formats':<40} {total:5.2f} s (objectif < 5 s : {verdict})")


if __name__ == "__main__":
    main()
