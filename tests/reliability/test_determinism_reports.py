"""Same input, same bytes: JSON reports across runs, engines and partitionings.

Architecture: "One meaning, two engines" and "findings ... policy id + version + content hash":
a report is evidence, so the same ledger must give the same bytes whichever engine (inference
or batch, apart from the engine's own name) and however the province was partitioned.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from reliability_support import ON

from fupin_rules.batch import evaluate_batch
from fupin_rules.domain.dataset import LoadResult, load_dataset
from fupin_rules.engine.inference import durable_available
from fupin_rules.engine.run import Evaluation
from fupin_rules.io.generate import generate_county, to_dataset_dict
from fupin_rules.reports.json_report import to_json_text
from fupin_rules.scale import run_partitioned, write_partitioned


def _text(ev: Evaluation) -> str:
    return to_json_text(attrs.evolve(ev, engine="-"))


@pytest.fixture(scope="module")
def ledger() -> LoadResult:
    data = to_dataset_dict(generate_county(150, 4, villages=3))
    # partly corrupted rows: a bad date, an unknown code, a duplicate id, an orphan person
    data["persons"][0]["birth_date"] = "2017-02-30"
    data["households"][1]["poverty_status"] = "very_poor"
    data["persons"].append(dict(data["persons"][2]))
    data["persons"].append(
        {**data["persons"][3], "person_id": "P-ORPHAN", "household_id": "H-NONE"}
    )
    return load_dataset(data)


def test_batch_reports_are_byte_identical_run_after_run(county_policy, ledger) -> None:  # type: ignore[no-untyped-def]
    first = to_json_text(evaluate_batch(county_policy, ledger, ON, materialize="all"))
    again = to_json_text(evaluate_batch(county_policy, ledger, ON, materialize="all"))
    assert first == again
    assert first.encode("utf-8") == again.encode("utf-8")


@pytest.mark.skipif(not durable_available(), reason="durable-rules is not importable here")
def test_inference_and_batch_reports_are_byte_identical(county_policy, ledger) -> None:  # type: ignore[no-untyped-def]
    from fupin_rules.api import evaluate

    inference = evaluate(county_policy, ledger, ON, engine="inference")
    again = evaluate(county_policy, ledger, ON, engine="inference")
    batch = evaluate_batch(county_policy, ledger, ON, materialize="all")
    assert to_json_text(inference) == to_json_text(again)
    assert _text(inference) == _text(batch)


def test_partitionings_give_byte_identical_reports(county_policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frames = generate_county(700, 9, villages=9)
    want = to_json_text(evaluate_batch(county_policy, frames, ON))
    for n in (1, 3, 7):
        write_partitioned(frames, tmp_path / str(n), partitions=n)
        got = run_partitioned(county_policy, tmp_path / str(n), ON, collect="findings")
        assert got.evaluation is not None
        assert to_json_text(got.evaluation) == want, n
