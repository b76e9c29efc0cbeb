"""Policy packages: the on-disk format, loading and validation, discovery."""

from fupin_rules.policy.discovery import ENTRY_POINT_GROUP, available_policies, load_policy
from fupin_rules.policy.loader import load_policy_dir
from fupin_rules.policy.model import (
    Case,
    Catalogue,
    CatalogueItem,
    ClauseInfo,
    Condition,
    Expectation,
    Parameter,
    ParameterValue,
    Policy,
    PolicyMeta,
    ResolvedParameter,
    Rule,
    Text,
    Variable,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Case",
    "Catalogue",
    "CatalogueItem",
    "ClauseInfo",
    "Condition",
    "Expectation",
    "Parameter",
    "ParameterValue",
    "Policy",
    "PolicyMeta",
    "ResolvedParameter",
    "Rule",
    "Text",
    "Variable",
    "available_policies",
    "load_policy",
    "load_policy_dir",
]
