"""Run a whole county through the policy (回头看) and write the reports.

Writes into OUT (default ``county_reports/``): ``report.json`` always, and the Excel problem
list (问题清单) and the self-contained HTML report when those report modules are installed::

    python examples/county_run_with_reports.py --out /tmp/reports
    python examples/county_run_with_reports.py --data my_county.xlsx --on 2017-11-30
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import sys
from pathlib import Path

import fupin_rules as fr
from fupin_rules.cli import sample_data_path
from fupin_rules.reports.json_report import summary, write_json_file


def main(argv: list[str] | None = None) -> int:
    """Evaluate, print a summary, write the reports; exit 3 if some units failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=sample_data_path())
    parser.add_argument("--on", type=dt.date.fromisoformat, default=dt.date(2017, 12, 31))
    parser.add_argument("--out", type=Path, default=Path("county_reports"))
    args = parser.parse_args(argv)

    loaded = fr.load_data(args.data)  # bad rows become issues, nothing is dropped silently
    run = fr.evaluate("county_2017", loaded, args.on)
    s = summary(run)
    print(f"{run.policy_id} {run.policy_version} as of {run.on}, engine {run.engine}")
    print(
        f"findings {s['findings']}: pass {s['by_verdict']['pass']}, fail {s['by_verdict']['fail']}, "
        f"unknown {s['by_verdict']['unknown']}; problems (问题清单) {s['problems']}"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    written = [args.out / "report.json"]
    write_json_file(run, written[0])  # streamed: a large county's report is never held twice
    if importlib.util.find_spec("fupin_rules.reports.excel"):
        from fupin_rules.reports.excel import write_problem_list

        written.append(args.out / "问题清单.xlsx")
        write_problem_list(run, written[-1], dataset=loaded.dataset)
    if importlib.util.find_spec("fupin_rules.reports.html"):
        from fupin_rules.reports.html import write_html_report

        written.append(args.out / "report.html")
        write_html_report(run, written[-1], dataset=loaded.dataset)
    for path in written:
        print(f"wrote {path}")
    return 3 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main())
