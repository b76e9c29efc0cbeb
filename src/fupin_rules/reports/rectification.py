"""The rectification parts of the reports (整改): the rows of the Excel 整改台账 sheet and the
HTML chart of open problems per township across runs. Both take a
:class:`~fupin_rules.runs.tracking.Tracking` (``check --store`` / ``--since``)."""

from __future__ import annotations

import html
from typing import Any

from fupin_rules.reports.subjects import KIND_ZH
from fupin_rules.runs.tracking import STATUSES, Tracking

__all__ = ["LEDGER_COLUMNS", "ledger_rows", "progress_chart"]

#: columns of 整改台账 (the rectification ledger)
LEDGER_COLUMNS: list[tuple[str, int]] = [
    ("乡镇", 10),
    ("所属村", 10),
    ("村名称", 12),
    ("所属户", 10),
    ("对象类型", 10),
    ("对象编码", 14),
    ("规则", 34),
    ("条款", 10),
    ("问题", 40),
    ("依据假设", 24),
    ("状态", 8),
    ("帮扶责任人", 10),
    ("首次发现", 12),
    ("已持续天数", 10),
    ("政策版本", 10),
]


def ledger_rows(tracking: Tracking) -> list[list[Any]]:
    """One row per open problem (新发现, 未整改, 复发), by township, village and problem.

    依据假设 names the assumed readings and values the problem rests on (empty when the
    document's text states it, as in the other sheets: issue 12, principle 3);
    帮扶责任人 is the household's ``helper_name`` (empty where the ledger does not say);
    首次发现 and 已持续天数 are empty where no history tells them.
    """
    rows = []
    for p in tracking.open_problems():
        f = p.finding
        rows.append(
            [
                p.place.township_id,
                p.place.village_id,
                tracking.village_names.get(p.place.village_id, ""),
                p.place.household_id,
                KIND_ZH.get(p.subject_kind, p.subject_kind),
                p.subject_id,
                p.rule_id,
                p.clause,
                f.title_zh if f is not None else "",
                "依据假设: " + ", ".join(f.assumptions) if f is not None and f.assumptions else "",
                STATUSES[p.status],
                p.place.helper_name or "",
                p.first_seen.date().isoformat() if p.first_seen else "",
                p.days_open,
                p.version_now or "",
            ]
        )
    return rows


_LINE_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]


def progress_chart(tracking: Tracking) -> str:
    """An HTML section: open problems per township in each run of the history (inline SVG,
    one line per township), and the counts by status since the baseline."""
    e = html.escape
    points = tracking.history
    townships = sorted({t for p in points for t in p.by_township})
    counts = tracking.counts()
    head = (
        '<section id="rectification"><h2>整改进度 '
        f"<small class=en>rectification progress since {e(tracking.baseline)}</small></h2><p>"
        + " · ".join(
            f"{STATUSES[s]} <b>{counts[s]}</b> <small class=en>{s}</small>" for s in STATUSES
        )
        + "</p>"
    )
    if tracking.policy_change:
        head += f"<p>政策版本变更 <small class=en>policy version changed</small>: {e(tracking.policy_change)}</p>"
    rows = "".join(
        f"<tr><td>{e(t or '—')}</td><td>{e(tracking.township_names.get(t, ''))}</td>"
        + "".join(f'<td class="n">{c[s]}</td>' for s in STATUSES)
        + "</tr>"
        for t, c in tracking.by_area("township").items()
    )
    table = (
        "<table><thead><tr><th>乡镇</th><th>名称</th>"
        + "".join(f'<th class="n">{STATUSES[s]}</th>' for s in STATUSES)
        + f"</tr></thead><tbody>{rows}</tbody></table>"
    )
    if len(points) < 2 or not townships:
        return (
            head
            + "<p>历史运行不足两次, 无趋势图。<small class=en>Fewer than two runs: no chart.</small></p>"
            + table
            + "</section>"
        )
    w, h, left, bottom, top = 760, 300, 50, 40, 12
    peak = max(max(p.by_township.values(), default=0) for p in points) or 1
    step = (w - left - 150) / (len(points) - 1)

    def xy(i: int, n: int) -> tuple[float, float]:
        return left + i * step, top + (h - top - bottom) * (1 - n / peak)

    parts = [
        f'<svg id="progress-chart" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}">'
        "<title>各乡镇未整改问题数 open problems per township per run</title>",
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - 150}" y2="{h - bottom}" stroke="#9aa5b1"/>',
        f'<text x="4" y="{top + 10}" font-size="11">{peak}</text>',
        f'<text x="4" y="{h - bottom}" font-size="11">0</text>',
    ]
    for i, p in enumerate(points):
        x, _ = xy(i, 0)
        parts.append(
            f'<text x="{x:.1f}" y="{h - bottom + 16}" font-size="11" text-anchor="middle">'
            f"{e(p.label)}</text>"
            f'<text x="{x:.1f}" y="{h - bottom + 30}" font-size="10" text-anchor="middle">'
            f"{e(p.recorded_at.date().isoformat())}</text>"
        )
    for k, t in enumerate(townships):
        colour = _LINE_COLOURS[k % len(_LINE_COLOURS)]
        pts = [xy(i, p.by_township.get(t, 0)) for i, p in enumerate(points)]
        name = tracking.township_names.get(t, "") if t else "县级/未定位"
        label = f"{t} {name}".strip()
        parts.append(
            f'<g class="township-line"><title>{e(label)}: '
            + ", ".join(str(p.by_township.get(t, 0)) for p in points)
            + "</title>"
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            + '"/>'
            + "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in pts)
            + f'<text x="{w - 145}" y="{top + 14 * k + 10}" font-size="12" fill="{colour}">'
            f"{e(label)}</text></g>"
        )
    parts.append("</svg>")
    return head + "".join(parts) + table + "</section>"
