"""Benchmark of the batch engine: the full county_2017 policy on a synthetic county.

    python bench/bench_batch.py                       # 100,000 households
    python bench/bench_batch.py --households 1000000  # a province-sized county

Prints one JSON object: per size, compute-only seconds (``fupin_rules.batch.compute`` on
in-memory frames), end-to-end seconds (read Parquet, evaluate with the problem list
materialised, write the JSON report) and the peak RSS of each phase (each phase runs in its own
process, so the peaks do not mix).

The synthetic county comes from ``fupin_rules.io.generate.generate_county`` (seed 2017) when
that module exists; otherwise (``--minimal``, or an older tree) a minimal generator in this
file builds the tables with polars expressions
(hash-based pseudo-random values, about 4 persons per household, 400 households per village,
about 5 % unknown values, loans, payments, projects, documents, procedure steps, relocations and
rectification items).
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

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
ON = dt.date(2017, 12, 31)
TABLES = (
    "county",
    "townships",
    "villages",
    "households",
    "persons",
    "loans",
    "payments",
    "projects",
    "documents",
    "procedure_steps",
    "relocations",
    "rectification_items",
)


def _r(seed: int, k: int) -> pl.Expr:
    """A pseudo-random integer in [0, k) per row."""
    return (pl.col("i").hash(seed) % k).cast(pl.Int64)


def _pick(seed: int, values: list[Any], missing: int = 5) -> pl.Expr:
    """A pseudo-random choice per row; null with probability ``missing`` %."""
    expr = pl.lit(values[0])
    for j, v in enumerate(values[1:], start=1):
        expr = pl.when(_r(seed, len(values)) == j).then(pl.lit(v)).otherwise(expr)
    return pl.when(_r(seed + 7919, 100) < missing).then(None).otherwise(expr)


def _rows(n: int) -> pl.DataFrame:
    return pl.DataFrame({"i": pl.Series(range(n), dtype=pl.UInt64)})


def generate(households: int) -> dict[str, pl.DataFrame]:
    """A minimal synthetic county (used while fupin_rules.io.generate is not available)."""
    n_vil = max(1, households // 400)
    n_town = max(1, n_vil // 20)
    n_per = households * 4
    statuses = [
        "non_poor",
        "non_poor",
        "registered_poor",
        "pre_exit_2017",
        "exited",
        "stable_exit",
        "newly_added",
        "returned_to_poverty",
    ]
    county = pl.DataFrame(
        [
            {
                "county_id": "C1",
                "name": "竹山县",
                "avg_income_growth_rate": "0.08",
                "data_exchange_departments": ["education", "health", "civil_affairs"],
            }
        ]
    )
    townships = _rows(n_town).select(
        ("T" + pl.col("i").cast(pl.String)).alias("township_id"),
        pl.lit("C1").alias("county_id"),
        _pick(1, [True, False]).alias("has_industry_scale"),
    )
    bools = [
        "has_leading_industry",
        "has_driving_enterprise_or_coop",
        "safe_drinking_water",
        "hardened_road",
        "safe_power_grid",
        "broadband_network",
        "service_center",
        "culture_venue",
        "medical_security",
        "housing_security",
        "clinic_built",
        "clinic_has_qualified_doctor",
    ]
    villages = _rows(n_vil).select(
        ("V" + pl.col("i").cast(pl.String)).alias("village_id"),
        ("T" + (pl.col("i") % n_town).cast(pl.String)).alias("township_id"),
        _pick(2, ["province_key", "county_designated", "non_poor_village"]).alias("category"),
        _pick(3, [2016, 2017, 2018]).alias("planned_exit_year"),
        _pick(4, ["49999.99", "50000", "50000.01", "80000"]).alias("collective_income_yuan"),
        _pick(5, ["0.08", "0.0800", "0.09", "0.07"]).alias("income_growth_rate"),
        _pick(6, [2, 3, 4]).alias("new_market_entities_count"),
        *[_pick(10 + j, [True] * 19 + [False], 3).alias(b) for j, b in enumerate(bools)],
    )
    hh_bools = [
        "has_exit_plan",
        "manual_filled",
        "manual_edition_new",
        "filed_for_record",
        "has_ledger",
        "system_ticked",
        "separate_ledger",
        "public_notice_posted",
        "departments_notified",
        "industry_project_ledger",
        "industry_project_implemented",
        "industry_management_in_place",
        "industry_subsidy_paid",
        "industry_income_secured",
        "three_without",
        "asset_income_model",
        "driven_by_market_entity",
        "driven_by_featured_industry",
    ]
    hh = _rows(households).select(
        ("H" + pl.col("i").cast(pl.String)).alias("household_id"),
        ("V" + (pl.col("i") // 400 % n_vil).cast(pl.String)).alias("village_id"),
        _pick(30, statuses, 2).alias("poverty_status"),
        _pick(31, ["general", "low_income_guarantee", "five_guarantees"]).alias("attribute"),
        _pick(32, ["illness", "disability", "education", "lack_of_capital"]).alias("main_cause"),
        _pick(33, [["industry"], ["employment", "education"], []]).alias("assistance_measures"),
        _pick(34, ["王芳", "李强", ""]).alias("helper_name"),
        _pick(35, [2016, 2017]).alias("exit_year"),
        *[_pick(40 + j, [True] * 19 + [False], 2).alias(b) for j, b in enumerate(hh_bools)],
    )
    persons = _rows(n_per).select(
        ("P" + pl.col("i").cast(pl.String)).alias("person_id"),
        ("H" + (pl.col("i") // 4).cast(pl.String)).alias("household_id"),
        _pick(70, ["not_in_school", "primary", "secondary_vocational", "higher_vocational"]).alias(
            "school_level"
        ),
        _pick(71, ["healthy", "chronic_disease", "disabled"]).alias("health_status"),
        _pick(72, [["hypertension"], [], ["diabetes", "hypertension"]]).alias("chronic_diseases"),
        _pick(73, [True, True, True, False]).alias("basic_medical_insured"),
        _pick(74, [True] * 19 + [False], 2).alias("serious_illness_insured"),
        _pick(75, [True] * 19 + [False], 2).alias("chronic_disease_insured"),
        _pick(76, [True] * 9 + [False], 2).alias("chronic_disease_treated"),
    )
    hid = ("H" + (pl.col("i") * 5 % households).cast(pl.String)).alias("household_id")
    dates = [dt.date(2016, 12, 31), dt.date(2017, 3, 1), dt.date(2017, 9, 1), dt.date(2017, 12, 31)]
    loans = _rows(households // 5).select(
        ("L" + pl.col("i").cast(pl.String)).alias("loan_id"),
        hid,
        pl.lit("50000").alias("amount_yuan"),
        _pick(80, dates).alias("issued_on"),
        _pick(81, [12, 36, 37]).alias("term_months"),
        _pick(82, [True, True, False]).alias("used_by_household"),
        _pick(83, [True, True, False]).alias("repaid_by_household"),
        _pick(84, [True, False]).alias("repaid"),
    )
    payments = _rows(households // 4).select(
        ("PAY" + pl.col("i").cast(pl.String)).alias("payment_id"),
        ("H" + (pl.col("i") * 16 // 4 % households).cast(pl.String)).alias("household_id"),
        ("P" + (pl.col("i") * 16 % n_per).cast(pl.String)).alias("person_id"),
        _pick(90, ["rain_and_dew", "industry_subsidy", "other"], 0).alias("program"),
        _pick(91, ["2999.99", "3000", "5000"], 0).alias("amount_yuan"),
        _pick(92, dates).alias("paid_on"),
    )
    projects = _rows(households // 5).select(
        ("PR" + pl.col("i").cast(pl.String)).alias("project_id"),
        ("V" + (pl.col("i") * 5 // 400 % n_vil).cast(pl.String)).alias("village_id"),
        hid,
        _pick(100, ["10000", "20000.5"]).alias("amount_yuan"),
        _pick(101, [True, False]).alias("implemented"),
    )
    kinds = ["poverty_manual", "pledge", "application_form", "exit_plan", "income_account"]
    documents = _rows(households * 2).select(
        ("D" + pl.col("i").cast(pl.String)).alias("document_id"),
        _pick(110, ["household_pouch", "village_household_file"], 0).alias("archive"),
        _pick(111, kinds, 0).alias("kind"),
        ("V" + (pl.col("i") // 2 // 400 % n_vil).cast(pl.String)).alias("village_id"),
        ("H" + (pl.col("i") // 2).cast(pl.String)).alias("household_id"),
        _pick(112, [True, False]).alias("up_to_date"),
    )
    steps = _rows(households // 5 * 4).select(
        ("S" + pl.col("i").cast(pl.String)).alias("step_id"),
        ("H" + (pl.col("i") // 4 * 5 % households).cast(pl.String)).alias("household_id"),
        _pick(120, ["application", "verification", "public_notice", "notification"], 0).alias(
            "step"
        ),
        _pick(121, dates).alias("done_on"),
    )
    relocations = _rows(households // 20).select(
        ("R" + pl.col("i").cast(pl.String)).alias("relocation_id"),
        ("H" + (pl.col("i") * 20 % households).cast(pl.String)).alias("household_id"),
        _pick(130, [2016, 2017]).alias("year"),
        _pick(131, [dt.date(2017, 11, 30), dt.date(2017, 12, 1)]).alias("turnkey_on"),
        _pick(132, [dt.date(2017, 12, 31), dt.date(2018, 1, 1)]).alias("moved_in_on"),
        _pick(133, [True, False]).alias("exit_measures_delivered"),
    )
    items = _rows(50).select(
        ("RI" + pl.col("i").cast(pl.String)).alias("item_id"),
        pl.lit("C1").alias("county_id"),
        _pick(140, ["补建台账", ""]).alias("measures"),
        _pick(141, dates).alias("deadline"),
        _pick(142, ["张三"]).alias("responsible_leader"),
        _pick(143, ["李四"]).alias("responsible_person"),
        _pick(144, [True, False]).alias("closed"),
    )
    return {
        "county": county,
        "townships": townships,
        "villages": villages,
        "households": hh,
        "persons": persons,
        "loans": loans,
        "payments": payments,
        "projects": projects,
        "documents": documents,
        "procedure_steps": steps,
        "relocations": relocations,
        "rectification_items": items,
    }


def county_frames(households: int, minimal: bool = False) -> tuple[dict[str, pl.DataFrame], str]:
    """Frames from the project's generator if present, else from :func:`generate`."""
    if minimal:
        return generate(households), "bench/bench_batch.py:generate (minimal)"
    try:
        from fupin_rules.io.generate import generate_county
    except ImportError:
        return generate(households), "bench/bench_batch.py:generate (minimal)"
    try:
        frames = generate_county(households, seed=2017)
    except Exception as exc:
        note = f"bench/bench_batch.py:generate (minimal; generate_county failed: {exc!r})"
        return generate(households), note
    return dict(frames), "fupin_rules.io.generate.generate_county(seed=2017)"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(name: str, folder: Path) -> dict[str, Any]:
    """Run one measured phase in this process; the caller runs it in a fresh process."""
    from fupin_rules.batch import compute, evaluate_batch
    from fupin_rules.policy import load_policy
    from fupin_rules.reports.json_report import write_json_file

    policy = load_policy(POLICY)
    if name == "compute":
        frames = {t: pl.read_parquet(folder / f"{t}.parquet") for t in TABLES}
        base = _peak_mb()
        t0 = time.perf_counter()
        result = compute(policy, frames, ON)
        seconds = time.perf_counter() - t0
        rows = sum(rf.frame.height for rf in result.rules.values())
        return {
            "seconds": round(seconds, 3),
            "peak_rss_mb": round(_peak_mb(), 1),
            "rss_before_mb": round(base, 1),
            "result_rows": rows,
        }
    t0 = time.perf_counter()
    frames = {t: pl.read_parquet(folder / f"{t}.parquet") for t in TABLES}
    t1 = time.perf_counter()
    ev = evaluate_batch(policy, frames, ON, materialize="non_pass")
    t2 = time.perf_counter()
    write_json_file(ev, folder / "report.json")  # streamed, as `fupin-rules check --out`
    seconds = time.perf_counter() - t0
    return {
        "seconds": round(seconds, 3),
        "read_parquet_seconds": round(t1 - t0, 3),
        "evaluate_batch_seconds": round(t2 - t1, 3),
        "json_report_seconds": round(time.perf_counter() - t2, 3),
        "peak_rss_mb": round(_peak_mb(), 1),
        "findings_materialised": len(ev.findings),
        "not_applicable": ev.not_applicable_count,
        "report_mb": round((folder / "report.json").stat().st_size / 2**20, 1),
    }


def run_size(households: int, minimal: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        frames, source = county_frames(households, minimal)
        for name, df in frames.items():
            df.write_parquet(folder / f"{name}.parquet")
        gen = time.perf_counter() - t0
        out: dict[str, Any] = {
            "households": households,
            "persons": frames["persons"].height,
            "villages": frames["villages"].height,
            "records": sum(df.height for df in frames.values()),
            "generator": source,
            "generate_seconds": round(gen, 2),
        }
        del frames
        for name in ("compute", "end_to_end"):
            proc = subprocess.run(
                [sys.executable, __file__, "--phase", name, "--folder", str(folder)],
                capture_output=True,
                text=True,
                check=True,
            )
            out[name] = json.loads(proc.stdout)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, nargs="*", default=[100_000])
    parser.add_argument("--phase", choices=("compute", "end_to_end"))
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--minimal", action="store_true", help="use the generator in this file")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.folder)))
        return
    figures = {
        "policy": "county_2017",
        "on": ON.isoformat(),
        "polars": pl.__version__,
        "threads": pl.thread_pool_size(),
        "runs": [run_size(n, args.minimal) for n in args.households],
    }
    print(json.dumps(figures, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
