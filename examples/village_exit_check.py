"""Does this village meet the exit standard (贫困村出列标准, 三(三))? Which criterion fails, and why?

Checks one village on the sample county's 2017 exit list as of 2017-12-31, prints a one-line
table of the criteria, then the full explanation of each criterion that is not met::

    python examples/village_exit_check.py            # the first village on the 2017 list
    python examples/village_exit_check.py V00003     # a village of your choice
"""

from __future__ import annotations

import datetime as dt
import sys

import fupin_rules as fr
from fupin_rules.cli import sample_data_path

ON = dt.date(2017, 12, 31)


def main(argv: list[str] | None = None) -> int:
    """Print the village's exit findings: a summary, then why each failing one fails."""
    args = sys.argv[1:] if argv is None else argv
    ev = fr.Evaluator("county_2017", sample_data_path())
    if args:
        village_id = args[0]
    else:
        village_id = next(v.village_id for v in ev.dataset.villages if v.planned_exit_year == 2017)
    findings = [
        f for f in ev.compliance("village", village_id, ON) if f.rule_id.startswith("village.exit.")
    ]
    print(f"village {village_id}, exit standard as of {ON} ({ev.policy.ref})")
    for f in findings:
        print(f"  {f.verdict.value:8} {f.clause:8} {f.rule_id:36} {f.title_zh}")
    for f in findings:
        if f.verdict is not fr.Outcome.PASS and f.rule_id != "village.exit.ready":
            print()
            print(fr.explain(f, "zh"))
            print(fr.explain(f, "en"))
    ready = next(f for f in findings if f.rule_id == "village.exit.ready")
    print()
    print(f"出列达标 / ready to exit: {ready.verdict.zh} ({ready.verdict.value})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
