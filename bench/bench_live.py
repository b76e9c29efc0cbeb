#!/usr/bin/env python
"""A live session (fupin_rules.Session) on a synthetic county: load time, memory, and one
household change against re-running the batch engine on the whole county and re-running the
household's village through the reference engine, all in the same process.

    python bench/bench_live.py --households 100000 --changes 30

The county is ``generate_county(N, seed=2017)`` (N/500 villages). Each change edits one random
household record (a different field each time: status, exit plan, ledger, ...); its time is
``session.apply([change])`` until the changed findings are returned. The two comparisons are
timed on the same dataset: ``evaluate_batch`` (findings of every rule, the ``check --engine
batch`` work without reading or writing files) and ``run_policy(..., ReferenceEngine(),
only={"household": <the village's households>, "village": [<village>]})``. Prints one JSON
object: load seconds, peak RSS, partitions, change latency (median, p90, max), the two
comparison times and the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import resource
import statistics
import sys
import time

import fupin_rules as fr
from fupin_rules.batch import evaluate_batch
from fupin_rules.engine.live import DEFAULT_PARTITION_SIZE
from fupin_rules.engine.run import ReferenceEngine, run_policy
from fupin_rules.io.generate import generate_county, to_dataset_dict

ON = dt.date(2017, 12, 31)
EDITS = [
    ("has_exit_plan", [True, False, None]),
    ("manual_filled", [True, False, None]),
    ("has_ledger", [True, False, None]),
    ("filed_for_record", [True, False, None]),
    ("poverty_status", ["registered_poor", "pre_exit_2017", "exited", "non_poor"]),
    ("helper_name", ["张三", None]),
]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--changes", type=int, default=30)
    ap.add_argument("--partition-size", type=int, default=DEFAULT_PARTITION_SIZE)
    ap.add_argument("--seed", type=int, default=2017)
    args = ap.parse_args()

    policy = fr.load_policy("county_2017")
    t = time.perf_counter()
    loaded = fr.load_data(to_dataset_dict(generate_county(args.households, args.seed)))
    t_data = time.perf_counter() - t
    rss_data = rss_mb()
    t = time.perf_counter()
    session = fr.Session(policy, loaded, on=ON, partition_size=args.partition_size)
    t_load = time.perf_counter() - t
    rss_live = rss_mb()

    rng = random.Random(args.seed)
    households = list(loaded.dataset.households)
    by_village: dict[str, list[str]] = {}
    for h in households:
        by_village.setdefault(h.village_id, []).append(h.household_id)
    change_ms, village_ms, sizes = [], [], []
    for i in range(args.changes):
        hh = rng.choice(households)
        field, values = EDITS[i % len(EDITS)]
        value = rng.choice([v for v in values if v != getattr(hh, field)] or values)
        record = hh.model_copy(update={field: value})
        t = time.perf_counter()
        result = session.apply([fr.Change.upsert("households", record)])
        change_ms.append((time.perf_counter() - t) * 1000)
        sizes.append(len(result.changed))
        t = time.perf_counter()
        run_policy(
            policy,
            loaded.dataset,
            ON,
            engine=ReferenceEngine(),
            only={"household": by_village[hh.village_id], "village": [hh.village_id], "county": []},
        )
        village_ms.append((time.perf_counter() - t) * 1000)
        session.apply([fr.Change.upsert("households", hh)])  # back, so the data stays the same
    t = time.perf_counter()
    evaluate_batch(policy, loaded, ON)
    batch_ms = (time.perf_counter() - t) * 1000
    session.close()
    med = statistics.median(change_ms)
    out = {
        "households": args.households,
        "python": platform.python_version(),
        "load_data_s": round(t_data, 2),
        "live_load_s": round(t_load, 2),
        "rss_after_data_mb": round(rss_data),
        "rss_after_live_mb": round(rss_live),
        "partitions": len(session.partitions),
        "load_stats": session.load_stats,
        "change_ms": {
            "median": round(med, 2),
            "p90": round(sorted(change_ms)[int(0.9 * (len(change_ms) - 1))], 2),
            "max": round(max(change_ms), 2),
        },
        "changed_findings_median": statistics.median(sizes),
        "batch_whole_county_ms": round(batch_ms, 1),
        "reference_village_ms_median": round(statistics.median(village_ms), 1),
        "ratio_batch_over_change": round(batch_ms / med, 1),
        "ratio_village_over_change": round(statistics.median(village_ms) / med, 1),
    }
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
