"""Province-size runs on Dask: one task per group of villages, the county stratum reduced.

::

    from fupin_rules.scale import run, write_partitioned

    write_partitioned(frames, "province/")                 # <table>/part-NNNNN.parquet
    result = run("path/to/policy", "province/", on)        # a LocalCluster of 2 processes
    result = run(policy, "province/", on, scheduler="tcp://10.0.0.5:8786")

Each task reads only its partition's files (plus the small county-stratum tables), runs the
single-machine batch engine on them and sends back verdict counts, data issues and the parts
of the county-stratum aggregates (see :mod:`fupin_rules.scale._reduce` for why combining the
parts is exact). The client folds the results as they complete, so its memory holds summaries,
not findings, unless ``collect="frames"`` or ``"findings"`` asks for them. Workers need this
package and the policy folder at the same path (the policy's content hash is checked).

Dask is an optional dependency (``pip install "dask[distributed]"``); importing this module
without it raises :class:`DaskUnavailableError` with that hint.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fupin_rules.errors import FupinRulesError
from fupin_rules.policy.model import Policy
from fupin_rules.scale._layout import read_manifest
from fupin_rules.scale._reduce import (
    Collect,
    PartitionOutput,
    Reduction,
    ScaleResult,
    _load_policy,
    evaluate_partition,
)

__all__ = ["DaskUnavailableError", "local_cluster", "run"]


class DaskUnavailableError(FupinRulesError):
    """``dask.distributed`` is not installed."""


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DaskUnavailableError(
            f"fupin_rules.scale.run needs dask.distributed ({exc}); "
            'install it with: pip install "dask[distributed]"'
        ) from None
    return distributed


@contextmanager
def local_cluster(n_workers: int = 2, *, memory_limit: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` on a LocalCluster of ``n_workers`` single-threaded processes.

    Closed (workers stopped) when the ``with`` block ends.
    """
    distributed = _distributed()
    kwargs: dict[str, Any] = {
        "n_workers": n_workers,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": None,
    }
    if memory_limit is not None:
        kwargs["memory_limit"] = memory_limit
    with distributed.LocalCluster(**kwargs) as cluster, distributed.Client(cluster) as client:
        yield client


def run(
    policy: Policy | str | os.PathLike[str],
    directory: str | os.PathLike[str],
    on: dt.date,
    *,
    scheduler: Any = None,
    collect: Collect = "summary",
    materialize: str = "non_pass",
    keep_not_applicable: bool = False,
    partitions_per_task: int = 1,
) -> ScaleResult:
    """Evaluate ``policy`` over a folder written by :func:`write_partitioned`, as of ``on``.

    ``scheduler``: ``None`` starts a LocalCluster (2 single-threaded worker processes) for the
    run and closes it; a ``"tcp://host:port"`` address connects to that scheduler; a
    ``distributed.Client`` is used as is. ``collect``: ``"summary"`` (verdict counts, data
    issues), ``"frames"`` (also each rule's result frame) or ``"findings"`` (also an
    :class:`~fupin_rules.engine.run.Evaluation` equal to ``evaluate_batch(..., materialize=)``).
    ``partitions_per_task`` groups partitions into fewer, larger tasks.

    The result equals the single-machine batch engine's on the same data. Raises
    :class:`~fupin_rules.scale.PartitionError` for a policy whose lower strata read
    county-wide aggregates, and :class:`DaskUnavailableError` without Dask.
    """
    distributed = _distributed()
    pol = _load_policy(policy, None)
    manifest = read_manifest(directory)
    if partitions_per_task < 1:
        raise ValueError(f"partitions_per_task={partitions_per_task}: expected at least 1")
    tasks = [
        list(range(k, min(k + partitions_per_task, len(manifest))))
        for k in range(0, len(manifest), partitions_per_task)
    ]
    folder = os.fspath(os.path.abspath(directory))

    def go(client: Any) -> ScaleResult:
        futures = [
            client.submit(
                evaluate_partition,
                pol.path,
                folder,
                indices,
                on,
                collect=collect,
                materialize=materialize,
                keep_not_applicable=keep_not_applicable,
                policy_hash=pol.content_hash,
                key=f"fupin-partition-{indices[0]}-{pol.content_hash[:12]}-{id(tasks)}",
                pure=False,
            )
            for indices in tasks
        ]
        red = Reduction(collect)
        for future in distributed.as_completed(futures):
            out: PartitionOutput = future.result()
            red.add(out)
            future.release()
        return red.finish(
            pol, folder, on, materialize=materialize, keep_not_applicable=keep_not_applicable
        )

    if scheduler is None:
        with local_cluster() as client:
            return go(client)
    if isinstance(scheduler, str):
        with distributed.Client(scheduler) as client:
            return go(client)
    return go(scheduler)
