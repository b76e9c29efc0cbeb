#!/usr/bin/env python
"""Per-case query latency through the public API: one household of four persons.

Each query asks for every finding of one household (its persons' and its own rules) as of a
date, through ``fupin_rules.Evaluator.household(..., explain=True)`` — what an integrating
system calls per case, every finding with its explanation built (the inference engine always
explains; without ``explain=True`` the reference path would only decide).
Households are drawn in turn from a small synthetic village so that consecutive queries do not
hit the same subject.

    python bench/bench_query.py --queries 5000 --engine inference --policy county_2017
    python bench/bench_query.py --queries 3000 --engine both     # inference / reference

Prints JSON: median, p90, p99 and max in milliseconds, queries per second, peak RSS. With
``--engine both`` the two engines answer the same households in alternating rounds of 100
queries, in one process (so that load from other work falls on both alike), their findings are
checked equal, and the figures include each query's thread CPU time (``time.thread_time``,
which leaves out waits for a core) and the ratio inference / reference of the medians.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import statistics
import sys
import time

import fupin_rules as fr


def make_village(households: int) -> dict:
    """A village of ``households`` registered-poor households with four members each."""
    hh, persons = [], []
    levels = ["secondary_vocational", "higher_vocational", "primary", "not_in_school"]
    for h in range(households):
        hid = f"H{h:05d}"
        hh.append(
            {
                "household_id": hid,
                "village_id": "V1",
                "poverty_status": ["registered_poor", "pre_exit_2017", "exited", "non_poor"][h % 4],
                "attribute": "general",
                "main_cause": "illness",
                "assistance_measures": ["industry"],
                "helper_name": "张三",
                "has_ledger": True,
                "system_ticked": h % 3 != 0,
                "exit_year": 2017 if h % 4 == 2 else None,
            }
        )
        for p in range(4):
            persons.append(
                {
                    "person_id": f"P{h:05d}{p}",
                    "household_id": hid,
                    "birth_date": f"{1960 + 10 * p}-05-01",
                    "school_level": levels[(h + p) % 4],
                    "basic_medical_insured": True,
                    "serious_illness_insured": p != 3,
                    "chronic_disease_insured": True,
                    "annual_income_yuan": str(2500 + 700 * p),
                    "relationship": ["head", "spouse", "son", "daughter"][p],
                }
            )
    return {
        "county": {"county_id": "C1", "avg_income_growth_rate": "0.09"},
        "townships": [{"township_id": "T1", "county_id": "C1", "has_industry_scale": True}],
        "villages": [{"village_id": "V1", "township_id": "T1", "collective_income_yuan": "52000"}],
        "households": hh,
        "persons": persons,
        "payments": [],
        "documents": [],
        "procedure_steps": [],
        "loans": [],
        "relocations": [],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--queries", type=int, default=5000)
    ap.add_argument("--engine", default="inference", choices=["inference", "reference", "both"])
    ap.add_argument("--policy", default="county_2017")
    ap.add_argument("--households", type=int, default=200)
    ap.add_argument("--on", default="2017-12-31")
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args(argv)

    policy = fr.load_policy(a.policy)
    if a.engine == "both":
        return compare(policy, make_village(a.households), a)
    ev = fr.Evaluator(policy, make_village(a.households), engine=a.engine)
    on = dt.date.fromisoformat(a.on)
    keys = sorted(ev.index.by_id["household"])
    rules = sum(1 for r in policy.rules if r.entity in ("household", "person"))
    for k in keys[:50]:  # warm-up: compile expressions, register the ruleset
        ev.household(k, on, explain=True)
    times = []
    findings = 0
    for i in range(a.queries):
        t0 = time.perf_counter()
        out = ev.household(keys[i % len(keys)], on, explain=True)
        times.append(time.perf_counter() - t0)
        findings += len(out)
    times.sort()
    ms = [t * 1e3 for t in times]
    res = {
        "policy": policy.ref,
        "engine": a.engine,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "queries": a.queries,
        "household_and_person_rules": rules,
        "findings_per_query": findings / a.queries,
        "median_ms": round(statistics.median(ms), 4),
        "p90_ms": round(ms[int(0.90 * len(ms)) - 1], 4),
        "p99_ms": round(ms[int(0.99 * len(ms)) - 1], 4),
        "max_ms": round(ms[-1], 4),
        "queries_per_s": round(a.queries / sum(times), 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(res, indent=2, ensure_ascii=False))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=2, ensure_ascii=False)
    return 0


def compare(policy: fr.Policy, data: dict[str, object], a: argparse.Namespace) -> int:
    """Reference and inference in alternating rounds, one process; equal findings checked."""
    on = dt.date.fromisoformat(a.on)
    evs = {e: fr.Evaluator(policy, data, engine=e) for e in ("reference", "inference")}
    keys = sorted(evs["reference"].index.by_id["household"])

    def answer(e: str, k: str) -> list[tuple[str, str, str, str]]:
        return sorted(
            (f.rule_id, f.subject_id, f.verdict.value, str(f.amount))
            for f in evs[e].household(k, on, explain=True)
        )

    for k in keys:  # warm-up, and the same findings from both engines
        if answer("reference", k) != answer("inference", k):
            raise SystemExit(f"household {k}: the engines disagree")
    wall: dict[str, list[float]] = {e: [] for e in evs}
    cpu: dict[str, list[float]] = {e: [] for e in evs}
    done = 0
    while done < a.queries:
        n = min(100, a.queries - done)
        for e, ev in evs.items():
            for i in range(done, done + n):
                k = keys[i % len(keys)]
                t0, c0 = time.perf_counter(), time.thread_time()
                ev.household(k, on, explain=True)
                cpu[e].append(time.thread_time() - c0)
                wall[e].append(time.perf_counter() - t0)
        done += n
    res: dict[str, object] = {
        "policy": policy.ref,
        "python": sys.version.split()[0],
        "queries_per_engine": a.queries,
        "households_checked_equal": len(keys),
    }
    for e in evs:
        res[e] = {
            "median_cpu_ms": round(statistics.median(cpu[e]) * 1e3, 4),
            "median_wall_ms": round(statistics.median(wall[e]) * 1e3, 4),
            "p99_wall_ms": round(sorted(wall[e])[int(0.99 * len(wall[e])) - 1] * 1e3, 4),
        }
    res["ratio_inference_over_reference_cpu"] = round(
        statistics.median(cpu["inference"]) / statistics.median(cpu["reference"]), 2
    )
    res["ratio_inference_over_reference_wall"] = round(
        statistics.median(wall["inference"]) / statistics.median(wall["reference"]), 2
    )
    print(json.dumps(res, indent=2, ensure_ascii=False))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=2, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
