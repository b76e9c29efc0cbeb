"""The rows of the Excel problem list: its columns and what each row of a sheet says.

:mod:`~fupin_rules.reports.excel` writes them: the level sheets (村, 户, 人员) and 县级目标 in two
parts (文件明确规定 / 依据假设) under heading rows, the 待补数据 and 数据错误 columns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from fupin_rules.findings.model import Finding, Outcome
from fupin_rules.findings.render import explain, failing_summary
from fupin_rules.reports.model import (
    KIND_ZH,
    RULE_KIND_ZH,
    VERDICT_ZH,
    SubjectDirectory,
    order_findings,
    output_value,
    readable_number,
    split_by_assumptions,
)

__all__ = ["PART_HEADINGS", "sheet_order"]


def _number(value: Any) -> int | str | None:
    """An exact cell value: integers as numbers, anything else as readable exact text."""
    if value is None:
        return None
    if isinstance(value, Fraction | Decimal | int) and not isinstance(value, bool):
        frac = Fraction(value)
        if frac.denominator == 1 and abs(frac.numerator) < 2**53:
            return int(frac.numerator)
    return readable_number(value)


_FINDING_COLUMNS: list[tuple[str, int]] = [
    ("所属村", 10),
    ("村名称", 12),
    ("所属户", 10),
    ("对象类型", 10),
    ("对象编码", 14),
    ("名称", 12),
    ("规则编号", 34),
    ("问题", 36),
    ("条款", 10),
    ("类型", 6),
    ("判定", 10),
    ("依据假设", 24),
    ("不符合条件", 40),
    ("缺失数据", 30),
    ("说明", 90),
    ("政策", 14),
    ("版本", 8),
    ("内容哈希", 14),
    ("判定日期", 11),
]
_COUNTY_COLUMNS: list[tuple[str, int]] = [
    ("对象类型", 10),
    ("对象编码", 14),
    ("名称", 12),
    ("规则编号", 34),
    ("问题", 36),
    ("条款", 8),
    ("类型", 6),
    ("判定", 10),
    ("目标", 14),
    ("实际", 14),
    ("差距", 14),
    ("依据假设", 24),
    ("不符合条件", 40),
    ("缺失数据", 30),
    ("说明", 90),
    ("政策", 14),
    ("版本", 8),
    ("内容哈希", 14),
    ("判定日期", 11),
]


def _assumed(f: Finding) -> str:
    """The 依据假设 column: empty when the document's text states it."""
    return "依据假设: " + ", ".join(f.assumptions) if f.assumptions else ""


def _failing(f: Finding) -> str:
    return failing_summary(f, "zh")


def _missing(f: Finding) -> str:
    return "; ".join(m.render("zh") for m in f.missing)


def _provenance(f: Finding) -> list[str]:
    return [f.policy_id, f.policy_version, f.policy_hash[:12], f.on.isoformat()]


def sheet_order(findings: Iterable[Finding], subjects: SubjectDirectory) -> list[Finding]:
    """The order of a level sheet (村, 户, 人员): problems (不符合) first, in report order; then the
    undecided findings (无法判定) grouped by the fields they miss (the data to collect), each
    group in report order. A sheet of 2,000 rows is then read from the top: what to correct,
    then what to collect, one field at a time."""
    ordered = order_findings(findings, subjects)
    rank = {id(f): i for i, f in enumerate(ordered)}

    def key(f: Finding) -> tuple[int, tuple[str, ...], int]:
        if f.verdict is Outcome.UNKNOWN:
            return 1, tuple(sorted({m.field for m in f.missing})), rank[id(f)]
        return 0, (), rank[id(f)]

    return sorted(ordered, key=key)


#: how the heading rows of the two parts of a level sheet begin (a reader skips these rows)
PART_HEADINGS = ("一、文件明确规定的问题", "二、依据假设的问题")


@attrs.frozen
class _Part:
    """The heading row of one part of a level sheet."""

    text: str
    assumed: bool


def _part_heading(assumed: bool, fs: Sequence[Finding]) -> _Part:
    counts = Counter(f.verdict.value for f in fs)
    tally = ", ".join(
        f"{VERDICT_ZH[v]} {counts[v]:,}" for v in ("fail", "unknown", "pass") if counts[v]
    )
    if assumed:
        text = (
            f"{PART_HEADINGS[1]} (resting on assumptions): 判定依据对文件的假定解读或假定数值,"
            "核实假设后再通知整改"
        )
    else:
        text = f"{PART_HEADINGS[0]} (stated by the text)"
    return _Part(f"{text} — {tally or '无 none'}", assumed)


def _in_parts(ordered: Sequence[Finding]) -> Iterator[Finding | _Part]:
    """The rows of a level sheet: the findings the text states first, then those resting on
    assumptions, each part in the given order and under its heading row. A sheet with no
    finding resting on an assumption has no heading rows (nothing to separate)."""
    stated, assumed = split_by_assumptions(ordered)
    if not assumed:
        yield from stated
        return
    yield _part_heading(False, stated)
    yield from stated
    yield _part_heading(True, assumed)
    yield from assumed


def _level_rows(
    findings: Sequence[Finding], subjects: SubjectDirectory
) -> Iterator[list[Any] | _Part]:
    for f in _in_parts(sheet_order(findings, subjects)):
        if isinstance(f, _Part):
            yield f
            continue
        yield [
            *subjects.where(f.subject_kind, f.subject_id),
            f.rule_id,
            f.title_zh,
            f.clause,
            RULE_KIND_ZH.get(f.rule_kind, f.rule_kind),
            VERDICT_ZH[f.verdict.value],
            _assumed(f),
            _failing(f),
            _missing(f),
            explain(f, "zh"),
            *_provenance(f),
        ]


def _county_rows(
    findings: Sequence[Finding], subjects: SubjectDirectory
) -> Iterator[list[Any] | _Part]:
    # in each part, targets first, then the other county-level findings
    ordered = sorted(findings, key=lambda f: (f.rule_kind != "target", f.sort_key()))
    for f in _in_parts(ordered):
        if isinstance(f, _Part):
            yield f
            continue
        k, sid = f.subject_kind, f.subject_id
        yield [
            KIND_ZH.get(k, k),
            sid,
            subjects.name(k, sid),
            f.rule_id,
            f.title_zh,
            f.clause,
            RULE_KIND_ZH.get(f.rule_kind, f.rule_kind),
            VERDICT_ZH[f.verdict.value],
            _number(output_value(f, "target")),
            _number(output_value(f, "actual")),
            _number(output_value(f, "gap")),
            _assumed(f),
            _failing(f),
            _missing(f),
            explain(f, "zh"),
            *_provenance(f),
        ]


def _blocked(fs: Sequence[Finding]) -> str:
    parts = []
    for f in fs:
        who = f"{KIND_ZH.get(f.subject_kind, f.subject_kind)} {f.subject_id}"
        parts.append(f"{f.rule_id}({f.title_zh}) @ {who}")
    return "; ".join(parts)


_MISSING_COLUMNS: list[tuple[str, int]] = [
    ("所属村", 10),
    ("村名称", 12),
    ("所属户", 10),
    ("对象类型", 10),
    ("对象编码", 14),
    ("名称", 12),
    ("缺少字段", 28),
    ("字段名称", 20),
    ("受阻判定数", 10),
    ("受阻规则", 90),
]
_ERROR_COLUMNS: list[tuple[str, int]] = [
    ("类别", 14),
    ("文件", 24),
    ("表", 16),
    ("行", 6),
    ("记录编码", 14),
    ("字段", 20),
    ("列", 16),
    ("原因", 90),
]
