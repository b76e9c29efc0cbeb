"""The columnar batch engine (polars): whole tables, one pass per entity level.

``evaluate_batch(policy, data, on)`` gives an :class:`~fupin_rules.engine.run.Evaluation` whose
findings equal the reference engine's; ``compute(policy, frames, on)`` gives the per-rule
result frames only. See :mod:`fupin_rules.batch.engine` for the design (exact rationals,
intervals, strata).
"""

from fupin_rules.batch.compiler import BatchUnsupportedError
from fupin_rules.batch.engine import BatchResult, RuleFrame, compute, evaluate_batch

__all__ = ["BatchResult", "BatchUnsupportedError", "RuleFrame", "compute", "evaluate_batch"]
