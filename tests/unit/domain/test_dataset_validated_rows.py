"""load_dataset gives the same dataset and issues whether rows come as dicts or as records the
ledger readers validated already (whose ids and parent links are then checked a column at a
time)."""

from __future__ import annotations

from typing import Any

import pytest

from fupin_rules.domain.dataset import TABLES, load_dataset
from fupin_rules.io.generate import generate_county, to_dataset_dict


def _validated(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"county": data["county"]}
    for name, rows in data.items():
        if name != "county":
            out[name] = [TABLES[name].model_validate(r) for r in rows]
    return out


def _data() -> dict[str, Any]:
    data = to_dataset_dict(generate_county(10, 4, villages=2))
    return data


def _orphans(data: dict[str, Any]) -> None:
    data["households"][1]["village_id"] = "NO-SUCH-VILLAGE"  # its persons are orphans too
    data["persons"][-1]["household_id"] = "NO-SUCH-HOUSEHOLD"


def _duplicate(data: dict[str, Any]) -> None:
    data["persons"][3]["person_id"] = data["persons"][2]["person_id"]


def _other_household(data: dict[str, Any]) -> None:
    persons = data["persons"]
    other = next(p for p in persons if p["household_id"] != persons[0]["household_id"])
    data.setdefault("payments", []).append(
        {
            "payment_id": "PAY-X",
            "household_id": persons[0]["household_id"],
            "person_id": other["person_id"],
            "program": "education_aid",
            "amount_yuan": "100",
        }
    )


@pytest.mark.parametrize("damage", [None, _orphans, _duplicate, _other_household, "all"], ids=str)
def test_validated_rows_load_as_dicts_do(damage: Any) -> None:
    data = _data()
    for step in [_orphans, _duplicate, _other_household] if damage == "all" else [damage]:
        if step is not None:
            step(data)
    from_dicts = load_dataset(data)
    from_records = load_dataset(_validated(data))
    assert from_records.issues == from_dicts.issues
    assert from_records.dataset == from_dicts.dataset
    assert from_records.rows_in == from_dicts.rows_in
    assert from_records.accounted
    if damage is not None:
        assert from_records.issues
    if damage is _orphans:  # the orphans, found independently of load_dataset
        household = data["households"][1]["household_id"]
        want = {("households", household), ("persons", data["persons"][-1]["person_id"])}
        want |= {
            ("persons", p["person_id"]) for p in data["persons"] if p["household_id"] == household
        }
        want |= {
            (t, r[k])
            for t, k in (
                ("payments", "payment_id"),
                ("loans", "loan_id"),
                ("procedure_steps", "step_id"),
                ("relocations", "relocation_id"),
                ("documents", "document_id"),
                ("projects", "project_id"),
            )
            for r in data.get(t, [])
            if r.get("household_id") == household
        }
        lost = {i for t, i in want if t == "persons"}
        want |= {
            ("payments", r["payment_id"])
            for r in data.get("payments", [])
            if r.get("person_id") in lost
        }
        got = {(i.table, i.record_id) for i in from_records.issues if "orphan" in i.message}
        assert got == want
