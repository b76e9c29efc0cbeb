"""The HTML report: one self-contained page (inline CSS, inline SVG charts, no network).

:func:`write_html_report` writes key numbers, county target progress, village criteria pass
rates and drill-down tables: per village (what the text states first), and per rule in two
sections, 文件明确规定的问题 (resting on the text only) and 依据假设的问题 (resting on an assumed
reading or value), each with its count. Output is byte-identical for identical input: no
timestamps, stable order, fixed number formatting. All text is escaped.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fupin_rules._gc import gc_paused
from fupin_rules._version import __version__
from fupin_rules.domain.dataset import Dataset
from fupin_rules.engine.run import Evaluation
from fupin_rules.expr.values import Interval
from fupin_rules.findings.model import Finding, Outcome
from fupin_rules.findings.render import explain, failing_summary
from fupin_rules.reports._files import replacing
from fupin_rules.reports.json_report import not_in_force_notice, summary
from fupin_rules.reports.model import (
    KIND_ZH,
    RULE_KIND_ZH,
    VERDICT_ZH,
    SubjectDirectory,
    level_of,
    missing_data,
    order_findings,
    output_value,
    readable_number,
    report_findings,
    split_by_assumptions,
    village_counts,
)

if TYPE_CHECKING:
    from fupin_rules.runs.tracking import Tracking

__all__ = ["DEFAULT_MAX_ROWS", "render_html", "write_html_report"]

#: rows shown per drill-down table; the rest is counted and left to the Excel file
DEFAULT_MAX_ROWS = 20

_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "unknown": "#f9a825"}

_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;
margin:0;color:#1f2933;background:#f5f7fa;line-height:1.45}
header,main,footer{max-width:1200px;margin:0 auto;padding:0 20px}
header{padding-top:16px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:28px 0 8px}
small.en,.en{color:#65727f;font-size:12px;font-weight:normal}
dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0;font-size:14px}
dl.prov dt{color:#52606d}dl.prov dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border-radius:8px;padding:10px 16px;min-width:140px;box-shadow:0 1px 3px #0002}
.card b{display:block;font-size:28px}.card.fail b{color:#c62828}.card.unknown b{color:#b7791f}
.warn{background:#fff4e5;border-left:4px solid #c62828;padding:6px 10px}
section{background:#fff;border-radius:8px;padding:4px 18px 14px;margin:16px 0;box-shadow:0 1px 3px #0001}
svg{max-width:100%;height:auto;font-family:inherit}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #e4e7eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef2f7;position:sticky;top:0}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.nw{white-space:nowrap}td.x{min-width:4em}
.v{display:inline-block;border-radius:4px;padding:0 6px;color:#fff;font-size:12px;white-space:nowrap}
.v.fail{background:#c62828}.v.unknown{background:#b7791f}.v.pass{background:#2e7d32}
.v.assumed{background:#6a1b9a;margin-left:4px}
details.drill{border:1px solid #e4e7eb;border-radius:6px;margin:6px 0;padding:2px 8px}
details.drill>summary{cursor:pointer;padding:4px 0;font-weight:600}
pre{white-space:pre-wrap;font-size:12px;background:#f8fafc;padding:6px;margin:4px 0}
.more{color:#52606d;font-style:italic}
.tools{display:flex;gap:8px;align-items:center;margin:6px 0}
.tools input{padding:5px 8px;font-size:14px;min-width:280px}
.legend span{display:inline-block;width:11px;height:11px;margin:0 4px 0 12px;vertical-align:-1px}
footer{color:#65727f;font-size:12px;padding-bottom:24px}
"""

