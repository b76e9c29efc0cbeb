"""Render findings as text an official can read (Chinese or English) and as stable JSON."""

from __future__ import annotations

from typing import Any

from fupin_rules.findings.model import (
    ConditionResult,
    Finding,
    Outcome,
    format_value,
    json_value,
    kind_en,
    kind_zh,
)

__all__ = ["explain", "failing_summary", "finding_to_json"]

_VERDICT_EN = {
    "pass": "PASS",
    "fail": "FAIL",
    "unknown": "UNKNOWN (data missing)",
    "not_applicable": "NOT APPLICABLE",
}
_RULE_KIND_VERDICT_ZH = {
    ("eligibility", "pass"): "符合条件",
    ("eligibility", "fail"): "不符合条件",
    ("target", "pass"): "已完成目标",
    ("target", "fail"): "未完成目标",
}


def _verdict_zh(f: Finding) -> str:
    return _RULE_KIND_VERDICT_ZH.get((f.rule_kind, f.verdict.value), f.verdict.zh)


def _condition_lines(c: ConditionResult, lang: str) -> list[str]:
    mark = {"pass": "✓", "fail": "✗", "unknown": "?", "not_applicable": "-"}[c.outcome.value]
    title = c.title_zh if lang == "zh" else c.title_en
    word = c.outcome.zh if lang == "zh" else _VERDICT_EN[c.outcome.value]
    lines = [f"  {mark} {title or c.id} [{c.id}]: {word}", f"      {c.expr}"]
    for r in c.reads:
        label = f" {r.label_zh}" if (lang == "zh" and r.label_zh) else ""
        kind = kind_zh(r.subject_kind) if lang == "zh" else kind_en(r.subject_kind)
        lines.append(f"      {kind} {r.subject_id} {r.path}{label} = {format_value(r.value)}")
    for d in c.deadlines:
        lines.append(f"      {d.render(lang)}")
    for dd in c.children:
        lines.append(f"      {dd.render(lang)}")
    for m in c.missing:
        lines.append(f"      {m.render(lang)}")
    return lines


def failing_summary(f: Finding, lang: str = "zh") -> str:
    """The failing conditions in one line, each with its overdue deadlines and the child
    records behind it (the problem lists' "why" column)."""
    parts = []
    for c in f.failing:
        text = (c.title_zh if lang == "zh" else c.title_en) or c.id
        extra = [d.render(lang) for d in c.deadlines if d.state in ("late", "overdue")]
        extra += [dd.render(lang) for dd in c.children]
        parts.append(f"{text}: {' | '.join(extra)}" if extra else text)
    return "; ".join(parts)


def explain(finding: Finding, lang: str = "zh") -> str:
    """A multi-line explanation: verdict, clause, every condition with its values, parameters.

    "Why not" is as complete as "why": failing and unknown conditions list the values that
    decided them and the missing fields.
    """
    f = finding
    if lang == "zh":
        head = (
            f"{kind_zh(f.subject_kind)} {f.subject_id} — {f.title_zh}"
            f"(第{f.clause}条): {_verdict_zh(f)}"
        )
        amount = f"  金额: {format_value(f.amount)} 元" if f.amount is not None else None
        basis = (
            f"  依据: {f.policy_id} {f.policy_version} (内容哈希 {f.policy_hash[:12]}),"
            f" 判定日期 {f.on.isoformat()}, 规则 {f.rule_id}"
        )
        cond_head, param_head, out_head = "  条件:", "  使用参数:", "  输出:"
    else:
        head = (
            f"{kind_en(f.subject_kind)} {f.subject_id} — {f.title_en}"
            f" (clause {f.clause}): {_VERDICT_EN[f.verdict.value]}"
        )
        amount = f"  amount: {format_value(f.amount)} yuan" if f.amount is not None else None
        basis = (
            f"  basis: {f.policy_id} {f.policy_version} (content hash {f.policy_hash[:12]}),"
            f" as of {f.on.isoformat()}, rule {f.rule_id}"
        )
        cond_head, param_head, out_head = "  conditions:", "  parameters used:", "  outputs:"
    lines = [head]
    if amount:
        lines.append(amount)
    if f.assumptions:
        lines.append(
            f"  注意: 本结论依据假定内容(assumed), 非文件明文: {', '.join(f.assumptions)}"
            if lang == "zh"
            else "  note: this finding rests on an assumption (status assumed), not on the "
            f"document's text: {', '.join(f.assumptions)}"
        )
    elif f.status == "assumed":
        lines.append(
            "  注意: 本规则含假定内容(assumed)"
            if lang == "zh"
            else "  note: this rule rests on an assumption (status assumed)"
        )
    if f.applies_if is not None and f.applies_if.outcome is not Outcome.PASS:
        lines.extend(_condition_lines(f.applies_if, lang))
    if f.conditions:
        lines.append(cond_head)
        for c in f.conditions:
            lines.extend(_condition_lines(c, lang))
    if f.outputs:
        lines.append(out_head)
        titles = {name: zh if lang == "zh" else en for name, zh, en in f.output_titles}
        lines.extend(
            f"    {titles[name]} ({name}) = {format_value(v)}"
            if titles.get(name)
            else f"    {name} = {format_value(v)}"
            for name, v in f.outputs
        )
    if f.parameters:
        lines.append(param_head)
        for p in f.parameters:
            period = (
                f"{p.start.isoformat() if p.start else '?'} ~ {p.end.isoformat() if p.end else ''}"
            )
            unit = "" if p.unit == "none" else f" {p.unit}"  # a bare number has no unit word
            lines.append(
                f"    {p.name} = {format_value(p.value)}{unit} [{period}] "
                f"({'第' + p.clause + '条' if lang == 'zh' else 'clause ' + p.clause}, {p.status})"
            )
    lines.append(basis)
    return "\n".join(lines)


