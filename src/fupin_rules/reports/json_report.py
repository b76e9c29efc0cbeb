"""The machine-readable report: stable order, exact numbers, byte-identical for identical input."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from fupin_rules.engine.run import Evaluation, SubjectError
from fupin_rules.findings.model import Outcome
from fupin_rules.findings.render import finding_to_json

__all__ = ["evaluation_to_json", "summary", "to_json_text", "unknown_fields"]


def summary(ev: Evaluation) -> dict[str, Any]:
    """Counts by verdict, by rule, and the nothing-lost tallies."""
    by_verdict = Counter(f.verdict.value for f in ev.findings)
    by_rule: dict[str, Counter[str]] = {}
    for f in ev.findings:
        by_rule.setdefault(f.rule_id, Counter())[f.verdict.value] += 1
    return {
        "findings": len(ev.findings),
        "by_verdict": {
            v.value: by_verdict.get(v.value, 0) for v in Outcome if v is not Outcome.NOT_APPLICABLE
        },
        "not_applicable": ev.not_applicable_count,
        "problems": len(ev.problems()),
        "unknown": len(ev.unknowns()),
        "unit_errors": len(ev.errors),
        "rejected_rows": len({(i.source, i.table, i.row) for i in ev.data_issues}),
        "by_rule": {r: dict(sorted(c.items())) for r, c in sorted(by_rule.items())},
    }


def unknown_fields(ev: Evaluation) -> list[dict[str, Any]]:
    """The data to collect (待补数据): each missing field with the rules it blocks."""
    fields: dict[tuple[str, str, str], dict[str, Any]] = {}
    for f in ev.unknowns():
        for m in f.missing:
            key = (m.subject_kind, m.subject_id, m.field)
            entry = fields.setdefault(
                key,
                {
                    "subject": f"{m.subject_kind}:{m.subject_id}",
                    "field": m.field,
                    "label_zh": m.label_zh,
                    "rules": [],
                },
            )
            if f.rule_id not in entry["rules"]:
                entry["rules"].append(f.rule_id)
    return [fields[k] for k in sorted(fields)]


def evaluation_to_json(ev: Evaluation, *, include_passing: bool = True) -> dict[str, Any]:
    """The whole evaluation as a JSON-ready dict."""
    findings = (
        ev.findings
        if include_passing
        else tuple(f for f in ev.findings if f.verdict is not Outcome.PASS)
    )
    return {
        "policy": {"id": ev.policy_id, "version": ev.policy_version, "hash": ev.policy_hash},
        "on": ev.on.isoformat(),
        "engine": ev.engine,
        "summary": summary(ev),
        "findings": [finding_to_json(f) for f in findings],
        "data_to_collect": unknown_fields(ev),
        "unit_errors": [_unit_error(e) for e in ev.errors],
        "rejected_rows": [
            {
                "source": i.source,
                "table": i.table,
                "row": i.row,
                "record_id": i.record_id,
                "field": i.field,
                "column": i.column,
                "message": i.message,
            }
            for i in ev.data_issues
        ],
    }


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def to_json_text(ev: Evaluation, *, include_passing: bool = True) -> str:
    """Serialised report: UTF-8 text, Chinese kept readable, one list item per line.

    Top-level keys each start a line and every finding, data-to-collect entry, unit error and
    rejected row is one compact line, so the file diffs well and is written by the C encoder
    (an indented dump of ~100,000 findings took ten times longer).
    """
    doc = evaluation_to_json(ev, include_passing=include_passing)
    parts = ["{"]
    keys = list(doc)
    for k, key in enumerate(keys):
        value = doc[key]
        tail = "," if k < len(keys) - 1 else ""
        if isinstance(value, list) and value:
            items = ",\n".join(_dump(v) for v in value)
            parts.append(f"{_dump(key)}:[\n{items}\n]{tail}")
        else:
            parts.append(f"{_dump(key)}:{_dump(value)}{tail}")
    parts.append("}")
    return "\n".join(parts) + "\n"


def _unit_error(e: SubjectError) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stratum": e.stratum,
        "subject": f"{e.subject_kind}:{e.subject_id}",
        "message": e.message,
    }
    if e.rule_id is not None:
        out["rule"] = e.rule_id
    return out
