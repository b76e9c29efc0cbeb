"""Named filters in aggregates: ``share(households, x, where=is_poor)``.

The named form parses to the same IR as the old positional form
(``share(households, x, is_poor)``), so every engine gives the same findings; a misspelt
or misplaced keyword is a syntax error with a did-you-mean.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import attrs
import pytest

from fupin_rules.domain.dataset import load_dataset
from fupin_rules.errors import ExpressionSyntaxError
from fupin_rules.expr import parse
from fupin_rules.expr.ir import Aggregate, Expr, children
from fupin_rules.policy import load_policy
from fupin_rules.testing.engines import engine_names, run_engine

ROOT = Path(__file__).resolve().parents[3]
COUNTY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
ON = dt.date(2017, 12, 31)


@pytest.mark.parametrize(
    ("named", "positional"),
    [
        ("share(households, driven, where=is_poor)", "share(households, driven, is_poor)"),
        ("count(members, where=age >= 16)", "count(members, age >= 16)"),
        (
            "sum(loans, amount_yuan, where=year(issued_on) == 2017)",
            "sum(loans, amount_yuan, year(issued_on) == 2017)",
        ),
        (
            'min(steps, done_on, where=step == "application")',
            'min(steps, done_on, step == "application")',
        ),
        ("max(members, age, where = not is_student)", "max(members, age, not is_student)"),
        ("count(a, where=count(b, where=x) > 1)", "count(a, count(b, x) > 1)"),
    ],
)
def test_named_filter_is_the_positional_filter(named: str, positional: str) -> None:
    got = parse(named)
    assert isinstance(got, Aggregate)
    assert got.filter is not None
    assert got == parse(positional)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("share(households, x, wher=is_poor)", "no argument named wher=; did you mean where=?"),
        ("count(members, filter=is_poor)", "the only named argument is where="),
        ("all(members, x, where=y)", "all() takes no filter (where=)"),
        ("share(households, x, y, where=z)", "give the filter once"),
        ("sum(loans, where=x)", "takes 2 positional argument(s) (collection, value)"),
        ("count(members, where=x, y)", "put where= last"),
        ("coalesce(a, where=b)", "coalesce() takes no named arguments"),
        ("count(members, where=a, where=b)", "where= is given twice"),
        ("count(members, age = 16)", "to compare two values write =="),
    ],
)
def test_bad_named_filter_is_a_clear_syntax_error(text: str, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse(text, origin="rules.yaml:7")
    assert message in str(info.value)
    assert "rules.yaml:7" in str(info.value)


_AGGREGATE_START = re.compile(r"\b(count|sum|min|max|share)\(")


def _call_end(line: str, start: int) -> int | None:
    """Index after the parenthesis closing the call opened at ``start`` (None: not on this line)."""
    depth, quote = 0, ""
    for i in range(start, len(line)):
        ch = line[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _filters(node: Expr) -> list[Aggregate]:
    found = [node] if isinstance(node, Aggregate) and node.filter is not None else []
    for kid in children(node):
        found.extend(_filters(kid))
    return found


def _named_line(line: str) -> tuple[str, int]:
    """``line`` with every positional aggregate filter written as ``where=`` (and how many)."""
    inserts: set[int] = set()
    for match in _AGGREGATE_START.finditer(line):
        end = _call_end(line, match.end() - 1)
        if end is None:
            continue
        for agg in _filters(parse(line[match.start() : end])):
            assert agg.filter is not None and agg.filter.span is not None
            inserts.add(match.start() + agg.filter.span.start)
    for pos in sorted(inserts, reverse=True):
        line = line[:pos] + "where=" + line[pos:]
    return line, len(inserts)


def _named_copy(tmp_path: Path) -> tuple[Path, int]:
    copy = tmp_path / "policy"
    shutil.copytree(COUNTY, copy)
    total = 0
    for path in sorted(copy.rglob("*.yaml")):
        lines = path.read_text("utf-8").splitlines(keepends=True)
        rewritten = [_named_line(line) for line in lines]
        total += sum(n for _, n in rewritten)
        path.write_text("".join(text for text, _ in rewritten), "utf-8")
    return copy, total


@pytest.mark.parametrize("engine", engine_names())
def test_county_2017_with_named_filters_gives_the_same_findings(
    tmp_path: Path, engine: str
) -> None:
    """county_2017 rewritten with ``where=`` gives the positional package's findings."""
    named_dir, rewritten = _named_copy(tmp_path)
    assert rewritten >= 30  # most of the package's filtered aggregates
    old, new = load_policy(COUNTY), load_policy(named_dir)
    assert [v.expr for v in new.variables] == [v.expr for v in old.variables]
    assert old.cases
    for case in old.cases[::12]:  # a spread of the package's cases (all 171 take minutes)
        data = load_dataset(case.data).dataset
        want = run_engine(old, data, ON, engine, keep_not_applicable=True)
        got = run_engine(new, data, ON, engine, keep_not_applicable=True)
        assert not got.errors
        # the same findings, but for the hash of the package's text and the conditions'
        # source text (shown as the author wrote it, with where=)
        assert len(got.findings) == len(want.findings), case.id
        for have, expected in zip(got.findings, want.findings, strict=True):
            have = attrs.evolve(have, policy_hash=old.content_hash)
            assert repr(have).replace("where=", "") == repr(expected), case.id
