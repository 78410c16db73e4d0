"""Import benchmark: 1 000 000 long-format rows (100 000 indicators × 10 years) against DuckDB's own
read_csv of the same file, measured in the same run, each in its own process for a clean peak memory.

Goal: the full import (read, decode, validate, diff, write versions) within 3× of the raw read into a
DuckDB file, under 500 MB peak. Run: .venv/bin/python benchmarks/import_bench.py [--rows-per-year N]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
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


def child_import(csv_path: str, db_path: str, framework_path: str) -> dict:
    from indicators.framework import load_framework
    from indicators.importing import import_file
    from indicators.storage import Store

    store = Store(db_path)
    store.load_framework(load_framework(framework_path), "bench")
    store.framework()
    base = peak_mb()
    # As the reference runs in a process where DuckDB is loaded, the import runs in one where the package
    # has done one small import (modules loaded on first use, the framework's indicator table): timed too.
    start = time.perf_counter()
    import_file(store, "warm.csv", b"indicateur;ann\xc3\xa9e;valeur\nX000000;2015;1\n", "bench")
    warm_s = time.perf_counter() - start
    data = Path(csv_path).read_bytes()
    start = time.perf_counter()
    first = import_file(store, "bench.csv", data, "bench", max_bytes=1 << 30, max_rows=10**8)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    again = import_file(store, "bench.csv", data, "bench", max_bytes=1 << 30, max_rows=10**8)
    again_s = time.perf_counter() - start
    return {
        "seconds": first_s,
        "warm_seconds": warm_s,
        "added": first.added,
        "changed": first.changed,
        "again_seconds": again_s,
        "unchanged": again.unchanged,
        "peak_mb": peak_mb(),
        "before_import_mb": base,
    }


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--indicators", type=int, default=100_000)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = child_reference(*rest) if kind == "reference" else child_import(*rest)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fw, csv_path = tmp / "bench.toml", tmp / "bench.csv"
        make_framework(fw, args.indicators)
        rows = make_csv(csv_path, args.indicators)
        size = csv_path.stat().st_size / 1e6
        print(f"file: {rows:,} rows, {size:.1f} MB, {args.indicators:,} indicators × {len(YEARS)} years")
        ref = run_child("reference", str(csv_path), str(tmp / "ref.duckdb"))
        imp = run_child("import", str(csv_path), str(tmp / "imp.duckdb"), str(fw))
        assert imp["added"] + imp["changed"] == rows and imp["unchanged"] == rows
        print(
            f"DuckDB read_csv into a table : {ref['seconds']:.2f} s  ({rows / ref['seconds']:,.0f} rows/s), "
            f"peak {ref['peak_mb']:.0f} MB"
        )
        print(f"kpi import of 1 row first (warm-up): {imp['warm_seconds']:.2f} s")
        print(
            f"kpi import (first, all new) : {imp['seconds']:.2f} s  ({rows / imp['seconds']:,.0f} rows/s), "
            f"peak {imp['peak_mb']:.0f} MB (process before import: {imp['before_import_mb']:.0f} MB)"
        )
        print(
            f"kpi import (again, all same): {imp['again_seconds']:.2f} s  ({rows / imp['again_seconds']:,.0f} rows/s)"
        )
        ratio = imp["seconds"] / ref["seconds"]
        print(
            f"ratio import / read_csv: {ratio:.2f}× (goal ≤ 3×); re-import ratio: "
            f"{imp['again_seconds'] / ref['seconds']:.2f}×; peak memory goal < 500 MB: "
            f"{'met' if imp['peak_mb'] < 500 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
