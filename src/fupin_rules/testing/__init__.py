"""Testing helpers for fupin_rules users: hypothesis strategies for consistent county datasets,
and helpers for property tests of standards (verdicts, boundaries, monotonicity).

``hypothesis`` must be installed to import this package.
"""

from fupin_rules.testing.standards import (
    MonotonicityError,
    boundary_dates,
    boundary_values,
    check_monotone,
    finding,
    verdict,
)
from fupin_rules.testing.strategies import (
    ALL_STATUSES,
    dataset_dicts,
    datasets,
    households,
    persons,
    villages,
)

__all__ = [
    "ALL_STATUSES",
    "MonotonicityError",
    "boundary_dates",
    "boundary_values",
    "check_monotone",
    "dataset_dicts",
    "datasets",
    "finding",
    "households",
    "persons",
    "verdict",
    "villages",
]