def _condition_json(c: ConditionResult) -> dict[str, Any]:
    out = {
        "id": c.id,
        "title": {"zh": c.title_zh, "en": c.title_en},
        "expr": c.expr,
        "outcome": c.outcome.value,
        "values": [
            {
                "subject": f"{r.subject_kind}:{r.subject_id}",
                "path": r.path,
                "value": json_value(r.value),
            }
            for r in c.reads
        ],
        "missing": [
            {
                "subject": f"{m.subject_kind}:{m.subject_id}",
                "field": m.field,
                "label_zh": m.label_zh,
            }
            for m in c.missing
        ],
    }
    if c.deadlines:  # only where the condition has a done_by(): other reports stay byte-identical
        out["deadlines"] = [
            {
                "subject": f"{d.subject_kind}:{d.subject_id}",
                "record": d.path,
                "label_zh": d.label_zh,
                "recorded_on": json_value(d.record),
                "deadline": json_value(d.deadline),
                "state": d.state,
            }
            for d in c.deadlines
        ]
    if c.children:  # only on failing conditions over children
        out["children"] = [
            {
                "aggregate": dd.source,
                "kind": dd.child_kind,
                "role": dd.role,
                "total": dd.total,
                "records": [{"id": i, "name": n} for i, n in dd.records],
            }
            for dd in c.children
        ]
    return out


def finding_to_json(f: Finding) -> dict[str, Any]:
    """A JSON-ready dict with a stable key order and exact numbers as strings."""
    out: dict[str, Any] = {
        "rule": f.rule_id,
        "kind": f.rule_kind,
        "subject": {"kind": f.subject_kind, "id": f.subject_id},
        "verdict": f.verdict.value,
        "amount_yuan": json_value(f.amount),
        "clause": f.clause,
        "title": {"zh": f.title_zh, "en": f.title_en},
        "status": f.status,
        "policy": {"id": f.policy_id, "version": f.policy_version, "hash": f.policy_hash},
        "engine_version": f.engine_version,
        "on": f.on.isoformat(),
        "outputs": {name: json_value(v) for name, v in f.outputs},
        "conditions": [_condition_json(c) for c in f.conditions],
        "parameters": [
            {
                "name": p.name,
                "value": json_value(p.value),
                "start": p.start.isoformat() if p.start else None,
                "end": p.end.isoformat() if p.end else None,
                "unit": p.unit,
                "clause": p.clause,
                "status": p.status,
            }
            for p in f.parameters
        ],
        "missing": [
            {
                "subject": f"{m.subject_kind}:{m.subject_id}",
                "field": m.field,
                "label_zh": m.label_zh,
            }
            for m in f.missing
        ],
    }
    if f.applies_if is not None:
        out["applies_if"] = _condition_json(f.applies_if)
    if f.output_titles:  # only then: findings of untitled outputs keep their exact JSON
        out["output_titles"] = {name: {"zh": zh, "en": en} for name, zh, en in f.output_titles}
    if f.assumptions:  # only then: text-stated findings keep their exact JSON
        out["assumptions"] = list(f.assumptions)
    return out
