"""The HTML report's inline SVG charts: county target progress (actual against target) and
village criteria pass rates (pass / fail / unknown villages per condition)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from fractions import Fraction
from typing import Any

from fupin_rules.engine.run import Evaluation
from fupin_rules.expr.values import Interval
from fupin_rules.findings.model import Finding
from fupin_rules.reports._html_page import _e
from fupin_rules.reports.model import VERDICT_ZH, output_value, readable_number

__all__: list[str] = []

_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "unknown": "#f9a825"}


def _fraction(value: Any) -> Fraction | None:
    if isinstance(value, Fraction | Decimal | int) and not isinstance(value, bool):
        return Fraction(value)
    return None


def _percent(share: Fraction | None) -> str:
    if share is None:
        return "—"
    pct = float(share * 100)
    if 0 < pct < 0.1:
        return f"{pct:.2g}%"
    return f"{pct:.1f}%"


def _text_px(text: str, size: int) -> float:
    """Width of a line of SVG text, generous enough that nothing is cut off: CJK characters
    are a full em, others about 0.6 em."""
    return sum(size if ord(ch) >= 0x2E80 else 0.6 * size for ch in text)


def _bounds(value: Any) -> tuple[Fraction, Fraction] | None:
    """(lo, hi) of an exact number or of a range known up to missing parts; None otherwise."""
    if isinstance(value, Interval):
        return Fraction(value.lo), Fraction(value.hi)
    frac = _fraction(value)
    return None if frac is None else (frac, frac)


def _target_chart(ev: Evaluation) -> str:
    """Actual against target per county target: the full title above each bar, then the verdict
    first (never cut off), actual / target and the share. An actual known only as a range
    (missing parts) draws the known part solid and the undecided part pale."""
    targets = sorted((f for f in ev.findings if f.rule_kind == "target"), key=Finding.sort_key)
    head = (
        '<section id="targets"><h2>县级目标完成情况 '
        "<small class=en>county target progress: actual vs target</small></h2>"
    )
    if not targets:
        return (
            head
            + "<p>本次评估没有县级目标。<small class=en>No target findings.</small></p></section>"
        )
    bar_w, row_h, gap = 440, 50, 10
    rows = []
    for f in targets:
        actual, target = output_value(f, "actual"), output_value(f, "target")
        a, t = _bounds(actual), _fraction(target)
        shares = None if a is None or t is None or t == 0 else (a[0] / t, a[1] / t)
        if shares is None:
            pct = "—"
        elif shares[0] == shares[1]:
            pct = _percent(shares[0])
        else:
            pct = f"{_percent(shares[0])} ~ {_percent(shares[1])}"
        label = (
            f"{VERDICT_ZH[f.verdict.value]} · {readable_number(actual)} / "
            f"{readable_number(target)} ({pct})"
        )
        rows.append((f, actual, target, shares, label))
    width = int(
        max(
            max(bar_w + gap + _text_px(label, 13) for *_, label in rows),
            max(_text_px(f.title_zh, 13) for f, *_ in rows),
        )
        + 20
    )
    height = row_h * len(targets) + 10
    parts = [
        f'<svg id="target-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        "<title>县级目标完成情况 county target progress</title>"
    ]

    def clamp(x: Fraction) -> float:
        return float(min(max(x, Fraction(0)), Fraction(1)))

    for i, (f, actual, target, shares, label) in enumerate(rows):
        y = 5 + i * row_h
        fill = _COLOURS.get(f.verdict.value, "#9aa5b1")
        lo, hi = (0.0, 0.0) if shares is None else (clamp(shares[0]), clamp(shares[1]))
        tip = f"{f.title_zh} ({f.rule_id}): {readable_number(actual)} / {readable_number(target)}"
        pale = (
            f'<rect x="{bar_w * lo:.1f}" y="{y + 22}" width="{bar_w * (hi - lo):.1f}" '
            f'height="20" fill="{fill}" fill-opacity="0.35" rx="3"/>'
            if hi > lo
            else ""
        )
        parts.append(
            f'<g class="target-bar"><title>{_e(tip)}</title>'
            f'<text x="0" y="{y + 15}" font-size="13">{_e(f.title_zh)}</text>'
            f'<rect x="0" y="{y + 22}" width="{bar_w}" height="20" fill="#e4e7eb" rx="3"/>'
            f'<rect x="0" y="{y + 22}" width="{bar_w * lo:.1f}" height="20" '
            f'fill="{fill}" rx="3"/>{pale}'
            f'<text x="{bar_w + gap}" y="{y + 37}" font-size="13">{_e(label)}</text></g>'
        )
    parts.append("</svg>")
    return head + "".join(parts) + "</section>"


def _criteria_chart(ev: Evaluation) -> str:
    head = (
        '<section id="criteria"><h2>村级标准达标情况 '
        "<small class=en>village criteria: pass / fail / unknown villages per condition"
        "</small></h2>"
    )
    rules: dict[str, tuple[Finding, dict[str, tuple[str, Counter[str]]]]] = {}
    for f in ev.findings:
        if f.subject_kind != "village":
            continue
        _, conds = rules.setdefault(f.rule_id, (f, {}))
        for c in f.conditions:
            conds.setdefault(c.id, (c.title_zh or c.id, Counter()))[1][c.outcome.value] += 1
    if not rules:
        return (
            head
            + "<p>本次评估没有村级规则。<small class=en>No village findings.</small></p></section>"
        )
    # every text whole: the label column as wide as the longest condition title, the drawing
    # as wide as its longest line
    bar_w, row_h, group_h = 440, 26, 26
    label_w = int(
        max([330.0] + [12 + _text_px(t, 12) + 12 for _, c in rules.values() for t, _ in c.values()])
    )
    longest = max(
        _text_px(f"符合 {c['pass']} · 不符合 {c['fail']} · 无法判定 {c['unknown']} (100.0%)", 12)
        for _, conds in rules.values()
        for _, c in conds.values()
    )
    groups = max(
        _text_px(f.title_zh, 13) + _text_px(f" {rid} 第{f.clause}条", 11)
        for rid, (f, _) in rules.items()
    )
    width = int(max(label_w + bar_w + 8 + longest, groups) + 20)
    nrows = sum(len(conds) for _, conds in rules.values())
    height = nrows * row_h + len(rules) * group_h + 10
    legend = "".join(
        f'<span style="background:{_COLOURS[k]}"></span>{_e(VERDICT_ZH[k])}'
        for k in ("pass", "fail", "unknown")
    )
    parts = [
        f'<p class="legend">{legend}</p>',
        f'<svg id="criteria-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        "<title>村级标准达标情况 village criteria pass rates</title>",
    ]
    y = 5
    for rid in sorted(rules):
        first, conds = rules[rid]
        parts.append(
            f'<text x="0" y="{y + 18}" font-size="13" font-weight="bold">'
            f'{_e(first.title_zh)} <tspan fill="#65727f" font-size="11">'
            f"{_e(rid)} 第{_e(first.clause)}条</tspan></text>"
        )
        y += group_h
        for title, counts in conds.values():
            total = sum(counts.values())
            parts.append(f'<g class="criterion-bar"><title>{_e(title)}</title>')
            parts.append(f'<text x="12" y="{y + 16}" font-size="12">{_e(title)}</text>')
            x = float(label_w)
            for key in ("pass", "fail", "unknown"):
                w = bar_w * counts[key] / total if total else 0.0
                if w:
                    parts.append(
                        f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="16" '
                        f'fill="{_COLOURS[key]}"/>'
                    )
                x += w
            rate = f"{100 * counts['pass'] / total:.1f}%" if total else "—"
            parts.append(
                f'<text x="{label_w + bar_w + 8}" y="{y + 16}" font-size="12">'
                f"符合 {counts['pass']} · 不符合 {counts['fail']} · 无法判定 {counts['unknown']}"
                f" ({_e(rate)})</text></g>"
            )
            y += row_h
    parts.append("</svg>")
    return head + "".join(parts) + "</section>"
