"""How fast could the peer subset be at all? Hand-written lower bounds next to the peer.

    .bench-venv/bin/python bench/bench_floor.py --households 100000 --repeats 9

The issue's goal is ≥ 10× faster than OpenFisca on the subset [Rain and Dew amount for
2017-08 and 2017-09, per-capita income, poverty incidence, village exit standard, poor insured].
This script times, on the peer bench's own population (same seed as ``bench_peer.py``), three
hand-written versions of exactly that subset that the library could never be faster than:

* ``polars_exact``: polars, exact integers (fen, cross-multiplied comparisons), **no unknowns**
  (no null handling, no intervals), no explanations, yearly quantities computed once and the
  grant for both months — what a special-purpose pipeline for complete data would do;
* ``numpy_exact``: the same with numpy ``bincount`` on integer arrays;
* ``peer``: OpenFisca's ``SimulationBuilder`` build + compute of the same targets
  (``bench_peer.py``'s definition of the peer's time).

Each hand-written result is checked against the peer's (grant, poor, incidence < 2 %,
exit-ready, all poor insured). Prints one JSON object with the times and the ratios
peer / hand-written. Nothing here is library code; it measures the ceiling of the ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_peer as bp

LINE_FEN = 333_500  # poverty line 3,335 yuan (the peer subset's parameter for 2017)
GRANT = {"2017-08": 3000, "2017-09": 5000}
MIN_COLLECTIVE_FEN = 5_000_000
AVG_GROWTH_E4 = 900  # 0.09


def _arrays(d: dict[str, Any]) -> dict[str, np.ndarray]:
    vocational = np.isin(bp.SCHOOL[d["enrol"]], ["secondary_vocational", "higher_vocational"])
    infra = np.ones(d["n_villages"], dtype=bool)
    for peer_name in bp.INFRA:
        infra &= np.asarray(d[peer_name], dtype=bool)
    return {
        "hh": d["person_hh"].astype(np.int64),
        "income": d["income_fen"],
        "vocational": vocational,
        "insured": np.asarray(d["insured"], dtype=bool),
        "reg": np.asarray(d["registered_poor"], dtype=bool),
        "village": d["hh_village"].astype(np.int64),
        "collective": d["collective_fen"],
        "growth": d["growth_e4"],
        "infra": infra,
    }


def numpy_exact(a: dict[str, np.ndarray], n_h: int, n_v: int) -> dict[str, np.ndarray]:
    members = np.bincount(a["hh"], minlength=n_h)
    # bincount sums in float64: exact for integer fen below 2**53 (90 billion yuan a household)
    total = np.bincount(a["hh"], weights=a["income"], minlength=n_h).astype(np.int64)
    poor = a["reg"] & (total < LINE_FEN * members)
    pv = a["village"][a["hh"]]
    residents = np.bincount(pv, minlength=n_v)
    poor_res = np.bincount(pv, weights=poor[a["hh"]], minlength=n_v).astype(np.int64)
    below = poor_res * 50 < residents
    exit_ready = (
        below & (a["collective"] >= MIN_COLLECTIVE_FEN) & (a["growth"] > AVG_GROWTH_E4) & a["infra"]
    )
    uninsured_poor = np.bincount(pv, weights=~a["insured"] & a["reg"][a["hh"]], minlength=n_v)
    eligible = a["vocational"] & a["reg"][a["hh"]]
    out = {f"grant@{m}": np.where(eligible, g, 0) for m, g in GRANT.items()}
    out.update(poor=poor, below=below, exit_ready=exit_ready, insured=uninsured_poor == 0)
    return out


def polars_exact(f: dict[str, pl.DataFrame]) -> dict[str, pl.Series]:
    persons, households, villages = f["persons"], f["households"], f["villages"]
    n_h = households.height
    agg = (
        persons.group_by("hh")
        .agg(pl.col("income").sum().alias("total"), pl.len().alias("n"))
        .sort("hh")
    )
    hh = households.with_columns(
        (pl.col("reg") & (agg["total"] < pl.lit(LINE_FEN) * agg["n"].cast(pl.Int64))).alias("poor")
        if agg.height == n_h
        else pl.lit(None)
    )
    p = persons.with_columns(
        hh["village"].gather(persons["hh"]).alias("v"),
        hh["poor"].gather(persons["hh"]).alias("poor"),
        hh["reg"].gather(persons["hh"]).alias("reg"),
    )
    vagg = (
        p.group_by("v")
        .agg(
            pl.len().alias("residents"),
            pl.col("poor").sum().alias("poor_res"),
            (~pl.col("insured") & pl.col("reg")).any().alias("uninsured_poor"),
        )
        .sort("v")
    )
    below = vagg["poor_res"].cast(pl.Int64) * 50 < vagg["residents"].cast(pl.Int64)
    v = villages.with_columns(below.alias("below"), (~vagg["uninsured_poor"]).alias("insured"))
    v = v.with_columns(
        (
            pl.col("below")
            & (pl.col("collective") >= MIN_COLLECTIVE_FEN)
            & (pl.col("growth") > AVG_GROWTH_E4)
            & pl.col("infra")
        ).alias("exit_ready")
    )
    grants = p.select(
        [
            pl.when(pl.col("vocational") & pl.col("reg")).then(g).otherwise(0).alias(f"grant@{m}")
            for m, g in GRANT.items()
        ]
    )
    out = {c: grants[c] for c in grants.columns}
    out.update(poor=hh["poor"], below=v["below"], exit_ready=v["exit_ready"], insured=v["insured"])
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--peer-dir", type=Path, default=None, help="default: as bench_peer.py")
    a = ap.parse_args(argv)

    peer = bp.load_peer_bench(a.peer_dir or bp.default_peer_dir())
    villages = max(1, a.households // 400)
    d = bp.exact_population(peer, a.households, villages, 0)
    n_h, n_v = d["n_households"], d["n_villages"]
    arrays = _arrays(d)
    frames = {
        "persons": pl.DataFrame(
            {
                "hh": pl.Series(arrays["hh"]).cast(pl.UInt32),
                "income": arrays["income"],
                "vocational": arrays["vocational"],
                "insured": arrays["insured"],
            }
        ),
        "households": pl.DataFrame({"reg": arrays["reg"], "village": arrays["village"]}),
        "villages": pl.DataFrame(
            {
                "collective": arrays["collective"],
                "growth": arrays["growth"],
                "infra": arrays["infra"],
            }
        ),
    }

    tbs = peer.CountryTaxBenefitSystem()

    def peer_run() -> dict[str, np.ndarray]:
        return dict(peer.compute_all(peer.build_from_arrays(tbs, d)))

    peer_t, _, peer_raw = bp.best_of(peer_run, a.repeats)
    np_t, _, np_out = bp.best_of(lambda: numpy_exact(arrays, n_h, n_v), a.repeats)
    pl_t, _, pl_out = bp.best_of(lambda: polars_exact(frames), a.repeats)

    poor_p = d["registered_poor"][d["person_hh"]]
    uninsured = np.bincount(d["person_village"], weights=poor_p & ~d["insured"], minlength=n_v)
    want = {
        "grant@2017-08": np.asarray(peer_raw["rain_dew_grant_amount@2017-08"]),
        "grant@2017-09": np.asarray(peer_raw["rain_dew_grant_amount@2017-09"]),
        "poor": np.asarray(peer_raw["is_poor@2017"]),
        "below": np.asarray(peer_raw["poverty_incidence@2017"]) < 0.02,
        "exit_ready": np.asarray(peer_raw["exit_ready@2017"]),
        "insured": uninsured == 0,  # the peer README's sum() form of poor_fully_insured
    }
    agree = {
        name: {k: int((np.asarray(out[k]) != v).sum()) for k, v in want.items()}
        for name, out in (("numpy_exact", np_out), ("polars_exact", pl_out))
    }
    res = {
        "households": a.households,
        "persons": int(d["n_persons"]),
        "villages": n_v,
        "repeats": a.repeats,
        "peer_build_plus_compute_s": peer_t,
        "numpy_exact_s": np_t,
        "polars_exact_s": pl_t,
        "ratio_peer_over_numpy_exact": peer_t / np_t,
        "ratio_peer_over_polars_exact": peer_t / pl_t,
        "mismatches": agree,
    }
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
