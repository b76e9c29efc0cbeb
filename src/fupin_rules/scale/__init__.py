"""Beyond one machine: village-partitioned datasets, evaluated exactly on Dask or in-process.

:func:`write_partitioned` splits a county or province by groups of villages;
:func:`run` evaluates it on a Dask cluster (optional dependency ``dask[distributed]``);
:func:`run_partitioned` runs the same map and reduce in this process. Both give the
single-machine batch engine's results (:class:`ScaleResult`).
"""

from typing import Any

from fupin_rules.scale._layout import PartitionError, write_partitioned
from fupin_rules.scale._reduce import ScaleResult, run_partitioned

__all__ = ["PartitionError", "ScaleResult", "run", "run_partitioned", "write_partitioned"]


def run(*args: Any, **kwargs: Any) -> ScaleResult:
    """Evaluate a partitioned folder on Dask (see :func:`fupin_rules.scale.dask_runner.run`)."""
    from fupin_rules.scale.dask_runner import run as _run

    return _run(*args, **kwargs)
