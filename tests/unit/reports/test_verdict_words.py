"""One Chinese vocabulary for verdicts: report cells and explanations use the same words."""

from __future__ import annotations

from fupin_rules.findings.model import Outcome
from fupin_rules.reports.model import VERDICT_ZH


def test_report_words_are_the_outcome_words() -> None:
    for o in Outcome:
        assert VERDICT_ZH[o.value] == o.label_zh
        assert o.zh.startswith(o.label_zh)  # explanations may add why (数据缺失)
    assert Outcome.UNKNOWN.zh == "无法判定(数据缺失)"
