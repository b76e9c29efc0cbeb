"""A child package adds one dated value to a parent's parameter with ``add_values:``
without repeating the parent's values (issue 14, Authoring); conflicts name file:line."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from fupin_rules.errors import PolicyLoadError
from fupin_rules.policy import load_policy_dir

DATA = Path(__file__).resolve().parents[2] / "data"
CHILD = DATA / "mini_policy_2018"
GRANT = "rain_and_dew.grant_yuan"


def test_child_adds_one_value_and_inherits_the_rest() -> None:
    parent = load_policy_dir(DATA / "mini_policy")
    child = load_policy_dir(CHILD)
    old, new = parent.parameters[GRANT], child.parameters[GRANT]
    assert new.values[:-1] == old.values  # the parent's values, not repeated in the child
    added = new.values[-1]
    assert (added.start, added.value, added.status) == (dt.date(2018, 9, 1), 6000, "assumed")
    # title, type, unit, clause, status and note are the parent's
    assert (new.title, new.type, new.unit, new.clause, new.status, new.note) == (
        old.title,
        old.type,
        old.unit,
        old.clause,
        old.status,
        old.note,
    )
    before, after = new.at(dt.date(2018, 8, 31)), new.at(dt.date(2018, 9, 1))
    assert before is not None and after is not None
    assert (before.value, before.start, before.end) == (
        5000,
        dt.date(2017, 9, 1),
        dt.date(2018, 8, 31),
    )
    assert (after.value, after.end) == (6000, None)
    assert old.at(dt.date(2018, 9, 1)).value == 5000  # type: ignore[union-attr]


def _child(tmp_path: Path, params: str) -> Path:
    shutil.copytree(DATA / "mini_policy", tmp_path / "mini_policy")
    dst = tmp_path / "mini_policy_2018"
    shutil.copytree(CHILD, dst)
    (dst / "parameters/params.yaml").write_text(params, "utf-8")
    return dst


def _problems(folder: Path) -> list[str]:
    with pytest.raises(PolicyLoadError) as info:
        load_policy_dir(folder)
    return list(info.value.problems)


@pytest.mark.parametrize(
    ("params", "line", "message"),
    [
        (  # the same start date as the parent's last value
            "parameters:\n  rain_and_dew.grant_yuan:\n    add_values:\n"
            "      - {start: 2017-09-01, value: 6000}\n",
            4,
            "2017-09-01 overlaps mini's value from 2017-09-01 (5000, defined at mini:parameters/params.yaml:3",
        ),
        (  # before the parent's last value: would cut the parent's period short
            "parameters:\n  rain_and_dew.grant_yuan:\n    add_values:\n"
            "      - {start: 2016-01-01, value: 6000}\n",
            4,
            "2016-01-01 overlaps mini's value from 2017-09-01",
        ),
        (  # two added values out of order
            "parameters:\n  rain_and_dew.grant_yuan:\n    add_values:\n"
            "      - {start: 2019-01-01, value: 7000}\n"
            "      - {start: 2018-09-01, value: 6000}\n",
            5,
            "2018-09-01 overlaps the value added before it, from 2019-01-01",
        ),
        (  # a parameter the parent does not have
            "parameters:\n  rain_and_dew.grant_yuann:\n    add_values:\n"
            "      - {start: 2018-09-01, value: 6000}\n",
            3,
            "the parent mini has no parameter 'rain_and_dew.grant_yuann'; did you mean "
            "'rain_and_dew.grant_yuan'?",
        ),
        (  # add_values with values: one or the other
            "parameters:\n  rain_and_dew.grant_yuan:\n    values: []\n    add_values:\n"
            "      - {start: 2018-09-01, value: 6000}\n",
            3,
            "unknown key 'values'",
        ),
        (  # the parent's type still holds
            "parameters:\n  rain_and_dew.grant_yuan:\n    add_values:\n"
            "      - {start: 2018-09-01, value: lots}\n",
            4,
            "add_values[0].value",
        ),
    ],
)
def test_conflicts_name_file_and_line(tmp_path: Path, params: str, line: int, message: str) -> None:
    problems = _problems(_child(tmp_path, params))
    found = [p for p in problems if message in p]
    assert found, problems
    assert f"params.yaml:{line}" in found[0].split(": ", 1)[0], found[0]


def test_add_values_without_a_parent_is_an_error(tmp_path: Path) -> None:
    dst = tmp_path / "mini"
    shutil.copytree(DATA / "mini_policy", dst)
    params = dst / "parameters/params.yaml"
    params.write_text(
        params.read_text("utf-8")
        + "  extra.yuan:\n    add_values:\n      - {start: 2018-09-01, value: 1}\n",
        "utf-8",
    )
    problems = _problems(dst)
    assert any("this package extends no other package" in p for p in problems), problems
