#!/usr/bin/env python
"""Per-session overhead of the durable-rules wrapper (fupin_rules.engine._durable).

One session = open, assert 1 household + 4 persons, close. The ruleset has 51 rules:

* 20 rules on the household (all fire), each asserting one derived ``finding`` fact;
* 20 rules each matching one ``finding`` (all fire: the chained step), each appending to the
  session context;
* 1 join rule over two findings (fires once);
* 10 rules on persons that never fire (the persons are matched by tests only).

    python bench/bench_durable_wrapper.py --sessions 5000

Prints JSON: median, p90, p99, max per session in milliseconds, sessions per second, actions
per session, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from typing import Any

from fupin_rules.engine._durable import ActionContext, DurableEngine, Match, RulesetSpec, RuleSpec

HOUSEHOLD_RULES = 20


def build_spec() -> RulesetSpec:
    """The 51-rule benchmark ruleset."""
    rules: list[RuleSpec] = []

    def derive(rule: str) -> Any:
        def action(ctx: ActionContext) -> None:
            ctx.assert_fact({"kind": "finding", "rule": rule, "subject": ctx.fact["code"]})

        return action

    def collect(ctx: ActionContext) -> None:
        ctx.context.append(ctx.fact["rule"])

    for i in range(HOUSEHOLD_RULES):
        rules.append(
            RuleSpec(f"hh{i}", Match(kind="household", **{f"f{i}": "yes"}), derive(f"hh{i}"))
        )
        rules.append(RuleSpec(f"chain{i}", Match(kind="finding", rule=f"hh{i}"), collect))
    rules.append(
        RuleSpec(
            "join",
            [Match(kind="finding", rule="hh0"), Match(kind="finding", rule="hh1")],
            lambda ctx: ctx.context.append("join"),
        )
    )
    for i in range(10):
        rules.append(RuleSpec(f"p{i}", Match(kind="person", disability=f"grade{i}"), collect))
    return RulesetSpec("bench:1.0:0123456789abcdef:wrapper", rules)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()

    engine = DurableEngine()
    handle = engine.register(build_spec())
    persons: list[dict[str, str | int]] = [
        {"kind": "person", "code": f"P{i}", "disability": "none", "age": 30 + i} for i in range(4)
    ]
    flags = {f"f{i}": "yes" for i in range(HOUSEHOLD_RULES)}

    def one(n: int) -> list[str]:
        found: list[str] = []
        with engine.session(handle, context=found) as s:
            s.assert_fact({"kind": "household", "code": f"H{n:06d}", "size": 4, **flags})
            for p in persons:
                s.assert_fact(p)
        return found

    expected = one(0)
    assert len(expected) == HOUSEHOLD_RULES + 1, expected
    for n in range(args.warmup):
        one(n)
    times: list[float] = []
    perf = time.perf_counter
    for n in range(args.sessions):
        t0 = perf()
        found = one(n)
        times.append(perf() - t0)
        if len(found) != len(expected):
            raise SystemExit(f"session {n}: {len(found)} results, expected {len(expected)}")
    times.sort()
    ms = [t * 1000 for t in times]
    print(
        json.dumps(
            {
                "sessions": args.sessions,
                "rules": len(build_spec().rules),
                "actions_per_session": len(expected) + HOUSEHOLD_RULES + 1,  # + marker
                "facts_per_session": 5 + HOUSEHOLD_RULES,
                "median_ms": round(statistics.median(ms), 4),
                "p90_ms": round(ms[int(0.90 * len(ms))], 4),
                "p99_ms": round(ms[int(0.99 * len(ms))], 4),
                "max_ms": round(ms[-1], 4),
                "sessions_per_s": round(len(ms) / sum(times), 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "python": platform.python_version(),
                "platform": sys.platform,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
