"""Exact numbers at the thresholds, Kleene nulls, intervals and inputs of the batch engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fupin_rules.batch import compute, evaluate_batch
from fupin_rules.batch.frames import tables_from_frames
from fupin_rules.batch.values import NumV, Rat, num_compare, num_const
from fupin_rules.domain.dataset import Dataset
from fupin_rules.engine.run import run_policy
from fupin_rules.findings.model import Outcome
from fupin_rules.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[3]
COUNTY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
ON = dt.date(2017, 12, 31)


@pytest.fixture(scope="module")
def county() -> Policy:
    return load_policy(COUNTY)


def village_data(
    n_residents: int, n_poor: int, income: str = "50000", growth: str = "0.09", avg: str = "0.08"
) -> dict[str, Any]:
    persons = [{"person_id": f"P{i}", "household_id": "H1"} for i in range(n_poor)]
    persons += [{"person_id": f"Q{i}", "household_id": "H2"} for i in range(n_residents - n_poor)]
    return {
        "county": {"county_id": "C1", "avg_income_growth_rate": Decimal(avg)},
        "townships": [{"township_id": "T1", "county_id": "C1"}],
        "villages": [
            {
                "village_id": "V1",
                "township_id": "T1",
                "planned_exit_year": 2017,
                "collective_income_yuan": Decimal(income),
                "income_growth_rate": Decimal(growth),
            }
        ],
        "households": [
            {"household_id": "H1", "village_id": "V1", "poverty_status": "registered_poor"},
            {"household_id": "H2", "village_id": "V1", "poverty_status": "non_poor"},
        ],
        "persons": persons,
    }


def verdict(policy: Policy, data: dict[str, Any], rule: str, subject: str) -> Outcome:
    ev = evaluate_batch(policy, Dataset.from_dict(data), ON, materialize="all")
    (found,) = [f for f in ev.findings if f.rule_id == rule and f.subject_id == subject]
    ref = run_policy(policy, Dataset.from_dict(data), ON)
    (want,) = [f for f in ref.findings if f.rule_id == rule and f.subject_id == subject]
    assert found == want
    return found.verdict


@pytest.mark.parametrize(
    ("residents", "expected"),
    [(50, Outcome.FAIL), (51, Outcome.PASS), (49, Outcome.FAIL), (100, Outcome.PASS)],
)
def test_incidence_exactly_two_percent_is_not_below(
    county: Policy, residents: int, expected: Outcome
) -> None:
    data = village_data(residents, 1)
    assert verdict(county, data, "village.exit.poverty_incidence", "V1") is expected


@pytest.mark.parametrize(
    ("income", "expected"),
    [("49999.99", Outcome.FAIL), ("50000", Outcome.PASS), ("50000.00", Outcome.PASS)],
)
def test_collective_income_boundary(county: Policy, income: str, expected: Outcome) -> None:
    data = village_data(100, 1, income=income)
    assert verdict(county, data, "village.exit.collective_income", "V1") is expected


@pytest.mark.parametrize(
    ("growth", "expected"),
    [("0.0800", Outcome.FAIL), ("0.08", Outcome.FAIL), ("0.08000001", Outcome.PASS)],
)
def test_growth_equal_to_county_average_is_not_above(
    county: Policy, growth: str, expected: Outcome
) -> None:
    data = village_data(100, 1, growth=growth, avg="0.08")
    assert verdict(county, data, "village.exit.income_growth", "V1") is expected


def test_incidence_value_is_the_exact_fraction(county: Policy) -> None:
    ev = evaluate_batch(county, Dataset.from_dict(village_data(50, 1)), ON, materialize="all")
    (f,) = [f for f in ev.findings if f.rule_id == "village.exit.poverty_incidence"]
    (read,) = f.conditions[0].reads
    assert read.value == Fraction(1, 50)


def test_polars_boolean_operators_are_kleene() -> None:
    t, f, u = True, False, None
    df = pl.DataFrame(
        {"a": [f, u, t, u, u], "b": [u, f, u, t, u]}, schema={"a": pl.Boolean, "b": pl.Boolean}
    )
    out = df.select(
        (pl.col("a") & pl.col("b")).alias("and"),
        (pl.col("a") | pl.col("b")).alias("or"),
        (~pl.col("a")).alias("not"),
    )
    assert out["and"].to_list() == [False, False, None, None, None]
    assert out["or"].to_list() == [None, None, True, True, None]
    assert out["not"].to_list() == [True, None, False, None, None]


def _num(lo: int, hi: int | None = None, den: int = 1) -> NumV:
    if hi is None:
        return NumV(Rat(pl.lit(lo, dtype=pl.Int128), den, abs(lo)))
    return NumV(
        Rat(pl.lit(lo, dtype=pl.Int128), den, abs(lo)),
        Rat(pl.lit(hi, dtype=pl.Int128), den, abs(hi)),
        pl.lit(1, dtype=pl.Int64),
    )


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [
        ("<", _num(1, 2), num_const(Fraction(3)), True),
        ("<", _num(1, 3), num_const(Fraction(3)), None),
        (">=", _num(30, 32, 32), num_const(Fraction(1, 2)), True),
        ("==", _num(30, 32, 32), num_const(Fraction(1)), None),
        ("==", _num(2, 4), num_const(Fraction(5)), False),
        ("<=", _num(1, 3), num_const(Fraction(1)), None),
        ("<=", _num(1), num_const(Fraction(1)), True),
    ],
)
def test_interval_comparisons(op: str, a: NumV, b: NumV, expected: bool | None) -> None:
    got = pl.select(num_compare(op, a, b).alias("x"))["x"][0]
    assert got is expected


def test_money_columns_from_strings_decimals_and_floats(county: Policy) -> None:
    base = village_data(50, 1)
    frames: dict[str, Any] = {
        "county": pl.DataFrame([{"county_id": "C1", "avg_income_growth_rate": "0.0800"}]),
        "townships": pl.DataFrame(base["townships"]),
        "villages": pl.DataFrame(
            [
                {
                    **base["villages"][0],
                    "collective_income_yuan": "49999.99",
                    "income_growth_rate": 0.08,
                }
            ]
        ),
        "households": pl.DataFrame(base["households"]),
        "persons": pl.DataFrame(base["persons"]),
    }
    tables = tables_from_frames(frames, county.schema)
    assert tables.dens[("village", "collective_income_yuan")] == 100
    assert tables.frames["village"]["collective_income_yuan"].to_list() == [4999999]
    result = compute(county, frames, ON)
    row = result.frame("village.exit.collective_income").row(0, named=True)
    assert row["cond.collective_income_50000"] == "fail"
    growth = result.frame("village.exit.income_growth").row(0, named=True)
    assert growth["cond.growth_above_county_average"] == "fail"
    decimals = dict(frames)
    decimals["villages"] = frames["villages"].with_columns(
        pl.Series("collective_income_yuan", [Decimal("50000.00")], dtype=pl.Decimal(15, 2))
    )
    row2 = compute(county, decimals, ON).frame("village.exit.collective_income").row(0, named=True)
    assert row2["cond.collective_income_50000"] == "pass"


def test_frames_and_dataset_inputs_agree(county: Policy) -> None:
    data = village_data(50, 1, income="49999.99")
    ds = Dataset.from_dict(data)
    frames = {k: (pl.DataFrame([v]) if k == "county" else pl.DataFrame(v)) for k, v in data.items()}
    a = evaluate_batch(county, ds, ON, materialize="all")
    b = evaluate_batch(county, frames, ON, materialize="all")
    assert a.findings == b.findings


def test_big_money_sums_do_not_overflow(county: Policy) -> None:
    data = village_data(2, 1)
    data["loans"] = [
        {
            "loan_id": f"L{i}",
            "household_id": "H1",
            "amount_yuan": Decimal("9999999999999.99"),
            "issued_on": dt.date(2017, 3, 1),
        }
        for i in range(200)
    ]
    ds = Dataset.from_dict(data)
    ev = evaluate_batch(county, ds, ON, materialize="all")
    (f,) = [f for f in ev.findings if f.rule_id == "county.target.microcredit"]
    assert dict(f.outputs)["actual"] == Fraction(Decimal("9999999999999.99")) * 200
    assert f == next(g for g in run_policy(county, ds, ON).findings if g.rule_id == f.rule_id)


def test_materialize_modes(county: Policy) -> None:
    ds = Dataset.from_dict(village_data(50, 1, income="49999.99"))
    everything = evaluate_batch(county, ds, ON, materialize="all")
    problems = evaluate_batch(county, ds, ON, materialize="non_pass")
    nothing = evaluate_batch(county, ds, ON, materialize="none")
    assert problems.findings == tuple(
        f for f in everything.findings if f.verdict is not Outcome.PASS
    )
    assert nothing.findings == ()
    assert nothing.not_applicable_count == everything.not_applicable_count
    result = compute(county, ds, ON)
    frame = result.frame("village.exit.poverty_incidence")
    assert frame.columns[:2] == ["subject_id", "applies_if"] or "verdict" in frame.columns
    assert frame.row(0, named=True)["verdict"] == "fail"
    assert result.counts()["village.exit.poverty_incidence"] == {"fail": 1}


def test_unsupplied_table_makes_aggregates_unknown(county: Policy) -> None:
    data = village_data(50, 1)
    data["households"][0]["poverty_status"] = "exited"
    data["households"][0]["exit_year"] = 2017
    ds = Dataset.from_dict(data)  # no procedure_steps table
    ev = evaluate_batch(county, ds, ON, materialize="all")
    (f,) = [f for f in ev.findings if f.rule_id == "household.exit.procedure_complete"]
    assert f.verdict is Outcome.UNKNOWN
    assert f == next(g for g in run_policy(county, ds, ON).findings if g.rule_id == f.rule_id)


def test_cli_hook_imports() -> None:
    from fupin_rules.batch import evaluate_batch as hook

    assert hook is evaluate_batch


def test_summary_counts_do_not_depend_on_listed_findings(county: Policy) -> None:
    """Issue 13: the batch engine lists no passing finding by default, yet its summary counts
    every pass as the reference engine's does."""
    from fupin_rules.reports.json_report import summary

    ds = Dataset.from_dict(village_data(50, 1, income="49999.99"))
    want = summary(run_policy(county, ds, ON))
    assert want["by_verdict"]["pass"] > 0
    for mode in ("non_pass", "reports", "all", "none"):
        assert (
            summary(evaluate_batch(county, ds, ON, materialize=mode))["by_rule"] == want["by_rule"]
        ), mode
    assert summary(evaluate_batch(county, ds, ON)) == want
