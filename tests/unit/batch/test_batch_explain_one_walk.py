"""The batch explainer reads what compiling the rules recorded: the IR is walked once.

:func:`~fupin_rules.batch.engine.compile_rule` compiles each rule with a recorder, so the
compiler's walk also lists the read sites (values, reaches, aggregates' child scopes, derived
variables) that the explanation needs. Explaining the findings afterwards must not compile the
rules' expressions again: the only expressions it compiles are the drill-down tests (the
children named behind a failing aggregate), which are queries of their own.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import fupin_rules as fr
from fupin_rules.batch import compute
from fupin_rules.batch.compiler import Compiler
from fupin_rules.batch.explain import materialize_findings
from fupin_rules.cli import sample_data_path
from fupin_rules.findings.model import Outcome
from fupin_rules.policy import load_policy

ROOT = Path(__file__).resolve().parents[3]
COUNTY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
ON = dt.date(2017, 12, 31)
_COMPILER_FILES = {"compiler.py", "compile_aggregate.py"}


def test_explaining_findings_compiles_only_drill_down_tests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = load_policy(COUNTY)
    result = compute(policy, fr.load_data(sample_data_path()).dataset, ON)
    assert all(rf.sites is not None for rf in result.rules.values())
    callers: Counter[str] = Counter()
    depth = [0]
    real = Compiler.compile

    def spy(self: Compiler, node: Any, kind: str, record: Any = None) -> Any:
        if depth[0] == 0:  # who asked, outside the compiler's own recursion
            frame = sys._getframe(1)
            while Path(frame.f_code.co_filename).name in _COMPILER_FILES:
                assert frame.f_back is not None
                frame = frame.f_back
            callers[frame.f_code.co_name] += 1
        depth[0] += 1
        try:
            return real(self, node, kind, record)
        finally:
            depth[0] -= 1

    monkeypatch.setattr(Compiler, "compile", spy)
    findings, _ = materialize_findings(result, "all", True)

    conditions = [c for f in findings for c in f.conditions]
    # the explanations are full ones: values read, parameters, missing fields, drill-downs
    assert any(c.reads for c in conditions)
    assert any(f.parameters for f in findings)
    assert any(c.missing for c in conditions if c.outcome is Outcome.UNKNOWN)
    assert any(c.children for c in conditions if c.outcome is Outcome.FAIL)
    assert callers["drill_hits"] > 0
    assert set(callers) == {"drill_hits"}, callers
