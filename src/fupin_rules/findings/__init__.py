"""Findings and their explanations (Chinese and English text, JSON)."""

from fupin_rules.findings.model import (
    ConditionResult,
    Finding,
    MissingField,
    Outcome,
    ParameterUse,
    ValueRead,
    format_value,
    json_value,
)
from fupin_rules.findings.render import explain, finding_to_json

__all__ = [
    "ConditionResult",
    "Finding",
    "MissingField",
    "Outcome",
    "ParameterUse",
    "ValueRead",
    "explain",
    "finding_to_json",
    "format_value",
    "json_value",
]
