"""The HTML report: one self-contained page (inline CSS, inline SVG charts, no network).

:func:`write_html_report` writes key numbers, county target progress, village criteria pass
rates and drill-down tables: per village (what the text states first), and per rule in two
sections, 文件明确规定的问题 (resting on the text only) and 依据假设的问题 (resting on an assumed
reading or value), each with its count. Output is byte-identical for identical input: no
timestamps, stable order, fixed number formatting. All text is escaped.

The charts are drawn in :mod:`~fupin_rules.reports._html_charts`; the page's style sheet,
script and escaping are in :mod:`~fupin_rules.reports._html_page`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fupin_rules._gc import gc_paused
from fupin_rules._version import __version__
from fupin_rules.domain.dataset import Dataset
from fupin_rules.engine.run import Evaluation
from fupin_rules.findings.model import Finding, Outcome
from fupin_rules.findings.render import explain, failing_summary
from fupin_rules.reports._files import replacing
from fupin_rules.reports._html_charts import _criteria_chart, _target_chart
from fupin_rules.reports._html_page import _CSS, _JS, _e, _num
from fupin_rules.reports.json_report import not_in_force_notice, summary
from fupin_rules.reports.model import (
    KIND_ZH,
    RULE_KIND_ZH,
    VERDICT_ZH,
    SubjectDirectory,
    level_of,
    missing_by_field,
    order_findings,
    report_findings,
    split_by_assumptions,
    village_counts,
)

if TYPE_CHECKING:
    from fupin_rules.runs.tracking import Tracking

__all__ = ["DEFAULT_MAX_ROWS", "render_html", "write_html_report"]

#: rows shown per drill-down table; the rest is counted and left to the Excel file
DEFAULT_MAX_ROWS = 20


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


def _cards(s: dict[str, Any]) -> str:
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
    s: dict[str, Any], listed: Sequence[Finding], subjects: SubjectDirectory, max_rows: int
) -> str:
    """The 问题清单 by rule, in two sections: 文件明确规定的问题 (resting on no assumption) and
    依据假设的问题 (resting on an assumed reading, catalogue or value), each with its count of
    problems (the JSON summary's ``problems_text_stated`` / ``problems_assumed``) and of the
    undecided findings listed with it (``s``: the run's :func:`summary`)."""
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
    by_field = missing_by_field(ev)
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
        (
            "单元评估失败",
            f"{KIND_ZH.get(e.stratum, e.stratum)}级单元 "
            f"{KIND_ZH.get(e.subject_kind, e.subject_kind)} {e.subject_id}: {e.message}",
        )
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
    subjects: SubjectDirectory | None = None,
) -> str:
    """The report as one HTML document (text); see :func:`write_html_report`."""
    if subjects is None:
        subjects = SubjectDirectory.from_dataset(dataset)
    return _render(ev, subjects, max_rows, tracking)


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
    counts = summary(ev)  # once: the cards and the two parts' counts
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
            _header(ev),
            "<main>",
            _cards(counts),
            _progress(tracking),
            _target_chart(ev),
            _criteria_chart(ev),
            _villages(ev, listed, subjects, max_rows),
            _rules(counts, listed, subjects, max_rows),
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
    subjects: SubjectDirectory | None = None,
) -> None:
    """Write the self-contained HTML report to ``path`` (UTF-8).

    It opens offline (no external CSS, JS or fonts). Drill-down tables show at most
    ``max_rows`` rows each and say how many more are in the Excel file. Pass the ``dataset``
    the evaluation ran on to add names and group household and person problems by village.
    With a ``tracking`` (``check --store``/``--since``) a section charts the open problems of
    each township across the stored runs (整改进度). ``subjects``: the dataset's directory when
    the caller has built it already (``check`` builds it once for the Excel and the HTML
    report); it is built from ``dataset`` otherwise. The file is written beside ``path`` and
    renamed over it when complete.
    """
    text = render_html(ev, dataset=dataset, max_rows=max_rows, tracking=tracking, subjects=subjects)
    with replacing(path, "w", encoding="utf-8") as fh:
        fh.write(text)
