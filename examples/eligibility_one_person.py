"""Is this person eligible for the Rain and Dew grant (雨露计划), for how much, and why?

Runs on the bundled sample county. The grant rose from 3000 to 5000 yuan from the 2017 autumn
term (三(二)2), so the same student is asked about the day before and the first day of term::

    python examples/eligibility_one_person.py              # the first eligible student
    python examples/eligibility_one_person.py P00000446    # a person of your choice
"""

from __future__ import annotations

import datetime as dt
import sys

import fupin_rules as fr
from fupin_rules.cli import sample_data_path

RULE = "person.rain_and_dew.grant"
UNDER_POLICY = {"registered_poor", "pre_exit_2017", "newly_added", "returned_to_poverty", "exited"}
#: 与户主关系 that are not 贫困家庭子女 (the head, the spouse, older generations; see county_2017)
NOT_CHILDREN = {"head", "spouse", "father", "mother", "grandfather", "grandmother"}


def first_eligible_student(dataset: fr.Dataset) -> str:
    """A vocational student (中职/高职), a child of a registered-poor household under policy."""
    status = {h.household_id: h.poverty_status for h in dataset.households}
    for p in dataset.persons:
        vocational = p.school_level in ("secondary_vocational", "higher_vocational")
        child = p.relationship is not None and p.relationship not in NOT_CHILDREN
        if vocational and child and status.get(p.household_id) in UNDER_POLICY:
            return p.person_id
    raise SystemExit("no eligible student in the sample county")


def main(argv: list[str] | None = None) -> int:
    """Print the finding for one person on two dates, in Chinese and English."""
    args = sys.argv[1:] if argv is None else argv
    ev = fr.Evaluator("county_2017", sample_data_path())  # the index is built once
    person_id = args[0] if args else first_eligible_student(ev.dataset)
    for on in (dt.date(2017, 8, 31), dt.date(2017, 9, 1)):
        finding = ev.eligibility(person_id, RULE, on)
        print(f"== {person_id} on {on}: {finding.verdict.value}, amount {finding.amount}")
        print(fr.explain(finding, "zh"))
        print(fr.explain(finding, "en"))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
