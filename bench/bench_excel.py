"""The Excel problem list of a county: its writing time and memory (docs/benchmarks.md).

    python bench/bench_excel.py DIR              # a ledger folder (CSV/Parquet)
    python bench/bench_excel.py                  # the bundled sample county
    python bench/bench_excel.py DIR --repeat 3
    python bench/bench_excel.py DIR --frames     # a Parquet folder read as frames, no names

DIR is for instance the 100k county of docs/benchmarks.md, a Parquet folder written by
``write_parquet_dir(generate_county(100000, seed=2017, villages=250), DIR)``. The county is
loaded and evaluated as ``fupin-rules check DIR --engine batch`` does (not timed); then the
problem list is written ``--repeat`` times and one JSON object printed: per write the wall and
CPU seconds of the whole :func:`write_problem_list` and of the
:meth:`SubjectDirectory.from_dataset` it begins with, the peak RSS of the process before and
after writing, the file size, and the rows and non-empty cells of each sheet (read back with
openpyxl, not timed; ``--no-count`` leaves that out, for a county too large to read back).

``--frames`` reads a Parquet folder straight into polars frames (as ``bench_batch.py``'s
Parquet-to-JSON phase; no validated records, so no subject directory: the rows have no names
or villages), for counties too large for the validated path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any


def _timed(fn: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, round(time.perf_counter() - wall, 2), round(time.process_time() - cpu, 2)


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", help="ledger folder (default: the sample county)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--on", default="2017-12-31")
    ap.add_argument("--frames", action="store_true", help="Parquet frames, no dataset")
    ap.add_argument("--no-count", action="store_true", help="do not read the workbook back")
    args = ap.parse_args()
    if args.frames and not args.data:
        ap.error("--frames needs a Parquet folder")

    import openpyxl

    from fupin_rules._gc import gc_paused
    from fupin_rules._resources import sample_data_path
    from fupin_rules.api import load_data
    from fupin_rules.batch import evaluate_batch
    from fupin_rules.reports.excel import write_problem_list
    from fupin_rules.reports.subjects import SubjectDirectory

    source = args.data or sample_data_path()
    out: dict[str, Any] = {"data": str(args.data or "sample"), "load_average": os.getloadavg()}
    with gc_paused(), tempfile.TemporaryDirectory() as tmp:  # as the CLI's check job
        on = dt.date.fromisoformat(args.on)
        dataset = None
        if args.frames:
            import polars as pl

            folder = Path(args.data)
            frames = {p.stem: pl.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}
            ev = evaluate_batch("county_2017", frames, on, materialize="reports")
        else:
            loaded = load_data(source)
            dataset = loaded.dataset
            ev = evaluate_batch("county_2017", loaded, on, materialize="reports")
        out["peak_mb_before_writing"] = _peak_mb()
        path = Path(tmp) / "problems.xlsx"
        runs = []
        for _ in range(args.repeat):
            _, d_wall, d_cpu = _timed(lambda: SubjectDirectory.from_dataset(dataset))
            _, wall, cpu = _timed(lambda: write_problem_list(ev, path, dataset=dataset))
            runs.append(
                {
                    "write_problem_list_s": wall,
                    "write_problem_list_cpu_s": cpu,
                    "of_which_subject_directory_s": d_wall,
                    "of_which_subject_directory_cpu_s": d_cpu,
                }
            )
        out["runs"] = runs
        out["peak_mb_after_writing"] = _peak_mb()
        out["file_mb"] = round(path.stat().st_size / 1e6, 1)
        if not args.no_count:
            book = openpyxl.load_workbook(path, read_only=True)
            sheets = {}
            for name in book.sheetnames:
                rows = cells = 0
                for row in book[name].iter_rows(values_only=True):
                    rows += 1
                    cells += sum(v is not None for v in row)
                sheets[name] = {"rows": rows, "cells": cells}
            book.close()
            out["sheets"] = sheets
            out["rows"] = sum(s["rows"] for s in sheets.values())
            out["cells"] = sum(s["cells"] for s in sheets.values())
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
