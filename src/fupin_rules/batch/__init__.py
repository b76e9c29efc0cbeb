"""The columnar batch engine (polars): whole tables, one pass per entity level.

``evaluate_batch(policy, data, on)`` gives an :class:`~fupin_rules.engine.run.Evaluation` whose
findings equal the reference engine's; ``compute(policy, frames, on)`` gives the per-rule
result frames only (verdicts and condition outcomes as the polars ``Enum`` :data:`OUTCOME`;
a rule the batch engine cannot evaluate is an error row in ``BatchResult.errors``). See :mod:`fupin_rules.batch.engine` for the design (exact rationals,
intervals, strata).
"""

from fupin_rules.batch.compiler import BatchUnsupportedError
from fupin_rules.batch.engine import OUTCOME, BatchResult, RuleFrame, compute, evaluate_batch

__all__ = [
    "OUTCOME",
    "BatchResult",
    "BatchUnsupportedError",
    "RuleFrame",
    "compute",
    "evaluate_batch",
]
