"""A loaded policy as JSON: summary, rules, parameters with their dated values, coverage table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fupin_rules.findings.model import json_value
from fupin_rules.policy.model import Condition, Parameter, Policy

__all__ = ["coverage_rows", "policy_detail", "policy_summary"]


def _text(t: Any) -> dict[str, str]:
    return {"zh": t.zh, "en": t.en}


def policy_summary(p: Policy) -> dict[str, Any]:
    """id, version, hash, title, period: what names and dates a policy."""
    return {
        "ref": f"{p.id}@{p.version}",
        "id": p.id,
        "version": p.version,
        "hash": p.content_hash,
        "title": _text(p.meta.title),
        "effective": {"start": p.meta.effective_start, "end": p.meta.effective_end},
        "extends": p.meta.extends,
        "rules": len(p.rules),
    }


def _condition(c: Condition | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"id": c.id, "title": _text(c.title), "expr": c.text}


def _parameter(p: Parameter) -> dict[str, Any]:
    values = []
    for i, v in enumerate(p.values):
        nxt = p.values[i + 1].start if i + 1 < len(p.values) else None
        values.append(
            {
                "start": v.start,
                "end": nxt - dt.timedelta(days=1) if nxt else None,
                "value": json_value(v.value),
                "status": v.status,
                "note": v.note,
            }
        )
    return {
        "name": p.name,
        "title": _text(p.title),
        "unit": p.unit,
        "clause": p.clause,
        "status": p.status,
        "note": p.note,
        "values": values,
    }


def coverage_rows(p: Policy) -> list[dict[str, Any]]:
    """One row per clause: what encodes it, what is deliberately left out and why."""
    rows = []
    for cid, clause in p.clauses.items():
        rows.append(
            {
                "clause": cid,
                "title": _text(clause.title),
                "rules": [r.id for r in p.rules if r.clause == cid],
                "parameters": [x.name for x in p.parameters.values() if x.clause == cid],
                "catalogues": [c.name for c in p.catalogues.values() if c.clause == cid],
                "uncovered": [{"item": i, "reason": r} for i, r in clause.uncovered],
                "text_missing": clause.text_missing,
            }
        )
    return rows


def policy_detail(p: Policy) -> dict[str, Any]:
    """Everything a client needs to read a policy: rules, parameters, catalogues, coverage."""
    return {
        **policy_summary(p),
        "clauses": coverage_rows(p),
        "parameters": [_parameter(x) for x in p.parameters.values()],
        "catalogues": [
            {
                "name": c.name,
                "title": _text(c.title),
                "clause": c.clause,
                "status": c.status,
                "items": [{"code": i.code, "zh": i.zh, "en": i.en} for i in c.items],
            }
            for c in p.catalogues.values()
        ],
        "rule_list": [
            {
                "id": r.id,
                "clause": r.clause,
                "title": _text(r.title),
                "entity": r.entity,
                "kind": r.kind,
                "status": r.status,
                "note": r.note,
                "applies_if": _condition(r.applies_if),
                "conditions": [_condition(c) for c in r.conditions],
                "amount": r.amount.text if r.amount else None,
                "outputs": [_condition(o) for o in r.outputs],
            }
            for r in p.rules
        ],
    }
