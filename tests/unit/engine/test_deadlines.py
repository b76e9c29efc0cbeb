"""done_by(): an obligation with a deadline, the same in all three engines (issue 12, principle 1).

Past the deadline with nothing recorded is a fail (逾期未完成) naming the deadline and the
missing record; up to and on the deadline a missing record is not yet due (a pass that says so);
a record dated after the deadline is a fail too (逾期完成); a record dated after the as-of date
is not there yet.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from fupin_rules.errors import ExpressionSyntaxError, ExpressionTypeError
from fupin_rules.expr import DATE, parse
from fupin_rules.expr.deadline import deadline_state, deadline_value
from fupin_rules.expr.ir import done_by_lowered
from fupin_rules.expr.printer import to_source
from fupin_rules.expr.values import UNKNOWN
from fupin_rules.findings.model import Finding, Outcome
from fupin_rules.findings.render import explain, finding_to_json
from fupin_rules.policy import Policy, load_policy
from fupin_rules.testing.engines import case_dataset, engine_names, finding_of, run_engine

ROOT = Path(__file__).resolve().parents[3]
COUNTY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
D = dt.date
DEADLINE = D(2017, 11, 30)


@pytest.fixture(scope="module")
def county() -> Policy:
    return load_policy(COUNTY)


def _engines() -> list[str]:
    return engine_names()


def _finding(policy: Policy, data: Any, on: dt.date, engine: str, rule: str, sid: str) -> Finding:
    return finding_of(run_engine(policy, data, on, engine, keep_not_applicable=True), rule, sid)


def _data(policy: Policy, **relocation: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        (rl,) = [r for r in data["relocations"] if r["relocation_id"] == "RL1"]
        rl.update(relocation)

    return case_dataset(policy, "relocation.turnkey.last_day_of_november", change)


# --- the meaning, as a table --------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "on", "state", "value"),
    [
        (D(2017, 11, 30), D(2017, 12, 31), "done", True),  # on the deadline: in time
        (D(2017, 12, 1), D(2017, 12, 31), "late", False),  # one day late
        (UNKNOWN, D(2017, 11, 30), "not_due", True),  # nothing yet, on the deadline
        (UNKNOWN, D(2017, 12, 1), "overdue", False),  # nothing, the day after
        (D(2017, 12, 5), D(2017, 11, 20), "not_due", True),  # dated after the as-of date
        (D(2017, 12, 5), D(2017, 12, 4), "overdue", False),  # ... and the deadline passed
        (D(2017, 11, 1), D(2017, 11, 1), "done", True),  # recorded on the as-of date
    ],
)
def test_deadline_states(record: object, on: dt.date, state: str, value: object) -> None:
    assert deadline_state(record, DEADLINE, on) == state
    assert deadline_value(record, DEADLINE, on) is value


def test_unknown_deadline_is_unknown() -> None:
    assert deadline_state(D(2017, 1, 1), UNKNOWN, D(2017, 12, 31)) == "unknown"
    assert deadline_value(UNKNOWN, UNKNOWN, D(2017, 12, 31)) is UNKNOWN


def test_parse_print_and_lowering() -> None:
    e = parse('done_by(moved_in_on, param("relocation.move_in_deadline"))')
    assert to_source(e) == 'done_by(moved_in_on, param("relocation.move_in_deadline"))'
    assert "known(moved_in_on)" in to_source(done_by_lowered(e))  # type: ignore[arg-type]
    with pytest.raises(ExpressionSyntaxError, match="done_by"):
        parse("done_by(moved_in_on)")


def test_checker_wants_a_date_field(county: Policy) -> None:
    from fupin_rules.expr import check

    params = {"relocation.move_in_deadline": DATE}
    ok = parse('done_by(moved_in_on, param("relocation.move_in_deadline"))')
    check(ok, county.schema, "relocation", params=params, catalogues=(), text="")
    for bad, message in [
        ('done_by(year, param("relocation.move_in_deadline"))', "a date field"),
        ("done_by(moved_in_on, 5)", "deadline of done_by"),
        ('done_by(date("2017-01-01"), date("2017-12-31"))', "date field"),
    ]:
        with pytest.raises(ExpressionTypeError, match=message):
            check(parse(bad), county.schema, "relocation", params=params, catalogues=(), text=bad)


# --- the three engines ----------------------------------------------------------------------


@pytest.mark.parametrize("engine", _engines())
@pytest.mark.parametrize(
    ("turnkey_on", "on", "verdict", "state"),
    [
        (None, D(2017, 11, 30), Outcome.PASS, "not_due"),
        (None, D(2017, 12, 1), Outcome.FAIL, "overdue"),
        (D(2017, 11, 30), D(2017, 12, 1), Outcome.PASS, "done"),
        (D(2017, 12, 1), D(2017, 12, 31), Outcome.FAIL, "late"),
        (D(2017, 12, 5), D(2017, 11, 29), Outcome.PASS, "not_due"),
    ],
)
def test_turnkey_deadline_in_every_engine(
    county: Policy, engine: str, turnkey_on: Any, on: dt.date, verdict: Outcome, state: str
) -> None:
    f = _finding(
        county,
        _data(county, turnkey_on=turnkey_on),
        on,
        engine,
        "relocation.schedule.turnkey",
        "RL1",
    )
    assert f.verdict is verdict
    (cond,) = f.conditions
    (d,) = cond.deadlines
    assert (d.path, d.deadline, d.record, d.state) == ("turnkey_on", DEADLINE, turnkey_on, state)
    assert not f.missing  # a deadline that passed is a fail, not data to collect


@pytest.mark.parametrize("engine", _engines())
def test_overdue_explanation_names_deadline_and_record(county: Policy, engine: str) -> None:
    f = _finding(
        county,
        _data(county, turnkey_on=None),
        D(2018, 3, 1),
        engine,
        "relocation.schedule.turnkey",
        "RL1",
    )
    assert f.verdict is Outcome.FAIL
    zh = explain(f, "zh")
    assert "逾期未完成: 截止 2017-11-30, 未记录" in zh and "turnkey_on" in zh
    assert "overdue" in explain(f, "en")
    (c,) = finding_to_json(f)["conditions"]
    assert c["deadlines"] == [
        {
            "subject": "relocation:RL1",
            "record": "turnkey_on",
            "label_zh": f.conditions[0].deadlines[0].label_zh,
            "recorded_on": None,
            "deadline": "2017-11-30",
            "state": "overdue",
        }
    ]


@pytest.mark.parametrize("engine", _engines())
@pytest.mark.parametrize(
    ("on", "verdict"), [(D(2017, 12, 31), Outcome.PASS), (D(2018, 1, 1), Outcome.FAIL)]
)
def test_county_relocation_target_inside_an_aggregate(
    county: Policy, engine: str, on: dt.date, verdict: Outcome
) -> None:
    f = _finding(
        county,
        _data(county, moved_in_on=None),
        on,
        engine,
        "county.target.relocation_complete",
        "C1",
    )
    assert f.verdict is verdict


def test_condition_without_done_by_has_no_deadlines_key(county: Policy) -> None:
    f = _finding(
        county,
        _data(county),
        D(2017, 12, 31),
        "reference",
        "relocation.exit_measures_delivered",
        "RL1",
    )
    assert "deadlines" not in finding_to_json(f)["conditions"][0]


def test_the_authoring_guide_example_loads_in_the_county_policy(county: Policy) -> None:
    """The YAML block of docs/authoring.md's deadline section is the package's own rule."""
    import yaml

    text = (ROOT / "docs/authoring.md").read_text(encoding="utf-8")
    section = text.split("### Deadlines: `done_by`", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    (rule,) = yaml.safe_load(block)["rules"]
    (cond,) = rule["conditions"]
    (ours,) = [r for r in county.rules if r.id == rule["id"]]
    assert parse(cond["expr"]) == ours.conditions[0].expr