_JS = """
(function(){
var q=document.getElementById('q');
function apply(){var t=q.value.trim().toLowerCase();
document.querySelectorAll('details.drill').forEach(function(d){var n=0;
d.querySelectorAll('tbody tr').forEach(function(r){
var ok=!t||r.textContent.toLowerCase().indexOf(t)>=0;r.hidden=!ok;if(ok){n++;}});
var s=d.querySelector('summary').textContent.toLowerCase();
d.hidden=!(!t||n>0||s.indexOf(t)>=0);if(t&&n>0){d.open=true;}});}
q.addEventListener('input',apply);
document.getElementById('open-all').addEventListener('click',function(){
document.querySelectorAll('details.drill').forEach(function(d){d.open=true;});});
document.getElementById('close-all').addEventListener('click',function(){
document.querySelectorAll('details.drill').forEach(function(d){d.open=false;});});
})();
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(n: int) -> str:
    return f"{n:,}"


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


def _badge(verdict: Outcome) -> str:
    return f'<span class="v {verdict.value}">{_e(VERDICT_ZH[verdict.value])}</span>'


def _assumed_badge(f: Finding) -> str:
    """A badge on a finding that rests on an assumed reading or value (empty otherwise)."""
    if not f.assumptions:
        return ""
    return (
        f'<span class="v assumed" title="{_e(", ".join(f.assumptions))}">依据假设 '
        "<small class=en>assumed</small></span>"
    )


def _subject(f: Finding, subjects: SubjectDirectory) -> str:
    name = subjects.name(f.subject_kind, f.subject_id)
    text = f"{KIND_ZH.get(f.subject_kind, f.subject_kind)} {f.subject_id}"
    return _e(text) + (f" <small>{_e(name)}</small>" if name else "")


def _why(f: Finding) -> str:
    if f.verdict is Outcome.UNKNOWN:
        return "; ".join(m.render("zh") for m in f.missing)
    return failing_summary(f, "zh")


def _more(shown: int, total: int, ncols: int) -> str:
    if total <= shown:
        return ""
    rest = total - shown
    return (
        f'<tr class="more-row"><td colspan="{ncols}" class="more">… 另有 {_num(rest)} 条'
        f"(见 Excel 问题清单) <span class=en>… {_num(rest)} more (see the Excel file)</span>"
        "</td></tr>"
    )


def _header(ev: Evaluation) -> str:
    versions = sorted({f.engine_version for f in ev.findings}) or [__version__]
    rows = [
        ("政策", "policy", ev.policy_id),
        ("版本", "version", ev.policy_version),
        ("内容哈希", "content hash", ev.policy_hash),
        ("判定日期", "as of", ev.on.isoformat()),
        ("引擎", "engine", f"{ev.engine} (fupin_rules {', '.join(versions)})"),
    ]
    items = "".join(
        f"<dt>{_e(zh)} <small class=en>{_e(en)}</small></dt><dd>{_e(v)}</dd>" for zh, en, v in rows
    )
    notice = not_in_force_notice(ev)
    warn = (
        f'<p class="warn" id="not-in-force"><b>不在效力期 not in force</b> {_e(notice[0])}<br>'
        f"<small class=en>{_e(notice[1])}</small></p>"
        if notice
        else ""
    )
    return (
        "<header><h1>扶贫政策回头看 问题清单报告 "
        "<small class=en>policy review (回头看) problem report</small></h1>"
        f'<dl class="prov">{items}</dl>{warn}</header>'
    )


def _cards(ev: Evaluation) -> str:
    s = summary(ev)
    cards = [
        ("findings", "", "判定总数", "findings", s["findings"]),
        ("problems", "fail", "不符合(问题)", "problems", s["problems"]),
        (
            "problems-stated",
            "",
            "其中文件明确规定",
            "of which stated by the text",
            s["problems_text_stated"],
        ),
        (
            "problems-assumed",
            "",
            "其中依据假设",
            "of which resting on assumptions",
            s["problems_assumed"],
        ),
        ("unknowns", "unknown", "无法判定(待补数据)", "unknown: data missing", s["unknown"]),
        ("rejected", "", "被拒输入行", "rejected input rows", s["rejected_rows"]),
        ("unit-errors", "", "评估失败单元", "failed units", s["unit_errors"]),
        ("not-applicable", "", "不适用(未列出)", "not applicable", s["not_applicable"]),
    ]
    body = "".join(
        f'<div class="card {cls}" id="n-{key}"><b>{_num(n)}</b>{_e(zh)}<br>'
        f"<small class=en>{_e(en)}</small></div>"
        for key, cls, zh, en, n in cards
    )
    return (
        '<section id="numbers"><h2>关键数字 <small class=en>key numbers</small></h2>'
        f'<div class="cards">{body}</div></section>'
    )


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


def _finding_rows(
    findings: Sequence[Finding], subjects: SubjectDirectory, max_rows: int
) -> Iterable[str]:
    for f in findings[:max_rows]:
        yield (
            f'<tr><td class="nw">{_subject(f, subjects)}</td><td>{_e(f.title_zh)}<br>'
            f'<small class=en>{_e(f.rule_id)}</small></td><td class="nw">{_e(f.clause)}</td>'
            f"<td>{_badge(f.verdict)}{_assumed_badge(f)}</td><td>{_e(_why(f))}</td>"
            '<td class="x"><details><summary>说明</summary>'
            f"<pre>{_e(explain(f, 'zh'))}</pre></details></td></tr>"
        )
    yield _more(min(len(findings), max_rows), len(findings), 6)


_VILLAGE_HEAD = (
    "<thead><tr><th>对象</th><th>问题 <small class=en>rule</small></th><th>条款</th>"
    "<th>判定</th><th>不符合条件 / 缺失数据</th><th>说明</th></tr></thead>"
)


def _villages(
    ev: Evaluation, listed: Sequence[Finding], subjects: SubjectDirectory, max_rows: int
) -> str:
    groups: dict[str, list[Finding]] = {}
    for f in listed:
        if level_of(f.subject_kind) != "county":
            groups.setdefault(subjects.village(f.subject_kind, f.subject_id), []).append(f)
    counts = village_counts(ev, subjects)
    out = [
        '<section id="villages"><h2>按村查看 <small class=en>problems by village</small></h2>',
        '<div class="tools"><input id="q" type="search" placeholder="筛选: 编码、规则、条件… '
        'filter">'
        '<button id="open-all" type="button">全部展开</button>'
        '<button id="close-all" type="button">全部收起</button></div>',
    ]
    if not counts:
        out.append(
            "<p>没有村、户或人员层级的问题。<small class=en>No problems below county level.</small></p>"
        )
    else:
        out.append(
            '<table id="village-table"><thead><tr><th>村</th><th>村名称</th>'
            '<th class="n">不符合</th><th class="n">村级</th><th class="n">户级</th>'
            '<th class="n">人员</th><th class="n">无法判定</th></tr></thead><tbody>'
        )
        for i, (vid, c) in enumerate(counts):
            label = vid or "(未归村)"
            out.append(
                f'<tr><td><a href="#v{i}">{_e(label)}</a></td>'
                f"<td>{_e(subjects.name('village', vid) if vid else '')}</td>"
                f'<td class="n">{c["fail"]}</td><td class="n">{c["fail:village"]}</td>'
                f'<td class="n">{c["fail:household"]}</td><td class="n">{c["fail:person"]}</td>'
                f'<td class="n">{c["unknown"]}</td></tr>'
            )
        out.append("</tbody></table>")
    for i, (vid, c) in enumerate(counts):
        stated, assumed = split_by_assumptions(groups.get(vid, []))
        fs = stated + assumed  # what the text states first
        name = subjects.name("village", vid) if vid else ""
        label = f"村 {vid}" if vid else "未归村 (未提供数据集时户、人员问题归此) no village known"
        out.append(
            f'<details class="drill" id="v{i}"><summary>{_e(label)} {_e(name)} — '
            f"不符合 {c['fail']}, 无法判定 {c['unknown']}</summary>"
            f"<table>{_VILLAGE_HEAD}<tbody>"
        )
        out.extend(_finding_rows(fs, subjects, max_rows))
        out.append("</tbody></table></details>")
    out.append("</section>")
    return "".join(out)


def _rule_drills(listed: Sequence[Finding], subjects: SubjectDirectory, max_rows: int) -> str:
    """One drill-down per rule: its subjects, verdicts and why, capped at ``max_rows``."""
    groups: dict[str, list[Finding]] = {}
    for f in listed:
        groups.setdefault(f.rule_id, []).append(f)
    out: list[str] = []
    if not groups:
        out.append("<p>没有问题。<small class=en>No problems.</small></p>")
    for rid in sorted(groups):
        fs = groups[rid]
        first = fs[0]
        n_fail = sum(1 for f in fs if f.verdict is Outcome.FAIL)
        n_unknown = sum(1 for f in fs if f.verdict is Outcome.UNKNOWN)
        kind = RULE_KIND_ZH.get(first.rule_kind, first.rule_kind)
        basis = sorted({a for f in fs for a in f.assumptions})
        assumed = (
            f"<br><small>依据假设 <span class=en>assumed</span>: {_e(', '.join(basis))}</small>"
            if basis
            else ""
        )
        out.append(
            f'<details class="drill"><summary>{_e(first.title_zh)} '
            f"<small class=en>{_e(rid)} · 第{_e(first.clause)}条 · {_e(kind)}</small> — "
            f"不符合 {n_fail}, 无法判定 {n_unknown}{assumed}</summary><table><thead><tr>"
            "<th>所属村</th><th>对象</th><th>判定</th><th>不符合条件 / 缺失数据</th></tr></thead>"
            "<tbody>"
        )
        for f in fs[:max_rows]:
            vid = subjects.village(f.subject_kind, f.subject_id)
            out.append(
                f'<tr><td>{_e(vid)}</td><td class="nw">{_subject(f, subjects)}</td>'
                f"<td>{_badge(f.verdict)}{_assumed_badge(f)}</td><td>{_e(_why(f))}</td></tr>"
            )
        out.append(_more(min(len(fs), max_rows), len(fs), 4))
        out.append("</tbody></table></details>")
    return "".join(out)


def _rules(
    ev: Evaluation, listed: Sequence[Finding], subjects: SubjectDirectory, max_rows: int
) -> str:
    """The 问题清单 by rule, in two sections: 文件明确规定的问题 (resting on no assumption) and
    依据假设的问题 (resting on an assumed reading, catalogue or value), each with its count of
    problems (the JSON summary's ``problems_text_stated`` / ``problems_assumed``) and of the
    undecided findings listed with it."""
    s = summary(ev)
    stated, assumed = split_by_assumptions(listed)
    parts = (
        (
            "stated",
            stated,
            "文件明确规定的问题",
            "problems stated by the text",
            s["problems_text_stated"],
            "文件原文规定的义务或标准,不依据任何假定。",
            "Rests on the document's text only.",
        ),
        (
            "assumed",
            assumed,
            "依据假设的问题",
            "problems resting on assumptions",
            s["problems_assumed"],
            "判定依据对文件的假定解读、假定目录或假定数值(见各规则的“依据假设”):"
            "核实假设后再通知整改。",
            "Rests on an assumed reading, catalogue or value: check the assumption before "
            "anyone is told to correct it.",
        ),
    )
    out = []
    for key, fs, zh, en, n, note_zh, note_en in parts:
        n_unknown = sum(1 for f in fs if f.verdict is Outcome.UNKNOWN)
        out.append(
            f'<section id="{key}"><h2>{_e(zh)} <small class=en>{_e(en)}</small> — '
            f'<span id="count-{key}">{_num(n)}</span> 条</h2>'
            f"<p>{_e(note_zh)} <small class=en>{_e(note_en)}</small> 按规则查看; "
            f"另有无法判定 {_num(n_unknown)} 条 <small class=en>by rule; also "
            f"{_num(n_unknown)} undecided</small></p>"
            f"{_rule_drills(fs, subjects, max_rows)}</section>"
        )
    return "".join(out)


def _missing(ev: Evaluation) -> str:
    by_field: dict[tuple[str, str], list[Any]] = {}
    for kind, _sid, fld, label, fs in missing_data(ev):
        entry = by_field.setdefault((fld, kind), [label, 0, 0])
        entry[1] += 1
        entry[2] += len(fs)
    out = [
        '<section id="missing"><h2>待补数据 <small class=en>data to collect, by field</small></h2>'
    ]
    if not by_field:
        out.append("<p>没有缺失数据。<small class=en>Nothing missing.</small></p>")
    else:
        out.append(
            "<table><thead><tr><th>字段</th><th>字段名称</th><th>对象类型</th>"
            '<th class="n">缺失对象数</th><th class="n">受阻判定数</th></tr></thead><tbody>'
        )
        for (fld, kind), (label, n_subjects, n_findings) in sorted(by_field.items()):
            out.append(
                f"<tr><td>{_e(fld)}</td><td>{_e(label)}</td><td>{_e(KIND_ZH.get(kind, kind))}</td>"
                f'<td class="n">{_num(n_subjects)}</td><td class="n">{_num(n_findings)}</td></tr>'
            )
        out.append(
            "</tbody></table><p class=more>每个对象的缺失字段见 Excel 的“待补数据”表。"
            "<small class=en>Per-subject list: sheet 待补数据 of the Excel file.</small></p>"
        )
    out.append("</section>")
    return "".join(out)


def _errors(ev: Evaluation, max_rows: int) -> str:
    rows = [
        (
            "输入提示"
            if i.severity == "warning"
            else "输入行被拒"
            if i.row is not None
            else "输入未读",
            i.render(),
        )
        for i in ev.data_issues
    ] + [
        ("单元评估失败", f"{e.stratum} {e.subject_kind} {e.subject_id}: {e.message}")
        for e in ev.errors
    ]
    out = ['<section id="errors"><h2>数据错误 <small class=en>data errors</small></h2>']
    if not rows:
        out.append("<p>没有被拒的输入行或失败的单元。<small class=en>None.</small></p>")
    else:
        out.append("<table><thead><tr><th>类别</th><th>位置与原因</th></tr></thead><tbody>")
        out.extend(f"<tr><td>{_e(k)}</td><td>{_e(t)}</td></tr>" for k, t in rows[:max_rows])
        out.append(_more(min(len(rows), max_rows), len(rows), 2))
        out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out)


def render_html(
    ev: Evaluation,
    *,
    dataset: Dataset | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    tracking: Tracking | None = None,
) -> str:
    """The report as one HTML document (text); see :func:`write_html_report`."""
    return _render(ev, SubjectDirectory.from_dataset(dataset), max_rows, tracking)


def _progress(tracking: Tracking | None) -> str:
    if tracking is None:
        return ""
    from fupin_rules.reports.rectification import progress_chart

    return progress_chart(tracking)


@gc_paused()
def _render(
    ev: Evaluation, subjects: SubjectDirectory, max_rows: int, tracking: Tracking | None = None
) -> str:
    listed = order_findings(
        (f for f in report_findings(ev) if f.verdict is not Outcome.PASS),  # passing targets: chart
        subjects,
    )
    title = f"问题清单 {ev.policy_id} {ev.policy_version} {ev.on.isoformat()}"
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
            _header(ev),
            "<main>",
            _cards(ev),
            _progress(tracking),
            _target_chart(ev),
            _criteria_chart(ev),
            _villages(ev, listed, subjects, max_rows),
            _rules(ev, listed, subjects, max_rows),
            _missing(ev),
            _errors(ev, max_rows),
            "</main><footer>由 fupin_rules 生成; 完整清单见 Excel 问题清单。"
            "<small class=en> Generated by fupin_rules; the full list is in the Excel file."
            "</small></footer>",
            f"<script>{_JS}</script></body></html>\n",
        ]
    )


def write_html_report(
    ev: Evaluation,
    path: str | Path,
    *,
    dataset: Dataset | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    tracking: Tracking | None = None,
) -> None:
    """Write the self-contained HTML report to ``path`` (UTF-8).

    It opens offline (no external CSS, JS or fonts). Drill-down tables show at most
    ``max_rows`` rows each and say how many more are in the Excel file. Pass the ``dataset``
    the evaluation ran on to add names and group household and person problems by village.
    With a ``tracking`` (``check --store``/``--since``) a section charts the open problems of
    each township across the stored runs (整改进度). The file is written beside ``path`` and
    renamed over it when complete.
    """
    text = render_html(ev, dataset=dataset, max_rows=max_rows, tracking=tracking)
    with replacing(path, "w", encoding="utf-8") as fh:
        fh.write(text)
