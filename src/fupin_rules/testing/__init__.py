"""Testing helpers for fupin_rules users: hypothesis strategies for consistent county datasets.

``hypothesis`` must be installed to import this package.
"""

from fupin_rules.testing.strategies import (
    ALL_STATUSES,
    dataset_dicts,
    datasets,
    households,
    persons,
    villages,
)

__all__ = ["ALL_STATUSES", "dataset_dicts", "datasets", "households", "persons", "villages"]
