"""The Dask runner on a real LocalCluster (2 worker processes) equals the batch engine.

Kept small (2,000 households, 8 villages) and bounded: the whole module has a deadline and
the cluster is closed by its context manager even when a test fails.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from reliability_support import ON

from fupin_rules.batch import compute, evaluate_batch
from fupin_rules.io.generate import generate_county
from fupin_rules.reports.json_report import to_json_text
from fupin_rules.scale import run, write_partitioned

distributed = pytest.importorskip(
    "distributed",
    reason='the Dask runner needs the optional extra: pip install "dask[distributed]"',
)

pytestmark = [
    # Dask's own start-up and shutdown chatter is not ours to fix
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:distributed.*"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

DEADLINE_S = 240


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from fupin_rules.scale.dask_runner import local_cluster

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the Dask tests took more than {DEADLINE_S} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(DEADLINE_S)
    try:
        with local_cluster(2) as c:
            yield c
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return generate_county(2000, 31, villages=8)


def test_summary_and_frames_equal_the_single_machine_run(
    county_policy, client, frames, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    single = compute(county_policy, frames, ON)
    write_partitioned(frames, tmp_path, partitions=5)
    got = run(county_policy, tmp_path, ON, scheduler=client, collect="frames")
    assert got.counts == single.counts()
    assert got.data_issues == single.issues
    assert got.frames is not None
    for rid, rf in single.rules.items():
        assert got.frames[rid].equals(rf.frame), rid


def test_scheduler_address_and_findings(county_policy, client, frames, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    want = to_json_text(evaluate_batch(county_policy, frames, ON))
    write_partitioned(frames, tmp_path, partitions=3)
    got = run(
        county_policy,
        tmp_path,
        ON,
        scheduler=client.scheduler.address,
        collect="findings",
        partitions_per_task=2,
    )
    assert got.evaluation is not None
    assert to_json_text(got.evaluation) == want
