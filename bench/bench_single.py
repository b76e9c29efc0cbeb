#!/usr/bin/env python
"""One decision, side by side in one process: ours, the OpenFisca peer's per-case query, Zen.

    .bench-venv/bin/python bench/bench_single.py --rounds 7 --queries 400

Needs the bench venv (``bash bench/make_bench_venv.sh``: openfisca-core with the peer model,
zen-engine). Every figure is a per-call latency; the rounds interleave the engines so that load
from other processes falls on all of them alike; the ratios are taken from the medians of this
run.

Ours, on ``bench_query.make_village(200)`` (a village of 200 households, 800 persons), through
the public API with default arguments (``engine="auto"``):

* ``eligibility``: ``Evaluator(policy, data).eligibility(person, "person.rain_and_dew.grant",
  date)``, the explanation not built. ``cold``: every query on a new as-of date inside the
  policy's own period (``policy.effective``; the dates cycle through it), so nothing is
  memoised from an earlier query (the derived variables and aggregates the rule reads are
  computed); ``warm``: one as-of date, persons in turn (what a service asking "as of today"
  does; values of the date memoised after their first use);
* ``eligibility_explained``: the same, cold, with ``explain=True`` (the explanation built:
  conditions with the values read, parameters with their periods, missing fields);
* ``household_explained``: ``Evaluator.household(household, date, explain=True)``: every
  household and person rule of the household (37 rule evaluations for 4 persons), cold, every
  explanation built; median and p99.

Peers, same process:

* ``openfisca_json``: the peer bench's own per-case query (its ``json_case``: one household as
  the JSON situation, ``SimulationBuilder.build_from_entities`` + ``compute_all`` of the six
  targets), on the peer's own population (``make_population``, 200 households);
* ``zen``: GoRules Zen (``zen-engine``) evaluating ``bench/peer_zen/rain_and_dew_grant.json``,
  a one-table decision equivalent to ``person.rain_and_dew.grant`` (school level,
  relationship to the head, household status, as-of date -> verdict and amount; no unknowns,
  no explanation), on the same persons,
  inputs prepared beforehand. Its verdicts and amounts are checked equal to ours.

Prints one JSON object: per-figure median / p90 / p99 (microseconds, wall clock) and the
median / p99 of each call's thread CPU time, and the ratios by either clock (``ratios_wall``,
``ratios_cpu``; on a machine shared with other work the CPU ratios are the stable ones).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_peer import default_peer_dir, load_peer_bench  # noqa: E402
from bench_query import make_village  # noqa: E402

RULE = "person.rain_and_dew.grant"


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _summary(times: list[tuple[float, float]]) -> dict[str, float]:
    us = [t * 1e6 for t, _ in times]
    cpu = [c * 1e6 for _, c in times]
    return {
        "n": len(us),
        "median_us": round(statistics.median(us), 2),
        "p90_us": round(_pct(us, 0.90), 2),
        "p99_us": round(_pct(us, 0.99), 2),
        "cpu_median_us": round(statistics.median(cpu), 2),
        "cpu_p99_us": round(_pct(cpu, 0.99), 2),
    }


def _time_each(fn: Callable[[int], Any], n: int, start: int) -> list[tuple[float, float]]:
    """(wall, thread CPU) seconds of each call: on a loaded machine the CPU time is the cost of
    the call itself, the wall time adds the waits for a core."""
    out = []
    clock = time.perf_counter
    cpu = time.thread_time
    for i in range(start, start + n):
        t0, c0 = clock(), cpu()
        fn(i)
        out.append((clock() - t0, cpu() - c0))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--queries", type=int, default=400, help="queries per engine per round")
    ap.add_argument("--households", type=int, default=200)
    ap.add_argument("--peer-dir", type=Path, default=None)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args(argv)

    import zen

    import fupin_rules as fr

    policy = fr.load_policy("county_2017")
    data = make_village(a.households)
    ev = fr.Evaluator(policy, data)  # default arguments: engine="auto"
    persons = sorted(ev.index.by_id["person"])
    households = sorted(ev.index.by_id["household"])
    # cold dates cycle through the policy's own period (2017 for county_2017): a date outside
    # it finds most rules not in force, which is cheap and says nothing about the rules' cost
    # (an earlier version cycled through 3,000 days from 2017-01-01, 88% of them after the
    # period, and so measured mostly not-in-force findings)
    period_start, period_end = policy.effective
    assert period_start is not None and period_end is not None
    day0 = period_start
    period_days = (period_end - period_start).days + 1
    on_warm = dt.date(2017, 12, 31)

    # the peers
    peer = load_peer_bench(a.peer_dir or default_peer_dir())
    tbs = peer.CountryTaxBenefitSystem()
    d = peer.make_population(a.households, 1, 0)
    situations = [peer.situation_json(d, h) for h in range(d["n_households"])]
    builder = peer.SimulationBuilder

    def openfisca_json(i: int) -> None:
        sim = builder().build_from_entities(tbs, situations[i % len(situations)])
        peer.compute_all(sim)

    zen_engine = zen.ZenEngine()
    decision = zen_engine.create_decision(
        (HERE / "peer_zen" / "rain_and_dew_grant.json").read_text()
    )
    people = {p["person_id"]: p for p in data["persons"]}
    status = {h["household_id"]: h["poverty_status"] for h in data["households"]}

    def zen_input(pid: str, on: dt.date) -> dict[str, Any]:
        p = people[pid]
        return {
            "school_level": p["school_level"],
            "relationship": p["relationship"],
            "poverty_status": status[p["household_id"]],
            "on": on.year * 10000 + on.month * 100 + on.day,
        }

    # agreement: zen's verdict and amount equal ours for every person, both grant periods
    mismatches = 0
    for on in (dt.date(2017, 8, 31), dt.date(2017, 9, 1)):
        for pid in persons:
            ours = ev.eligibility(pid, RULE, on)
            theirs = decision.evaluate(zen_input(pid, on))["result"]
            amount = theirs.get("amount_yuan")
            if ours.verdict.value != theirs["verdict"] or (
                ours.amount != (None if amount is None else fr_decimal(amount))
            ):
                mismatches += 1
    zen_inputs = [zen_input(pid, on_warm) for pid in persons]

    def zen_call(i: int) -> None:
        decision.evaluate(zen_inputs[i % len(zen_inputs)])

    # ours: a new as-of date per query (cold) unless warm
    def cold_day(i: int) -> dt.date:
        return day0 + dt.timedelta(days=i % period_days)

    def eligibility_cold(i: int) -> None:
        ev.eligibility(persons[i % len(persons)], RULE, cold_day(i))

    def eligibility_warm(i: int) -> None:
        ev.eligibility(persons[i % len(persons)], RULE, on_warm)

    def eligibility_explained(i: int) -> None:
        ev.eligibility(persons[i % len(persons)], RULE, cold_day(i), explain=True)

    def household_explained(i: int) -> None:
        ev.household(households[i % len(households)], cold_day(i), explain=True)

    figures: dict[str, Callable[[int], None]] = {
        "openfisca_json": openfisca_json,
        "zen": zen_call,
        "eligibility_cold": eligibility_cold,
        "eligibility_warm": eligibility_warm,
        "eligibility_explained": eligibility_explained,
        "household_explained": household_explained,
    }
    for fn in figures.values():  # warm-up: compile expressions, import lazily loaded modules
        _time_each(fn, 50, 0)
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in figures}
    start = 1000
    for _ in range(a.rounds):
        for name, fn in figures.items():
            times[name].extend(_time_each(fn, a.queries, start))
        start += a.queries
    res: dict[str, Any] = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "policy": policy.ref,
        "households": a.households,
        "persons": len(persons),
        "rounds": a.rounds,
        "queries_per_round": a.queries,
        "zen_agrees": mismatches == 0,
        "zen_mismatches": mismatches,
        "figures": {k: _summary(v) for k, v in times.items()},
    }
    for clock, key, p99 in (
        ("wall", "median_us", "p99_us"),
        ("cpu", "cpu_median_us", "cpu_p99_us"),
    ):
        med = {k: v[key] for k, v in res["figures"].items()}
        hh = res["figures"]["household_explained"]
        res[f"ratios_{clock}"] = {
            "openfisca_json / eligibility_cold": round(
                med["openfisca_json"] / med["eligibility_cold"], 2
            ),
            "openfisca_json / eligibility_warm": round(
                med["openfisca_json"] / med["eligibility_warm"], 2
            ),
            "eligibility_cold / zen": round(med["eligibility_cold"] / med["zen"], 2),
            "eligibility_warm / zen": round(med["eligibility_warm"] / med["zen"], 2),
            "openfisca_json / eligibility_explained": round(
                med["openfisca_json"] / med["eligibility_explained"], 2
            ),
            "openfisca_json / household_explained": round(
                med["openfisca_json"] / med["household_explained"], 2
            ),
            "household_explained p99 / median": round(hh[p99] / hh[key], 2),
        }
    text = json.dumps(res, indent=2, ensure_ascii=False)
    print(text)
    if a.json:
        a.json.write_text(text + "\n", encoding="utf-8")
    return 0


def fr_decimal(value: Any) -> Any:
    from decimal import Decimal

    return Decimal(str(value))


if __name__ == "__main__":
    sys.exit(main())
