"""The coverage table in docs/ is generated from the installed county_2017 package and current."""

from __future__ import annotations

from pathlib import Path

from fupin_rules.policy import load_policy
from fupin_rules.policy.coverage import coverage_markdown

DOCS = Path(__file__).parents[2] / "docs"


def test_coverage_page_is_current() -> None:
    policy = load_policy("county_2017")
    expected = coverage_markdown(policy)
    assert (DOCS / "coverage.md").read_text(encoding="utf-8") == expected, (
        "docs/coverage.md is stale: run `fupin-rules coverage county_2017 -o docs/coverage.md`"
    )


def test_every_clause_is_encoded_or_explained() -> None:
    policy = load_policy("county_2017")
    for cid, clause in policy.clauses.items():
        encoded = any(r.clause == cid for r in policy.rules) or any(
            p.clause == cid for p in policy.parameters.values()
        )
        assert encoded or clause.uncovered or clause.text_missing, cid
    assert "clauses with neither an encoding nor a reason: none." in coverage_markdown(policy)
