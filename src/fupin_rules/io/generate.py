"""Synthetic Zhushan-like county (2017) as columnar tables, for tests, demos and benchmarks.

:func:`generate_county` returns one polars DataFrame per ledger table (``county``, ``townships``,
``villages``, ``households``, ``persons``, ``loans``, ``payments``, ``projects``, ``documents``,
``procedure_steps``, ``relocations``, ``rectification_items``) whose columns are the domain
fields (codes as strings, money as ``Decimal(15, 2)`` yuan, rates as ``Decimal``, dates as
``Date``, lists as ``List(String)``). Everything is vectorised (polars expressions over
counter-based random streams, see :mod:`fupin_rules.io._prng`): a million households take seconds.
The same ``seed`` gives identical frames. Every record is *valid* (``load_dataset`` accepts it);
the imperfections are policy problems and unknowns, never malformed rows.

Assumptions (status: **sourced** = from ``domain-facts.md`` with a source there; **assumed** = a
modelling choice; **seed** = stated in the county's plan). Section numbers refer to
domain-facts.md §3 unless noted.

Structure
  * townships: ``ceil(sqrt(villages))``; 17 for the real county's ~260 villages (sourced: 17
    township-level units); the first 17 carry the sourced names and 2010 census weights (sourced
    weights, assumed stable to 2017); more townships (for province-size runs) are assumed.
  * villages: default ``round(households / 500)`` (assumed; ~260 villages, ~130,000 households);
    households per village ∝ lognormal(σ 0.45) clipped to 400/1500…5000/1500 of the median
    (assumed, §3 village population).
  * village groups (assumed): 28 % in the 2017 exit cohort (seed: 73 of ~260), 22 % exited in
    2014–2016, 42 % exiting 2018–2019, 8 % never poor (sourced: 239 poor villages of ~260). Cohort
    category: province-key with p = 33/73 (seed), else county-designated.
Households
  * status shares by village group (assumed; overall ≈ 31 % of households in the register,
    sourced-derived from 13万 registered of 46万 persons): cohort and exited villages have about
    2–3 % not-yet-exited households (so some pass the < 2 % incidence test and some fail),
    later villages about 30 %, non-poor villages about 6 %. A per-village factor U(0.3, 1.6)
    spreads incidence.
  * attribute of register households: general 67.4 %, low-income guarantee 29.2 %
    (低保 12.1 % + 扶贫低保 17.1 %), five guarantees 3.4 % (sourced, Shiyan 2014).
  * household size: general mean 3.3, low-income 3.0, five guarantees 1.26, non-poor 3.5
    (means sourced/derived, shapes assumed, §3).
  * main cause: 因病 42 % (sourced), the others as in §3 (assumed).
  * per-capita income lognormal by status: non-poor median 7,740 σ 0.55; not-yet-exited
    median 2,900 σ 0.40; 2017 pre-exit median 4,300 σ 0.30; exited median 5,200 σ 0.35
    (assumed, §3); split among members by labour capacity (assumed).
Persons
  * ages: head N(52, 13) (five-guarantees heads N(72, 8)); spouse head ± 4; children head − 20…34;
    grandchildren of older heads; parents head + 22…32 (assumed, calibrated to 0–14 ≈ 20 %,
    15–59 ≈ 58 %, 60+ ≈ 22 %, sourced 2020 census as a 2017 proxy).
  * school (as of 2017-09-01): 中职 p 0.22 at 15–17 (poor; 0.18 non-poor), 高职 p 0.14 at 19–21,
    both at 18; 普高, 本科 and the compulsory levels (assumed, §3).
  * chronic disease prevalence by age 1.44 % … 54 % (sourced, 2013 NHSS), × 1.5 in 因病
    households (assumed); 1–3 codes of :data:`CHRONIC_DISEASE_CODES` (the 31 codes of the
    county_2017 catalogue, whose names are themselves assumed there); serious illness 3 %/1 %,
    disability 6 %/2.5 % (assumed).
  * basic medical insurance 98.5 % of register persons, 95 % otherwise (assumed; the 100 % rule is
    seed); supplementary insurances 97 %/96 % of register persons (assumed).
Villages
  * collective income (poor villages): 25 % zero, 35 % U(5k, 50k), 40 % U(50k, 150k), plus 50,000
    from photovoltaics for 88 % (assumed; sourced anchor: 210 of 239 villages lifted to ≥ 5万 by
    PV). So many villages sit exactly at 50,000 — as the PV plan intended.
  * income growth N(9.5 %, 2.5 pp); county average = the household-weighted mean (assumed).
  * new market entities Poisson(2.8); driven shares Beta(5, 4) and Beta(7, 3); infrastructure
    Bernoulli water 0.92, road 0.95, grid 0.97, broadband 0.85; service centre 0.90, culture 0.85,
    clinic built 0.90 and qualified doctor 0.90 (assumed, §3).
  * near-threshold villages, always present in the 2017 cohort: one with poverty incidence exactly
    2 % (persons), one with collective income exactly 50,000.00, one with growth equal to the
    county average.
Other tables (all assumed unless said)
  * relocation: 10 % of register households; 2017 cohort 60 % of them; turnkey dates 85 % by
    2017-11-30 (some exactly on it), move-in mostly by 2017-12-31 (§3, assumed shares).
  * microcredit: 15 % of register households with a head aged 18–65; amounts 50k/30k/20k/10k
    (0.60/0.25/0.10/0.05), terms 12/24/36 months (sourced terms: ≤ 5万, ≤ 3 years).
  * Rain and Dew: one payment per eligible vocational student, 5,000 in autumn 2017 (seed rate).
  * archives: pouch with 《扶贫手册》 for every register household; village 一户一档 documents;
    village special archives; procedure steps 申请→核查测算→公示→告知 for exited households.
  * rectification items: about one per 300 relocated households of 2017, at least 5.

``imperfect=True`` (the default) adds the problems a look-back run should find: ~1.5 % of
optional fields left empty (unknown), Rain and Dew missing for 12 % of eligible students and at
the old 3,000 for 15 % of the paid, cancelled documents (承诺书/明白卡/合影) in 3 %/2 %/2 % of
pouches, missing (3 %) or out-of-order (2 %) procedure steps, loans used by an enterprise (2 %),
over the cap (0.5 %) or too long (1 %), out-of-catalogue disease codes, village special
materials filed per household, missing household projects and documents, and a county that has
not exchanged data with the disabled persons' federation. ``imperfect=False`` gives a county
without these (natural distributions, such as 98.5 % insurance, still produce findings).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from fupin_rules.io._prng import Streams
from fupin_rules.io._synthetic import CHRONIC_DISEASE_CODES, Generator

__all__ = [
    "CHRONIC_DISEASE_CODES",
    "generate_county",
    "to_dataset_dict",
    "write_parquet_dir",
]


def generate_county(
    households: int, seed: int, *, villages: int | None = None, imperfect: bool = True
) -> dict[str, pl.DataFrame]:
    """A synthetic county of ``households`` households as one DataFrame per ledger table.

    ``villages`` defaults to ``round(households / 500)``; townships are ``ceil(sqrt(villages))``.
    ``imperfect`` adds missing values and deliberate policy problems (see the module docstring).
    Same arguments, same frames. Raises ``ValueError`` for fewer households than villages.
    """
    if households < 1:
        raise ValueError(f"households={households}: expected at least 1")
    n_villages = villages if villages is not None else max(1, round(households / 500))
    if not 1 <= n_villages <= households:
        raise ValueError(
            f"villages={n_villages} with households={households}: "
            "expected 1 <= villages <= households"
        )
    return Generator(Streams(seed), households, n_villages, imperfect).run()


def to_dataset_dict(frames: Mapping[str, pl.DataFrame]) -> dict[str, Any]:
    """The frames in the JSON layout of :meth:`Dataset.to_dict` (None fields left out)."""
    out: dict[str, Any] = {}
    for table, frame in frames.items():
        rows = [_json_row(row) for row in frame.iter_rows(named=True)]
        out[table] = rows[0] if table == "county" else rows
    return out


def _json_row(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value is None:
            continue
        if isinstance(value, dt.date):
            out[key] = value.isoformat()
        elif isinstance(value, Decimal):
            out[key] = str(value)
        else:
            out[key] = value
    return out


def write_parquet_dir(
    frames: Mapping[str, pl.DataFrame], directory: str | os.PathLike[str]
) -> Path:
    """Write each frame as ``<table>.parquet`` into ``directory`` (created); read it with read_ledger."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in frames.items():
        frame.write_parquet(folder / f"{table}.parquet")
    return folder
