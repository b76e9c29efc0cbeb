"""The batch engine's reductions: fused per collection, segment sums or ``group_by``, same results.

:meth:`Compiler.prefetch` reduces every aggregate of one owner kind over one collection
together, and :meth:`Compiler.reduce` picks segment sums or one ``group_by`` by the number of
parts. These are optimisations only: every path must give the same result frames, whatever the
row order of the child tables.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

import fupin_rules as fr
from fupin_rules.batch import compile_aggregate as aggregate_module
from fupin_rules.batch import compute
from fupin_rules.batch.compiler import Compiler
from fupin_rules.batch.engine import OUTCOME, BatchResult
from fupin_rules.batch.frames import _index_of
from fupin_rules.cli import sample_data_path
from fupin_rules.domain.dataset import Dataset
from fupin_rules.io.generate import generate_county
from fupin_rules.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[3]
COUNTY = ROOT / "policies/county_2017/src/fupin_policy_county_2017/policy"
ON = dt.date(2017, 12, 31)


@pytest.fixture(scope="module")
def county() -> Policy:
    return load_policy(COUNTY)


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return fr.load_data(sample_data_path()).dataset


def _frames(result: BatchResult) -> dict[str, pl.DataFrame]:
    return {rid: rf.frame for rid, rf in result.rules.items()}


def _by_subject(result: BatchResult) -> dict[str, pl.DataFrame]:
    return {rid: f.sort("subject_id") for rid, f in _frames(result).items()}


def test_fused_reductions_equal_one_reduction_per_aggregate(
    county: Policy, sample: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    fused = compute(county, sample, ON)
    monkeypatch.setattr(Compiler, "prefetch", lambda self, roots: 0)
    separate = compute(county, sample, ON)
    assert _frames(fused).keys() == _frames(separate).keys()
    for rid, frame in _frames(fused).items():
        assert frame.equals(separate.frame(rid)), rid


@pytest.mark.parametrize("parts", [0, 10**6])
def test_segment_sums_and_group_by_agree(
    county: Policy, sample: Dataset, monkeypatch: pytest.MonkeyPatch, parts: int
) -> None:
    default = compute(county, sample, ON)
    monkeypatch.setattr(aggregate_module, "_SEGMENT_PARTS", parts)
    forced = compute(county, sample, ON)
    for rid, frame in _frames(default).items():
        assert frame.equals(forced.frame(rid)), rid


def test_child_rows_out_of_owner_order(county: Policy) -> None:
    ordered = generate_county(1500, seed=11, villages=6)
    assert ordered["documents"].height > 1000  # children to reorder
    shuffled = {
        name: df if name == "county" else df.sample(fraction=1.0, shuffle=True, seed=7)
        for name, df in ordered.items()
    }
    a = _by_subject(compute(county, ordered, ON))
    b = _by_subject(compute(county, shuffled, ON))
    for rid, frame in a.items():
        assert frame.height > 0, rid
        assert frame.equals(b[rid]), rid


def test_one_reduction_per_owner_and_collection(
    county: Policy, sample: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: Counter[tuple[str, str]] = Counter()
    parts: Counter[tuple[str, str]] = Counter()
    real = Compiler.reduce

    def counting(
        self: Compiler,
        owner: str,
        child: str,
        index: str,
        comps: dict[str, pl.Expr],
        aggs: dict[str, tuple[pl.Expr, object]],
    ) -> None:
        calls[(owner, child)] += 1
        parts[(owner, child)] += len(aggs)
        real(self, owner, child, index, comps, aggs)

    monkeypatch.setattr(Compiler, "reduce", counting)
    compute(county, sample, ON)
    # the archive rules' 15 distinct aggregates over documents, two parts each (county_2017 1.1.0
    # added the manual's up-to-date all(); its two new counts repeat existing ones), and the
    # procedure rule's 4 counts + 4 minima
    assert calls[("household", "document")] == 1
    assert parts[("household", "document")] == 30
    assert calls[("household", "procedure_step")] == 1
    assert max(calls.values()) == 1


def test_verdict_and_outcome_columns_are_the_outcome_enum(county: Policy, sample: Dataset) -> None:
    result = compute(county, sample, ON)
    frame = result.frame("household.exit.procedure_complete")
    assert frame.schema["verdict"] == OUTCOME
    assert frame.schema["applies_if"] == OUTCOME
    assert frame.schema["cond.application"] == OUTCOME
    assert set(frame["verdict"].to_list()) <= {"pass", "fail", "unknown", "not_applicable"}
    assert frame.filter(pl.col("verdict") == "not_applicable").height > 0


def test_index_of_few_references_into_many_keys() -> None:
    keys = pl.Series([f"P{i}" for i in range(1000)])
    fk = pl.Series("person_id", ["P999", None, "P0", "NOPE", "P999", "P500"])
    got = _index_of(keys, fk)
    assert got.name == "person_id"
    assert got.dtype == pl.UInt32
    assert got.to_list() == [999, None, 0, None, 999, 500]
    many = pl.Series("person_id", [f"P{i % 1000}" for i in range(3000)] + ["NOPE"])
    assert _index_of(keys, many).to_list() == [i % 1000 for i in range(3000)] + [None]


def test_prefetch_only_the_owners_asked_for(county: Policy, sample: Dataset) -> None:
    from fupin_rules.batch.engine import _rules_in_stratum_order, prepare, rule_roots

    rules = list(_rules_in_stratum_order(county))
    c = Compiler(county, prepare(county, sample), ON)
    n_village = c.prefetch(rule_roots(rules), owners={"village"})
    assert n_village > 0
    kinds = {kind for kind, _ in c._cache}
    # village groups, and what their values need on demand (household and person aggregates);
    # nothing of the county
    assert "village" in kinds and "county" not in kinds
    n_rest = c.prefetch(rule_roots(rules))
    assert n_rest > 0
    assert "county" in {kind for kind, _ in c._cache}
