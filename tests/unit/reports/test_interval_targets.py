"""County targets whose actual is known only as a range (issue 13): the Excel 县级目标 sheet and
the HTML target bars show it readably, with target, share, verdict and a bar; nothing cut off."""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction
from pathlib import Path

import openpyxl
import pytest

import fupin_rules as fr
from fupin_rules.cli import sample_data_path
from fupin_rules.expr.values import Interval
from fupin_rules.reports import write_problem_list
from fupin_rules.reports.excel import VERDICT_ZH, readable_number
from fupin_rules.reports.html import render_html

ON = dt.date(2017, 12, 31)


@pytest.fixture(scope="module")
def sample() -> tuple[fr.Evaluation, fr.LoadResult]:
    """The bundled sample county: its microcredit and relocation actuals have missing parts."""
    loaded = fr.load_data(sample_data_path())
    return fr.evaluate("county_2017", loaded, ON), loaded


def _interval_targets(ev: fr.Evaluation) -> list[fr.Finding]:
    found = [
        f
        for f in ev.findings
        if f.rule_kind == "target" and isinstance(dict(f.outputs).get("actual"), Interval)
    ]
    assert found, "the sample county has no target with a range actual any more"
    return found


def test_readable_number() -> None:
    assert readable_number(Fraction(2670000)) == "2,670,000"
    assert readable_number(Interval(Fraction(2670000), Fraction(2830000), 4)) == (
        "2,670,000 ~ 2,830,000 (4 项缺失)"
    )
    assert readable_number(Fraction(1, 4)) == "0.25"
    assert readable_number(None) == "未知"


def test_excel_county_targets_show_ranges_readably(
    sample: tuple[fr.Evaluation, fr.LoadResult], tmp_path: Path
) -> None:
    ev, loaded = sample
    path = tmp_path / "problems.xlsx"
    write_problem_list(ev, path, dataset=loaded.dataset)
    wb = openpyxl.load_workbook(path, read_only=True)
    header, *rows = list(wb["县级目标"].iter_rows(values_only=True))
    wb.close()
    by_rule = {r[header.index("规则编号")]: dict(zip(header, r, strict=True)) for r in rows}
    for f in _interval_targets(ev):
        out = dict(f.outputs)
        for col, name in (("实际", "actual"), ("差距", "gap")):
            v = out[name]
            want = f"{int(v.lo):,} ~ {int(v.hi):,} ({v.missing} 项缺失)"
            assert by_rule[f.rule_id][col] == want
    cells = [str(c) for r in rows for c in r if c is not None]
    assert not [c for c in cells if "{'lo'" in c]


def test_html_target_bars_show_target_share_verdict_and_a_bar(
    sample: tuple[fr.Evaluation, fr.LoadResult],
) -> None:
    ev, loaded = sample
    page = render_html(ev, dataset=loaded.dataset)
    chart = re.search(r'<svg id="target-chart".*?</svg>', page, re.S)
    assert chart
    width = int(re.search(r'width="(\d+)"', chart.group(0)).group(1))  # type: ignore[union-attr]
    bars = re.findall(r'<g class="target-bar">.*?</g>', chart.group(0), re.S)
    targets = sorted((f for f in ev.findings if f.rule_kind == "target"), key=fr.Finding.sort_key)
    assert len(bars) == len(targets)
    for f, bar in zip(targets, bars, strict=True):
        texts = re.findall(r"<text[^>]*>(.*?)</text>", bar)
        assert texts[0] == f.title_zh  # the whole title, never clipped
        label = texts[-1]
        out = dict(f.outputs)
        assert label.startswith(VERDICT_ZH[f.verdict.value] + " · ")  # verdict first: not clipped
        assert f"/ {readable_number(out['target'])} (" in label and "%" in label
        fills = re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', bar)
        actual = out["actual"]
        lo = actual.lo if isinstance(actual, Interval) else Fraction(actual)
        if lo > 0:
            assert float(fills[1][1]) > 0  # the done part is drawn
        # the label fits the drawing: CJK characters a full em (13 px), others 0.6 em
        x = float(re.findall(r'<text x="([\d.]+)"', bar)[-1])
        assert x + sum(13 if ord(c) >= 0x2E80 else 7.8 for c in label) <= width
    for f in _interval_targets(ev):
        v = dict(f.outputs)["actual"]
        assert f"{int(v.lo):,} ~ {int(v.hi):,} ({v.missing} 项缺失)" in chart.group(0)


def _px(text: str, size: int) -> float:
    return sum(size if ord(c) >= 0x2E80 else 0.6 * size for c in text)


def test_criteria_chart_shows_whole_titles_that_fit(
    sample: tuple[fr.Evaluation, fr.LoadResult],
) -> None:
    ev, loaded = sample
    page = render_html(ev, dataset=loaded.dataset)
    chart = re.search(r'<svg id="criteria-chart".*?</svg>', page, re.S)
    assert chart
    width = int(re.search(r'width="(\d+)"', chart.group(0)).group(1))  # type: ignore[union-attr]
    titles = {c.title_zh for f in ev.findings if f.subject_kind == "village" for c in f.conditions}
    assert "…" not in chart.group(0)
    for bar in re.findall(r'<g class="criterion-bar">.*?</g>', chart.group(0), re.S):
        (label,) = re.findall(r'<text x="12"[^>]*>(.*?)</text>', bar)
        assert label in titles  # whole
        first_rect = float(re.search(r'<rect x="([\d.]+)"', bar).group(1))  # type: ignore[union-attr]
        assert 12 + _px(label, 12) <= first_rect  # the title ends before its bar starts
        counts = re.findall(r"<text[^>]*>(符合 .*?)</text>", bar)
        x = float(re.findall(r'<text x="([\d.]+)"', bar)[-1])
        assert counts and x + _px(counts[0], 12) <= width
