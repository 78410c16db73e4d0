"""Import benchmark: 1 000 000 long-format rows (100 000 indicators × 10 years) against DuckDB's own
read_csv of the same file, measured in the same run, each in its own process for a clean peak memory.

Goal: the full import (read, decode, validate, diff, write versions) within 3× of the raw read into a
DuckDB file, under 500 MB peak. As in real use, the framework is recorded by one process (`kpi init`)
and each import runs in its own (`kpi import`), which reads the framework from the store.
Run: .venv/bin/python benchmarks/import_bench.py [--indicators N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

YEARS = list(range(2011, 2021))


def make_framework(path: Path, n: int) -> None:
    parts = [
        '[convention]\nid = "bench"\ntitle = "Convention synthétique"\nyears = ' + json.dumps(YEARS) + "\n",
        '[[fiches]]\nnumber = 1\ntitle = "Fiche unique"\n',
    ]
    for i in range(n):
        parts.append(
            f'[[indicators]]\ncode = "X{i:06d}"\nfiche = 1\nlabel = "Indicateur synthétique {i}"\n'
            f'unit = "u"\nkind = "flow"\nmax = 1000000\ntargets = {{ 2015 = {100 + i % 50} }}\n'
        )
    path.write_text("".join(parts), encoding="utf-8")


def make_csv(path: Path, n: int) -> int:
    rng = random.Random(42)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("indicateur;année;valeur;commentaire\r\n")
        for i in range(n):
            code = f"X{i:06d}"
            f.write("".join(f"{code};{y};{rng.randint(0, 99999)};\r\n" for y in YEARS))
    return n * len(YEARS)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def child_reference(csv_path: str, db_path: str) -> dict:
    import duckdb

    con = duckdb.connect(db_path)
    start = time.perf_counter()
    con.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv('{csv_path}', delim=';', header=true)")
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - start
    rows = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    con.close()
    return {"seconds": seconds, "rows": rows, "peak_mb": peak_mb()}


def child_setup(db_path: str, framework_path: str) -> dict:
    """What `kpi init` does: the framework recorded in a new store (its own process, as in real use)."""
    from indicators.framework import load_framework
    from indicators.storage import Store

    Store(db_path).load_framework(load_framework(framework_path), "bench")
    return {}


def child_import(csv_path: str, db_path: str) -> dict:
    """What `kpi import` does, in its own process: read the framework from the store, import the file."""
    from indicators.importing import import_file
    from indicators.storage import Store

    store = Store(db_path)
    store.framework()
    # As the reference runs in a process where DuckDB is loaded, the import runs in one where the package
    # has done one small import (modules loaded on first use, the framework's indicator table): timed too.
    start = time.perf_counter()
    import_file(store, "warm.csv", b"indicateur;ann\xc3\xa9e;valeur\nX000000;2015;1\n", "bench")
    warm_s = time.perf_counter() - start
    ready_mb = rss_mb()
    data = Path(csv_path).read_bytes()
    start = time.perf_counter()
    result = import_file(store, "bench.csv", data, "bench", max_bytes=1 << 30, max_rows=10**8)
    seconds = time.perf_counter() - start
    counts = {"added": result.added, "changed": result.changed, "unchanged": result.unchanged}
    return {"seconds": seconds, "warm_seconds": warm_s, **counts, "peak_mb": peak_mb(), "ready_mb": ready_mb}


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--indicators", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measure (min and median printed)")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        child = {"reference": child_reference, "setup": child_setup, "import": child_import}[kind]
        print(json.dumps(child(*rest)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fw, csv_path = tmp / "bench.toml", tmp / "bench.csv"
        make_framework(fw, args.indicators)
        rows = make_csv(csv_path, args.indicators)
        size = csv_path.stat().st_size / 1e6
        print(f"file: {rows:,} rows, {size:.1f} MB, {args.indicators:,} indicators × {len(YEARS)} years")
        refs, firsts, agains = [], [], []
        for run in range(args.repeat):
            refs.append(run_child("reference", str(csv_path), str(tmp / f"ref{run}.duckdb")))
            db = str(tmp / f"imp{run}.duckdb")
            run_child("setup", db, str(fw))
            firsts.append(run_child("import", str(csv_path), db))
            agains.append(run_child("import", str(csv_path), db))
            assert firsts[-1]["added"] + firsts[-1]["changed"] == rows
            assert agains[-1]["unchanged"] + agains[-1]["changed"] == rows and agains[-1]["changed"] <= 1

        def line(label: str, runs: list[dict]) -> float:
            times = sorted(r["seconds"] for r in runs)
            best, median = times[0], statistics.median(times)
            peak = max(r["peak_mb"] for r in runs)
            extra = (
                f", ready {max(r['ready_mb'] for r in runs):.0f} MB before the file" if "ready_mb" in runs[0] else ""
            )
            print(
                f"{label}: {best:.2f} s best, {median:.2f} s median ({rows / best:,.0f} rows/s), peak {peak:.0f} MB{extra}"
            )
            return median

        print(f"{args.repeat} runs each, every one in a new process on a new store:")
        ref = line("DuckDB read_csv into a table ", refs)
        print(f"kpi import of 1 row first (warm-up): {statistics.median(r['warm_seconds'] for r in firsts):.2f} s")
        first = line("kpi import (first, all new)  ", firsts)
        again = line("kpi import (again, all same) ", agains)
        peak = max(r["peak_mb"] for r in firsts)
        print(
            f"import: ratio of medians to read_csv {first / ref:.2f}× (goal ≤ 3×: {'met' if first / ref <= 3 else 'NOT met'}), "
            f"peak memory {peak:.0f} MB (goal < 500 MB: {'met' if peak < 500 else 'NOT met'})"
        )
        print(
            f"re-import of the same file into the store that holds its values: {again / ref:.2f}×, "
            f"{max(r['peak_mb'] for r in agains):.0f} MB (each value is compared with its current version)"
        )


if __name__ == "__main__":
    main()
