"""Side by side, in one process: the OpenFisca peer and our batch engine on the same population.

    .bench-venv/bin/python bench/bench_peer.py --households 100000
    .bench-venv/bin/python bench/bench_peer.py --households 1000000 --repeats 3
    .bench-venv/bin/python bench/bench_peer.py --full 100000 1000000   # full policy too

Needs the bench-only environment of ``bench/README.md`` (openfisca-core and the peer model
``openfisca_fupin_peer`` installed next to fupin_rules). The peer's own ``bench.py`` is imported
from ``--peer-dir`` (default ``$FUPIN_PEER_DIR``, else ``../shared/peers/openfisca`` next to the
checkout) and used unchanged: its
``make_population`` draws the population, its ``build_from_arrays`` + ``compute_all`` are what
is timed for OpenFisca (TaxBenefitSystem built once; one warm-up, then best of ``--repeats``,
build and compute timed separately, as the peer's bench does).

Same numbers to both engines: money and rates must be exact for us, so the population's
incomes and collective incomes are rounded to the fen and income growth to 4 decimals *before*
either engine sees them; the peer gets those values as float64 arrays (it stores float32), we
get them as ``Decimal`` columns of the ledger layout (string ids, ``poverty_status``,
``school_level`` codes, ...). Our policy is ``bench/peer_subset`` (the peer's subset, the
peer's parameter values).

What is timed for us (best of ``--repeats`` after one warm-up):
  * ``convert``: numpy arrays -> our ledger frames (polars, string ids, Decimal money);
  * ``prepare``: ``fupin_rules.batch.engine.prepare`` (frames -> per-kind typed frames with
    exact Int128 numbers and parent indices; the equivalent of OpenFisca's build);
  * ``compute``: ``fupin_rules.batch.compute`` on the prepared tables, every rule of the
    subset policy, as of 2017-08-31 and as of 2017-09-01 (the peer computes the grant for the
    months 2017-08 and 2017-09; our parameters resolve at the as-of date, so we run twice and
    count both runs; the yearly quantities are therefore computed twice by us, once by the peer).

The agreement check compares, per person / household / village: grant amounts (both dates),
per-capita income (the peer's float32 against our exact value, relative 1e-6), poor households,
poverty incidence (relative 1e-6), incidence < 2 %, exit readiness and "every poor member insured"
(the peer's ``poor_fully_insured``, computed once after the timings since it is not among the
peer bench's timed targets). The ratio is peer (build + compute) / ours (compute), and also
peer (build + compute) / ours (prepare + compute).

``--full N ...`` also runs the full county_2017 policy on ``generate_county(N, seed=2017,
villages=N // 400)`` through ``bench/bench_batch.py``'s own phases (compute-only and Parquet in
-> JSON out), each in a fresh process so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
SUBSET = ROOT / "bench" / "peer_subset"
DATES = (dt.date(2017, 8, 31), dt.date(2017, 9, 1))  # peer months 2017-08, 2017-09
SCHOOL = np.array(["not_in_school", "secondary_vocational", "higher_vocational"])
INFRA = {  # peer variable -> our field
    "safe_drinking_water": "safe_drinking_water",
    "hardened_road": "hardened_road",
    "power_grid": "safe_power_grid",
    "broadband": "broadband_network",
}


def default_peer_dir() -> Path:
    """``$FUPIN_PEER_DIR``, else ``../shared/peers/openfisca`` next to this checkout (or two
    levels up, from a worktree); the same search as ``bench/make_bench_venv.sh``."""
    env = os.environ.get("FUPIN_PEER_DIR")
    if env:
        return Path(env)
    root = Path(__file__).resolve().parent.parent
    for candidate in (root.parent, root.parent.parent):
        found = candidate / "shared" / "peers" / "openfisca"
        if (found / "bench.py").is_file():
            return found
    return root.parent / "shared" / "peers" / "openfisca"


def load_peer_bench(peer_dir: Path) -> ModuleType:
    """The peer's bench.py as a module (its main() is not run)."""
    spec = importlib.util.spec_from_file_location("peer_bench", peer_dir / "bench.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no bench.py in {peer_dir}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any]:
    """One warm-up call, then the best of ``repeats`` timed calls (and the last result)."""
    out = fn()
    times = []
    for _ in range(repeats):
        out = None
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, out


# --------------------------------------------------------------------------------------
# One population, two input forms
# --------------------------------------------------------------------------------------
def exact_population(peer: ModuleType, households: int, villages: int, seed: int) -> dict:
    """The peer's population with money rounded to the fen and growth to 4 decimals."""
    d = peer.make_population(households, villages, seed)
    d["income_fen"] = np.round(d["income"] * 100).astype(np.int64)
    d["income"] = d["income_fen"] / 100.0
    d["collective_fen"] = np.round(d["collective_income"] * 100).astype(np.int64)
    d["collective_income"] = d["collective_fen"] / 100.0
    d["growth_e4"] = np.round(d["income_growth"] * 10_000).astype(np.int64)
    d["income_growth"] = d["growth_e4"] / 10_000.0
    return d


def decimal_series(name: str, units: np.ndarray, scale: int) -> pl.Series:
    """Integer ``units`` of 10**-scale as an exact Decimal(18, scale) column (no float)."""
    lo = units.astype(np.int64)
    words = np.empty((len(lo), 2), dtype=np.int64)
    words[:, 0] = lo
    words[:, 1] = lo >> 63  # sign extension to 128 bits
    arr = pa.Array.from_buffers(
        pa.decimal128(18, scale), len(lo), [None, pa.py_buffer(words.tobytes())]
    )
    return pl.Series(name, arr)


def ids(prefix: str, n: int) -> pl.Series:
    return (pl.lit(prefix) + pl.int_range(n, eager=True).cast(pl.String)).alias("x")


def to_frames(d: dict) -> dict[str, pl.DataFrame]:
    """The population in our ledger layout (what generate_county / read_ledger give)."""
    n_p, n_h, n_v = d["n_persons"], d["n_households"], d["n_villages"]
    idx = pl.DataFrame(
        {
            "p": pl.Series(np.arange(n_p, dtype=np.int64)),
            "h": pl.Series(d["person_hh"].astype(np.int64)),
        }
    )
    persons = idx.select(
        ("P" + pl.col("p").cast(pl.String)).alias("person_id"),
        ("H" + pl.col("h").cast(pl.String)).alias("household_id"),
    ).with_columns(
        pl.Series("school_level", SCHOOL[d["enrol"]]),
        pl.Series("basic_medical_insured", d["insured"]),
        decimal_series("annual_income_yuan", d["income_fen"], 2),
    )
    households = pl.DataFrame(
        {
            "h": pl.Series(np.arange(n_h, dtype=np.int64)),
            "v": pl.Series(d["hh_village"].astype(np.int64)),
            "poverty_status": np.where(d["registered_poor"], "registered_poor", "non_poor"),
        }
    ).select(
        ("H" + pl.col("h").cast(pl.String)).alias("household_id"),
        ("V" + pl.col("v").cast(pl.String)).alias("village_id"),
        "poverty_status",
    )
    villages = pl.DataFrame(
        {
            "village_id": [f"V{i}" for i in range(n_v)],
            "township_id": ["T0"] * n_v,
            **{ours: d[peer] for peer, ours in INFRA.items()},
        }
    ).with_columns(
        decimal_series("collective_income_yuan", d["collective_fen"], 2),
        decimal_series("income_growth_rate", d["growth_e4"], 4),
    )
    return {
        "county": pl.DataFrame({"county_id": ["C1"], "name": ["peer county"]}),
        "townships": pl.DataFrame({"township_id": ["T0"], "county_id": ["C1"]}),
        "villages": villages,
        "households": households,
        "persons": persons,
    }


# --------------------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------------------
def _index(frame: pl.DataFrame, n: int) -> np.ndarray:
    """Row of each subject id (``X123`` -> 123), checked to be a permutation of 0..n-1."""
    pos = frame["subject_id"].str.slice(1).cast(pl.Int64).to_numpy()
    assert len(pos) == n and np.array_equal(np.sort(pos), np.arange(n)), "subjects differ"
    return pos


def _rat(frame: pl.DataFrame, base: str, n: int, pos: np.ndarray) -> np.ndarray:
    num = frame[f"{base}_n"].cast(pl.Float64).to_numpy()
    den = frame[f"{base}_d"].cast(pl.Float64).to_numpy()
    out = np.full(n, np.nan)
    out[pos] = num / den
    return out


def agree(d: dict, peer_out: dict, peer_insured: np.ndarray, ours: dict) -> dict[str, Any]:
    """Compare the peer's arrays with our rule frames; counts of disagreements per quantity."""
    n_p, n_h, n_v = d["n_persons"], d["n_households"], d["n_villages"]
    res: dict[str, Any] = {}
    for on, month in zip(DATES, ("2017-08", "2017-09"), strict=True):
        g = ours[on]["person.rain_and_dew.grant"]
        pos = _index(g, n_p)
        amount = np.zeros(n_p)
        passed = (g["verdict"] == "pass").to_numpy()
        n = g["amount.n"].cast(pl.Float64).fill_null(0).to_numpy()
        dd = g["amount.d"].cast(pl.Float64).fill_null(1).to_numpy()
        amount[pos] = np.where(passed, n / dd, 0.0)
        peer_g = peer_out[f"rain_dew_grant_amount@{month}"].astype(np.float64)
        res[f"grant_{month}_mismatches"] = int((amount != peer_g).sum())
        res[f"grant_{month}_total_yuan"] = float(amount.sum())
    on = DATES[1]
    hh = ours[on]["household.poor"]
    pos = _index(hh, n_h)
    pci = _rat(hh, "out.per_capita_income.lo", n_h, pos)
    peer_pci = peer_out["per_capita_income@2017"].astype(np.float64)
    rel = np.abs(pci - peer_pci) / np.maximum(np.abs(pci), 1.0)
    res["per_capita_income_max_rel_diff"] = float(rel.max())
    res["per_capita_income_mismatches_rel_1e-6"] = int((rel > 1e-6).sum())
    exact = np.bincount(d["person_hh"], weights=d["income_fen"], minlength=n_h) / d["sizes"] / 100
    res["per_capita_income_ours_vs_float64_max_abs"] = float(np.abs(pci - exact).max())
    poor = np.zeros(n_h, dtype=bool)
    poor[pos] = (hh["verdict"] == "pass").to_numpy()
    res["poor_household_mismatches"] = int((poor != peer_out["is_poor@2017"]).sum())
    res["poor_households"] = int(poor.sum())
    vil = ours[on]["village.exit.standard"]
    pos = _index(vil, n_v)
    inc = _rat(vil, "out.incidence.lo", n_v, pos)
    peer_inc = peer_out["poverty_incidence@2017"].astype(np.float64)
    res["incidence_max_rel_diff"] = float((np.abs(inc - peer_inc) / np.maximum(inc, 1e-12)).max())
    below = np.zeros(n_v, dtype=bool)
    below[pos] = (vil["cond.incidence"] == "pass").to_numpy()
    res["incidence_below_2pct_mismatches"] = int((below != (peer_inc < 0.02)).sum())
    res["villages_incidence_below_2pct"] = int(below.sum())
    ready = np.zeros(n_v, dtype=bool)
    ready[pos] = (vil["verdict"] == "pass").to_numpy()
    res["exit_ready_mismatches"] = int((ready != peer_out["exit_ready@2017"]).sum())
    res["villages_exit_ready"] = int(ready.sum())
    ins = ours[on]["village.poor_insured"]
    pos = _index(ins, n_v)
    full = np.zeros(n_v, dtype=bool)
    full[pos] = (ins["verdict"] == "pass").to_numpy()
    res["poor_fully_insured_mismatches"] = int((full != peer_insured).sum())
    res["villages_poor_fully_insured"] = int(full.sum())
    share = _rat(ins, "out.insured_share.lo", n_v, pos)
    poor_p = d["registered_poor"][d["person_hh"]]
    num = np.bincount(d["person_village"], weights=poor_p & d["insured"], minlength=n_v)
    den = np.bincount(d["person_village"], weights=poor_p, minlength=n_v)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = num / den
    res["insured_share_mismatches"] = int(
        (~np.isclose(share, ref, rtol=1e-12, equal_nan=True)).sum()
    )
    res["agree"] = all(v == 0 for k, v in res.items() if k.endswith("_mismatches"))
    return res


# --------------------------------------------------------------------------------------
# Full county_2017 policy (through bench/bench_batch.py's phases)
# --------------------------------------------------------------------------------------
def full_policy(households: int, phases: list[str]) -> dict[str, Any]:
    from fupin_rules.io.generate import generate_county, write_parquet_dir

    villages = max(1, households // 400)
    bench_batch = ROOT / "bench" / "bench_batch.py"
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        frames = generate_county(households, seed=2017, villages=villages)
        write_parquet_dir(frames, tmp)
        out: dict[str, Any] = {
            "households": households,
            "persons": frames["persons"].height,
            "villages": frames["villages"].height,
            "records": sum(df.height for df in frames.values()),
            "generator": f"generate_county({households}, seed=2017, villages={villages})",
            "generate_and_write_seconds": round(time.perf_counter() - t0, 2),
        }
        del frames
        for name in phases:
            proc = subprocess.run(
                [sys.executable, str(bench_batch), "--phase", name, "--folder", tmp],
                capture_output=True,
                text=True,
                check=True,
            )
            out[name] = json.loads(proc.stdout)
    return out


# --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--villages", type=int, default=None, help="default: households // 400")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peer-dir", type=Path, default=None, help="default: see default_peer_dir")
    ap.add_argument("--skip-peer-all", action="store_true", help="skip timing village.all()")
    ap.add_argument("--full", type=int, nargs="*", default=[], help="full-policy sizes")
    ap.add_argument(
        "--full-phases",
        nargs="+",
        choices=("compute", "end_to_end"),
        default=["compute", "end_to_end"],
        help="phases of the full-policy runs",
    )
    ap.add_argument("--json", type=Path, help="also write the results here")
    a = ap.parse_args(argv)
    villages = a.villages or max(1, a.households // 400)

    from fupin_rules.batch import compute
    from fupin_rules.batch.engine import prepare
    from fupin_rules.batch.frames import Tables
    from fupin_rules.policy import load_policy

    peer = load_peer_bench(a.peer_dir or default_peer_dir())
    res: dict[str, Any] = {
        "machine": {
            "cores": len(os.sched_getaffinity(0)),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "polars": pl.__version__,
            "polars_threads": pl.thread_pool_size(),
            "openfisca_core": version("OpenFisca-Core"),
            "fupin_rules": version("fupin-rules"),
        },
        "households": a.households,
        "villages": villages,
        "repeats": a.repeats,
    }
    d = exact_population(peer, a.households, villages, a.seed)
    res["persons"] = d["n_persons"]

    # ---------------- OpenFisca peer ----------------
    t0 = time.perf_counter()
    tbs = peer.CountryTaxBenefitSystem()
    res["peer_tbs_build_s"] = time.perf_counter() - t0

    def peer_run() -> tuple[float, float, Any, dict]:
        t0 = time.perf_counter()
        sim = peer.build_from_arrays(tbs, d)
        t1 = time.perf_counter()
        out = peer.compute_all(sim)
        return t1 - t0, time.perf_counter() - t1, sim, out

    peer_run()  # warm-up
    builds, computes = [], []
    sim = peer_out = None
    for _ in range(a.repeats):
        sim = peer_out = None
        tb, tc, sim, peer_out = peer_run()
        builds.append(tb)
        computes.append(tc)
    totals = [b + c for b, c in zip(builds, computes, strict=True)]
    res["peer"] = {
        "build_s_best": min(builds),
        "compute_s_best": min(computes),
        "build_plus_compute_s_best": min(totals),
        "build_s_all": builds,
        "compute_s_all": computes,
        "targets": [f"{v}@{p}" for v, p in peer.TARGETS],
    }
    # poor_fully_insured: not among the peer bench's timed targets; timed here once each way
    # (the model's village.all(), unless --skip-peer-all, and the equivalent sum() of the
    # peer's README); with --skip-peer-all the check uses the sum() result
    assert sim is not None and peer_out is not None
    vil = sim.populations["village"]
    t0 = time.perf_counter()
    poor = vil.members.household("registered_poor", peer.YEAR)
    insured = vil.members("medical_insured", peer.YEAR)
    peer_insured = np.asarray(vil.sum(~(insured + ~poor)) == 0)
    res["peer"]["poor_fully_insured_sum_s"] = time.perf_counter() - t0
    if not a.skip_peer_all:
        t0 = time.perf_counter()
        via_all = np.asarray(sim.calculate("poor_fully_insured", peer.YEAR))
        res["peer"]["poor_fully_insured_all_s"] = time.perf_counter() - t0
        assert (via_all == peer_insured).all()
    peer_out = {k: np.asarray(v) for k, v in peer_out.items()}
    del sim, vil
    res["rss_after_peer_mib"] = peak_rss_mib()

    # ---------------- our batch engine ----------------
    policy = load_policy(SUBSET)
    t_convert, convert_all, frames = best_of(lambda: to_frames(d), a.repeats)
    t_prepare, prepare_all, tables = best_of(lambda: prepare(policy, frames), a.repeats)

    def fresh() -> Tables:  # the compiler adds columns to the tables: start clean each run
        return Tables(dict(tables.frames), tables.dens, tables.supplied, tables.issues)

    def ours_run() -> dict:
        return {on: compute(policy, fresh(), on) for on in DATES}

    t_compute, compute_all, results = best_of(ours_run, a.repeats)
    t_one, _, _ = best_of(lambda: compute(policy, fresh(), DATES[1]), a.repeats)
    res["ours"] = {
        "policy": f"{policy.id}@{policy.version} ({policy.content_hash[:12]})",
        "convert_s_best": t_convert,
        "prepare_s_best": t_prepare,
        "compute_s_best": t_compute,
        "compute_one_date_s_best": t_one,
        "prepare_plus_compute_s_best": t_prepare + t_compute,
        "convert_s_all": convert_all,
        "prepare_s_all": prepare_all,
        "compute_s_all": compute_all,
    }
    res["rss_after_ours_mib"] = peak_rss_mib()
    peer_total = res["peer"]["build_plus_compute_s_best"]
    res["ratio_peer_build_compute_over_ours_compute"] = peer_total / t_compute
    res["ratio_peer_build_compute_over_ours_prepare_compute"] = peer_total / (t_prepare + t_compute)
    res["ratio_peer_compute_over_ours_compute"] = res["peer"]["compute_s_best"] / t_compute

    frames_by_date = {
        on: {rid: rf.frame for rid, rf in r.rules.items()} for on, r in results.items()
    }
    res["check"] = agree(d, peer_out, peer_insured, frames_by_date)

    if a.full:
        res["full_policy"] = [full_policy(n, a.full_phases) for n in a.full]
    text = json.dumps(res, indent=2, ensure_ascii=False)
    print(text)
    if a.json:
        a.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
