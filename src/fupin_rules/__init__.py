"""fupin_rules — a rules engine with plug-in, versioned policy packages for 精准扶贫 standards.

Ask "is this person eligible, for how much, and why?" and "does this village / household /
county comply, and if not, which clause fails?"; run a whole county database (回头看) and get
the problem list (问题清单). Every finding cites its clause and names the policy id, version,
content hash and as-of date that produced it.
"""

from fupin_rules._version import __version__
from fupin_rules.api import EngineName, Evaluator, evaluate, get_engine, load_data
from fupin_rules.domain.dataset import DataIssue, Dataset, LoadResult, load_dataset
from fupin_rules.engine.cases import CaseResult, run_cases
from fupin_rules.engine.live import Change, ChangeResult, FindingChange, Session
from fupin_rules.engine.run import Evaluation, SubjectError
from fupin_rules.errors import (
    DataError,
    EngineError,
    EngineUnavailableError,
    ExpressionError,
    ExpressionSyntaxError,
    ExpressionTypeError,
    FupinRulesError,
    PolicyError,
    PolicyLoadError,
    PolicyNotFoundError,
)
from fupin_rules.findings import (
    ConditionResult,
    Finding,
    MissingField,
    Outcome,
    ParameterUse,
    explain,
    finding_to_json,
)
from fupin_rules.policy import Policy, available_policies, load_policy

__all__ = [
    "CaseResult",
    "Change",
    "ChangeResult",
    "ConditionResult",
    "DataError",
    "DataIssue",
    "Dataset",
    "EngineError",
    "EngineName",
    "EngineUnavailableError",
    "Evaluation",
    "Evaluator",
    "ExpressionError",
    "ExpressionSyntaxError",
    "ExpressionTypeError",
    "Finding",
    "FindingChange",
    "FupinRulesError",
    "LoadResult",
    "MissingField",
    "Outcome",
    "ParameterUse",
    "Policy",
    "PolicyError",
    "PolicyLoadError",
    "PolicyNotFoundError",
    "Session",
    "SubjectError",
    "__version__",
    "available_policies",
    "evaluate",
    "explain",
    "finding_to_json",
    "get_engine",
    "load_data",
    "load_dataset",
    "load_policy",
    "run_cases",
]
