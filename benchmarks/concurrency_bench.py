"""Concurrency benchmark: N dashboard sessions reading pages while imports run, in another process (the
`kpi` command) and in a dashboard process (hand entries), against the same DuckDB store.

Each session is its own process running the app's pages (AppTest), so that every session competes for
the store's file lock as a separate server would — harsher than one server's threads, which share the
cached reads.

Prints the page throughput, the median and 95th-percentile page times, the writes attempted, applied,
failed (with the reason) and lost. A lost write (reported applied but absent from the store) must
never happen; a failed one must say why (the store stayed busy longer than KPI_LOCK_TIMEOUT).
Run: .venv/bin/python benchmarks/concurrency_bench.py [--sessions 4] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PAGES = ["synthese", "fiche-1", "budget", "historique", "audit"]


def run_page(default: str) -> None:
    from dashboard import common, navigation

    navigation.build(common.framework(common.get_store()), default=default).run()


def session(index: int, seconds: float, results) -> None:
    """One dashboard session: its own process, going round the pages until the time is up."""
    from streamlit import config, logger

    logger.set_log_level("error")
    config.set_option("client.showErrorDetails", "full")
    from streamlit.testing.v1 import AppTest

    from benchmarks.pages_bench import keep_compiled_scripts

    keep_compiled_scripts()
    tests = {p: AppTest.from_function(run_page, args=(p,), default_timeout=60) for p in PAGES}
    times, errors = [], []
    stop = time.monotonic() + seconds
    n = index
    while time.monotonic() < stop:
        page = PAGES[n % len(PAGES)]
        n += 1
        start = time.perf_counter()
        at = tests[page].run()
        times.append(time.perf_counter() - start)
        if at.exception:
            errors.append(f"{page}: {at.exception[0].message[:300]}")
    results.put((times, errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    from streamlit import logger

    logger.set_log_level("error")

    from indicators.importing import import_file, record_value
    from indicators.storage import Store

    tmp = tempfile.mkdtemp()
    db = Path(tmp) / "bench.duckdb"
    os.environ.update({"KPI_DB": str(db), "KPI_BACKUPS_KEPT": "3", "KPI_LOCK_TIMEOUT": "30"})

    store = Store(db)
    store.framework()
    import_file(store, "depart.csv", b"indicateur;2016;2017;2018\nF1.1;40;60;80\nF2.1;500;600;650\n", "bench")

    stop = time.monotonic() + args.seconds
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    sessions = [spawn.Process(target=session, args=(i, args.seconds, results)) for i in range(args.sessions)]
    for proc in sessions:
        proc.start()

    hand = {"attempted": 0, "applied": [], "failed": []}

    def hand_writer() -> None:
        value = 0
        while time.monotonic() < stop:
            value += 1
            hand["attempted"] += 1
            try:
                result = record_value(store, "F1.3", 2017, value, "saisie", f"essai {value}")
                hand["applied"].append((result.changeset_id, value))
            except Exception as e:  # noqa: BLE001 (the bench reports every failure, whatever it is)
                hand["failed"].append(f"{type(e).__name__}: {e}"[:160])
            time.sleep(0.2)

    threads = [threading.Thread(target=hand_writer)]
    for t in threads:
        t.start()
    cli = {"attempted": 0, "applied": [], "failed": []}
    value = 1000
    files = Path(tmp) / "envois"
    files.mkdir()
    while time.monotonic() < stop:
        value += 1
        path = files / f"envoi_{value}.csv"
        path.write_text(f"indicateur;2018\nF2.1;{value}\n", encoding="utf-8")
        cli["attempted"] += 1
        done = subprocess.run(
            [sys.executable, "-m", "indicators.cli", "import", str(path), "--user", "cli"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )
        if done.returncode == 0:
            cli["applied"].append(value)
        else:
            cli["failed"].append(done.stderr.strip()[:160])
    for t in threads:
        t.join()
    page_times: list[float] = []
    page_errors: list[str] = []
    for _ in sessions:
        times, errors = results.get(timeout=120)
        page_times += times
        page_errors += errors
    for proc in sessions:
        proc.join(30)

    journal = store.framework() and None
    from indicators.history import journal as read_journal
    from indicators.history import value_history

    journal = read_journal(store)
    edits = set(journal[journal["kind"] == "edit"]["id"])
    lost_hand = [cid for cid, _ in hand["applied"] if cid not in edits]
    cli_values = set(value_history(store, "F2.1", 2018)["value"].dropna().astype(int))
    lost_cli = [v for v in cli["applied"] if v not in cli_values]
    times = sorted(page_times)
    p95 = times[int(0.95 * (len(times) - 1))] if times else float("nan")
    print(f"Sessions : {args.sessions}, durée : {args.seconds:g} s, pages : {', '.join(PAGES)}")
    print(
        f"Pages servies : {len(times)} ({len(times) / args.seconds:.1f}/s) ; médiane {statistics.median(times) * 1000:.0f} ms ; "
        f"95e centile {p95 * 1000:.0f} ms ; erreurs de page : {len(page_errors)}"
    )
    for name, w in (
        ("Imports par la commande kpi (autre processus)", cli),
        ("Saisies dans le processus du tableau de bord", hand),
    ):
        print(f"{name} : {w['attempted']} tentés, {len(w['applied'])} appliqués, {len(w['failed'])} refusés")
        for reason in sorted(set(w["failed"]))[:3]:
            print(f"    refus : {reason}")
    lost = len(lost_hand) + len(lost_cli)
    print(f"Écritures perdues : {lost} (doit être 0)")
    print(json.dumps({"pages": len(times), "p95_ms": round(p95 * 1000), "lost": lost, "page_errors": page_errors[:3]}))
    if lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
