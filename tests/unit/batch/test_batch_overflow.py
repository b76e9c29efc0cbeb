"""The batch engine's exact integers are 128-bit: beyond them a rule is an error row, never a
wrapped-around answer, and never the end of the run (issue 17, "Engines").

Before: ``collective_income_yuan * 10^34 > 0`` was a fail in batch (polars ``Int128``
multiplication wraps around to a negative number) and a pass in the reference engine; a count
above ``Int128`` that passes validation killed the whole batch run with OverflowError; a count of
30 digits was rounded to 28 significant digits.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import fupin_rules as fr
from fupin_rules.batch import evaluate_batch
from fupin_rules.engine.run import Evaluation
from fupin_rules.policy import Policy, load_policy_dir

ON = dt.date(2017, 12, 31)
BIG = 10**34

RULES = f"""rules:
  - id: village.test.times_big
    clause: 三(三)
    title: {{zh: 测试：乘以10的34次方, en: "Test: times 10^34"}}
    entity: village
    kind: compliance
    status: assumed
    note: a product beyond Int128 for any income of a cent or more
    conditions:
      - id: positive
        title: {{zh: 为正, en: Positive}}
        expr: collective_income_yuan * {BIG} > 0
  - id: village.test.entities
    clause: 三(三)
    title: {{zh: 测试：市场主体数, en: "Test: market entities"}}
    entity: village
    kind: compliance
    status: assumed
    note: reads a count that validation does not bound
    conditions:
      - id: counted
        title: {{zh: 非负, en: Not negative}}
        expr: new_market_entities_count >= 0
      - id: exact
        title: {{zh: 精确, en: Exact}}
        expr: new_market_entities_count == {10**30 + 1}
"""


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Policy:
    root = tmp_path_factory.mktemp("overflow") / "mini"
    shutil.copytree(Path(request.config.rootpath) / "tests/data/mini_policy", root)
    (root / "rules" / "big.yaml").write_text(RULES, encoding="utf-8")
    return load_policy_dir(root)


def _data(policy: Policy, **village: Any) -> fr.LoadResult:
    case = next(c for c in policy.cases if c.id == "village.exactly_two_percent_fails")
    data = json.loads(json.dumps(case.data, default=str))
    data["villages"][0].update(village)
    loaded = fr.load_data(data)
    assert not loaded.issues, loaded.issues
    return loaded


def _verdicts(ev: Evaluation) -> dict[tuple[str, str], tuple[str, dict[str, str]]]:
    return {
        (f.rule_id, f.subject_id): (str(f.verdict), {c.id: str(c.outcome) for c in f.conditions})
        for f in ev.findings
    }


def _errors(ev: Evaluation) -> dict[str, str]:
    return {e.rule_id or "": e.message for e in ev.errors}


def test_a_product_beyond_int128_is_an_error_row_not_a_wrong_answer(policy: Policy) -> None:
    loaded = _data(policy, collective_income_yuan="60000.01")
    reference = fr.evaluate(policy, loaded, ON, engine="reference")
    batch = evaluate_batch(policy, loaded, ON, materialize="all")
    ref = _verdicts(reference)
    assert ref[("village.test.times_big", "V1")][1] == {"positive": "pass"}
    # the rule is an error row naming the limit; no finding of it at all (not a wrong fail)
    errors = _errors(batch)
    assert "village.test.times_big" in errors
    assert "128-bit" in errors["village.test.times_big"]
    assert "BatchOverflowError" in errors["village.test.times_big"]
    got = _verdicts(batch)
    assert not [k for k in got if k[0] == "village.test.times_big"]
    # every other rule is as the reference engine has it
    assert {k: v for k, v in got.items() if k[0] != "village.test.times_big"} == {
        k: v for k, v in ref.items() if k[0] != "village.test.times_big"
    }


def test_a_count_beyond_int128_fails_only_the_rules_reading_it(policy: Policy) -> None:
    loaded = _data(policy, new_market_entities_count=10**40, collective_income_yuan="0")
    reference = fr.evaluate(policy, loaded, ON, engine="reference")
    batch = evaluate_batch(policy, loaded, ON, materialize="all")  # was an OverflowError
    assert set(_errors(batch)) == {"village.test.entities"}
    assert "new_market_entities_count" in _errors(batch)["village.test.entities"]
    ref = {k: v for k, v in _verdicts(reference).items() if k[0] != "village.test.entities"}
    assert ref[("village.test.times_big", "V1")] == ("fail", {"positive": "fail"})  # 0 * 10^34
    assert _verdicts(batch) == ref


def test_a_30_digit_count_is_read_exactly(policy: Policy) -> None:
    loaded = _data(policy, new_market_entities_count=10**30 + 1, collective_income_yuan="0")
    batch = evaluate_batch(policy, loaded, ON, materialize="all")
    reference = fr.evaluate(policy, loaded, ON, engine="reference")
    want = ("pass", {"counted": "pass", "exact": "pass"})
    assert _verdicts(reference)[("village.test.entities", "V1")] == want
    assert _verdicts(batch)[("village.test.entities", "V1")] == want  # was rounded: a fail
    assert not batch.errors
