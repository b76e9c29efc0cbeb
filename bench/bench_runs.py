#!/usr/bin/env python
"""Comparing two runs of a county (整改跟踪) against writing its JSON report, same process.

    python bench/bench_runs.py --households 100000

The county is ``generate_county(N, seed=2017)``; it is evaluated once with the batch engine.
Timed: writing the JSON report (``write_json_file``, what ``check --out`` does), and the two
ways ``check --since`` compares: with an earlier JSON report (read it, classify every problem:
``baseline_from_report`` + ``track``) and with a stored run (``RunStore.record_run`` of the
current run, then ``baseline_from_store`` + ``track`` with the store's history). Between the two
"runs" one problem in ten is fixed (a finding's verdict turned to pass), so every class occurs.
Prints one JSON object with the seconds and the ratios to the JSON write.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import attrs

import fupin_rules as fr
from fupin_rules.batch import evaluate_batch
from fupin_rules.findings.model import Outcome
from fupin_rules.io.generate import generate_county, to_dataset_dict
from fupin_rules.reports.json_report import write_json_file
from fupin_rules.runs import Locator, RunStore, baseline_from_report, baseline_from_store, track

ON = dt.date(2017, 12, 31)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=100_000)
    args = ap.parse_args()
    loaded = fr.load_data(to_dataset_dict(generate_county(args.households, 2017)))
    first = evaluate_batch("county_2017", loaded, ON)
    fixed = {id(f) for f in first.problems()[::10]}
    second = attrs.evolve(
        first,
        findings=tuple(
            attrs.evolve(f, verdict=Outcome.PASS) if id(f) in fixed else f for f in first.findings
        ),
    )
    locator = Locator.from_dataset(loaded.dataset)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "first.json"
        t = time.perf_counter()
        write_json_file(first, report)
        t_json = time.perf_counter() - t

        t = time.perf_counter()
        tr = track(second.findings, baseline_from_report(report), locator=locator)
        t_report = time.perf_counter() - t
        counts_report = tr.counts()

        store = RunStore(Path(tmp) / "runs.sqlite")
        cid = loaded.dataset.county.county_id
        t = time.perf_counter()
        run1 = store.record_run(
            first, input_name="c", input_digest="sha256:0", county_id=cid, locate=locator.place
        )
        t_record = time.perf_counter() - t
        run2 = store.record_run(
            second, input_name="c", input_digest="sha256:1", county_id=cid, locate=locator.place
        )
        t = time.perf_counter()
        tr2 = track(
            second.findings,
            baseline_from_store(store, run1.run_id),
            locator=locator,
            store=store,
            current_run=run2,
        )
        t_store = time.perf_counter() - t
        store.close()
        db_mb = (Path(tmp) / "runs.sqlite").stat().st_size / 1e6
    out = {
        "households": args.households,
        "findings": len(first.findings),
        "problems": len(first.problems()),
        "write_json_s": round(t_json, 2),
        "compare_with_report_s": round(t_report, 2),
        "record_run_s": round(t_record, 2),
        "compare_with_stored_run_s": round(t_store, 2),
        "store_mb_two_runs": round(db_mb, 1),
        "counts": counts_report,
        "counts_store": tr2.counts(),
        "ratio_report_compare_over_json_write": round(t_report / t_json, 2),
        "ratio_store_compare_over_json_write": round(t_store / t_json, 2),
    }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
