"""The report model: what the Excel problem list and the HTML report both show, and in which
order (the findings a report lists, report levels, Chinese words, readable numbers, counts by
village, the data to collect). The writers (:mod:`~fupin_rules.reports.excel`,
:mod:`~fupin_rules.reports.html`) only lay it out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from fupin_rules.domain.entities import ENTITIES, REPORT_LEVELS
from fupin_rules.engine.run import Evaluation
from fupin_rules.expr.values import UNKNOWN, Interval
from fupin_rules.findings.model import Finding, Outcome, json_value
from fupin_rules.reports.subjects import KIND_ZH, SubjectDirectory

__all__ = [
    "KIND_ZH",
    "LEVELS",
    "RULE_KIND_ZH",
    "VERDICT_ZH",
    "SubjectDirectory",
    "level_of",
    "missing_by_field",
    "missing_data",
    "order_findings",
    "output_value",
    "readable_number",
    "report_findings",
    "split_by_assumptions",
    "village_counts",
]

#: report level -> (sheet title, English name); the order of the level sheets: the county's
#: targets, then each level under the declared names of its kind (村, 户, 人员)
LEVELS: dict[str, tuple[str, str]] = {
    "county": ("县级目标", "county targets"),
    **{
        level: (ENTITIES[level].name_zh, ENTITIES[level].name_en)
        for level in REPORT_LEVELS
        if level != "county"
    },
}


_LEVEL_OF_KIND = ENTITIES.level


#: verdict -> the Chinese word of a report cell (one vocabulary: :attr:`Outcome.label_zh`)
VERDICT_ZH: dict[str, str] = {o.value: o.label_zh for o in Outcome}


RULE_KIND_ZH: dict[str, str] = {"compliance": "合规", "target": "目标", "eligibility": "资格"}


def level_of(subject_kind: str) -> str:
    """The report level (county / village / household / person) a subject kind is listed under."""
    return _LEVEL_OF_KIND.get(subject_kind, "county")


def report_findings(ev: Evaluation) -> list[Finding]:
    """The findings a problem list shows: problems (不符合) and undecided ones (无法判定).

    Target findings are all kept, passing ones too, so county target progress is complete.
    """
    return [
        f
        for f in ev.findings
        if f.verdict is Outcome.UNKNOWN
        or (f.verdict is Outcome.FAIL and f.rule_kind in ("compliance", "target"))
        or f.rule_kind == "target"
    ]


def split_by_assumptions(findings: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
    """The 问题清单 in two parts, each in the order given: the findings the document's text
    states (文件明确规定), and those resting on an assumed reading, catalogue or parameter value
    (依据假设: to check before anyone is told to correct them)."""
    stated: list[Finding] = []
    assumed: list[Finding] = []
    for f in findings:
        (assumed if f.assumptions else stated).append(f)
    return stated, assumed


def output_value(f: Finding, name: str) -> Any:
    """A named output of a finding (``target``, ``actual``, ``gap``), or ``None``."""
    for n, v in f.outputs:
        if n == name:
            return v
    return None


def readable_number(value: Any) -> str:
    """A number as an official reads it: whole numbers grouped (``2,670,000``), other exact
    numbers as exact text, a range known up to missing parts as
    ``2,670,000 ~ 2,830,000 (4 项缺失)``, unknown as ``未知``."""
    if value is None or value is UNKNOWN:
        return "未知"
    if isinstance(value, Interval):
        lo, hi = readable_number(value.lo), readable_number(value.hi)
        return f"{lo} ~ {hi} ({value.missing} 项缺失)"
    if isinstance(value, Fraction | Decimal | int) and not isinstance(value, bool):
        frac = Fraction(value)
        if frac.denominator == 1:
            return f"{frac.numerator:,}"
    out = json_value(value)
    return "未知" if out is None else str(out)


def order_findings(findings: Iterable[Finding], subjects: SubjectDirectory) -> list[Finding]:
    """Report order: by village, household, then village before household before person."""
    level_rank = {k: i for i, k in enumerate(KIND_ZH)}
    last = len(level_rank)
    villages, households = subjects.villages, subjects.households

    def key(f: Finding) -> tuple[str, str, int, str, str]:
        # subjects.village / .household, looked up here: one call per finding, not three
        kind, sid = f.subject_kind, f.subject_id
        village = sid if kind == "village" else villages.get((kind, sid), "")
        return (
            village,
            households.get((kind, sid), ""),
            level_rank.get(kind, last),
            sid,
            f.rule_id,
        )

    return sorted(findings, key=key)


def missing_data(ev: Evaluation) -> list[tuple[str, str, str, str, list[Finding]]]:
    """待补数据: ``(subject kind, subject id, field, label_zh, blocked findings)``, sorted."""
    fields: dict[tuple[str, str, str], tuple[str, list[Finding]]] = {}
    for f in ev.unknowns():
        for m in f.missing:
            entry = fields.setdefault((m.subject_kind, m.subject_id, m.field), (m.label_zh, []))
            entry[1].append(f)
    return [(k, s, fld, label, fs) for (k, s, fld), (label, fs) in sorted(fields.items())]


def missing_by_field(ev: Evaluation) -> dict[tuple[str, str], tuple[str, int, int]]:
    """待补数据 by field: ``(field, subject kind) -> (label_zh, subjects missing it, blocked
    findings)``; the label is the one :func:`missing_data` lists first for the field (that of
    its least subject id). The counts of :func:`missing_data` without listing and sorting each
    subject's entry."""
    seen: set[tuple[str, str, str]] = set()
    by_field: dict[tuple[str, str], list[Any]] = {}
    for f in ev.unknowns():
        for m in f.missing:
            kind, sid = m.subject_kind, m.subject_id
            entry = by_field.get((m.field, kind))
            if entry is None:
                entry = by_field[m.field, kind] = [sid, m.label_zh, 0, 0]
            if (kind, sid, m.field) not in seen:  # a subject's first finding: its label
                seen.add((kind, sid, m.field))
                entry[2] += 1
                if sid < entry[0]:
                    entry[0], entry[1] = sid, m.label_zh
            entry[3] += 1
    return {
        k: (label, n_subjects, n_findings)
        for k, (_, label, n_subjects, n_findings) in by_field.items()
    }


def village_counts(ev: Evaluation, subjects: SubjectDirectory) -> list[tuple[str, Counter[str]]]:
    """Per village (``""`` = not placed in a village): problems by level, and unknowns."""
    counts: dict[str, Counter[str]] = {}
    villages = subjects.villages
    fail, unknown = Outcome.FAIL, Outcome.UNKNOWN
    for f in ev.findings:
        is_problem = f.verdict is fail and f.rule_kind in ("compliance", "target")
        if not (is_problem or f.verdict is unknown):
            continue
        kind, sid = f.subject_kind, f.subject_id
        level = _LEVEL_OF_KIND.get(kind, "county")  # level_of
        if level == "county":
            continue
        vid = sid if kind == "village" else villages.get((kind, sid), "")  # subjects.village
        c = counts.get(vid)
        if c is None:
            c = counts[vid] = Counter()
        if is_problem:
            c["fail"] += 1
            c["fail:" + level] += 1
        else:
            c["unknown"] += 1
    return sorted(counts.items(), key=lambda kv: (kv[0] == "", kv[0]))
