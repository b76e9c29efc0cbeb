"""Benchmark: the Dask runner (2 workers) against the single-process batch engine.

    python bench/bench_dask.py                           # 1M and 5M persons
    python bench/bench_dask.py --persons 1000000         # one size
    python bench/bench_dask.py --persons 200000 --quick  # a smoke run

For each size: a synthetic province (``generate_county``, seed 2017, about 3.4 persons per
household) is written as one Parquet folder (``write_parquet_dir``) and as a village-partitioned
folder (``fupin_rules.scale.write_partitioned``, about 50,000 households per partition). Then,
each in a fresh process so peaks do not mix:

* ``single``: read the Parquet folder with polars and ``fupin_rules.batch.compute`` (verdict
  counts, no findings) — wall seconds and peak RSS;
* ``dask``: ``fupin_rules.scale.run`` on a LocalCluster of 2 single-threaded worker processes
  (summary results) — wall seconds (cluster start included and reported apart), peak RSS of
  the client process and the highest peak RSS of a worker process.

The two verdict counts are compared (``equal``). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
ON = dt.date(2017, 12, 31)
PERSONS_PER_HOUSEHOLD = 3.37  # generate_county's mean, measured on 100,000 households


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _prepare(households: int, folder: Path, per_part: int) -> dict[str, Any]:
    from fupin_rules.io.generate import generate_county, write_parquet_dir
    from fupin_rules.scale import write_partitioned

    t = time.perf_counter()
    frames = generate_county(households, 2017)
    gen = time.perf_counter() - t
    write_parquet_dir(frames, folder / "flat")
    t = time.perf_counter()
    write_partitioned(frames, folder / "parts", households_per_partition=per_part)
    return {
        "households": households,
        "persons": frames["persons"].height,
        "villages": frames["villages"].height,
        "generate_s": round(gen, 2),
        "write_partitioned_s": round(time.perf_counter() - t, 2),
    }


def _single(folder: Path) -> dict[str, Any]:
    import polars as pl

    from fupin_rules.batch import compute
    from fupin_rules.policy import load_policy

    policy = load_policy(POLICY)
    t = time.perf_counter()
    frames = {p.stem: pl.read_parquet(p) for p in sorted((folder / "flat").glob("*.parquet"))}
    result = compute(policy, frames, ON)
    counts = result.counts()
    return {
        "wall_s": round(time.perf_counter() - t, 2),
        "peak_rss_mb": round(_peak_mb()),
        "counts": counts,
    }


def _dask(folder: Path, workers: int) -> dict[str, Any]:
    import distributed

    from fupin_rules.policy import load_policy
    from fupin_rules.scale import run
    from fupin_rules.scale.dask_runner import local_cluster

    policy = load_policy(POLICY)
    t0 = time.perf_counter()
    with local_cluster(workers) as client:
        started = time.perf_counter() - t0
        t = time.perf_counter()
        result = run(policy, folder / "parts", ON, scheduler=client)
        run_s = time.perf_counter() - t

        def worker_peak() -> float:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        peaks = client.run(worker_peak)
    _ = distributed
    return {
        "wall_s": round(time.perf_counter() - t0, 2),
        "run_s": round(run_s, 2),
        "cluster_start_s": round(started, 2),
        "partitions": result.partitions,
        "client_peak_rss_mb": round(_peak_mb()),
        "worker_peak_rss_mb": round(max(peaks.values())),
        "counts": result.counts,
    }


def _child(phase: str, folder: str, workers: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--folder",
        folder,
        "--workers",
        str(workers),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, action="append", help="persons (repeatable)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--households-per-partition", type=int, default=50_000)
    ap.add_argument("--phase", choices=["prepare", "single", "dask"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--households", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="skip nothing, just a name for smoke runs")
    args = ap.parse_args(argv)
    if args.phase == "single":
        print(json.dumps(_single(Path(args.folder))))
        return
    if args.phase == "dask":
        print(json.dumps(_dask(Path(args.folder), args.workers)))
        return
    if args.phase == "prepare":
        print(
            json.dumps(_prepare(args.households, Path(args.folder), args.households_per_partition))
        )
        return
    sizes = args.persons or [1_000_000, 5_000_000]
    report: dict[str, Any] = {
        "policy": "county_2017",
        "on": ON.isoformat(),
        "workers": args.workers,
        "runs": [],
    }
    for persons in sizes:
        households = round(persons / PERSONS_PER_HOUSEHOLD)
        with tempfile.TemporaryDirectory(prefix="fupin-bench-dask-") as tmp:
            cmd = [
                sys.executable, __file__, "--phase", "prepare", "--folder", tmp,
                "--households", str(households),
                "--households-per-partition", str(args.households_per_partition),
            ]  # fmt: skip
            prep = json.loads(
                subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            )
            single = _child("single", tmp, args.workers)
            dask = _child("dask", tmp, args.workers)
        equal = single.pop("counts") == dask.pop("counts")
        report["runs"].append({**prep, "single": single, "dask": dask, "equal": equal})
        print(json.dumps(report["runs"][-1]), file=sys.stderr)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
