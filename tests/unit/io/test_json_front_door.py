"""The JSON front door (issue 17): ``load_data``, ``Evaluator`` and ``check FILE.json`` read a
JSON file through the ledger reader: exact numbers, repeated keys reported, a clear error (exit 2
naming the file) for a file that is not a ledger, never a traceback."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

import fupin_rules as fr
from fupin_rules.cli import EXIT_INPUT, main
from fupin_rules.domain.dataset import Dataset
from fupin_rules.errors import FupinRulesError
from fupin_rules.io import LedgerError, read_ledger, write_ledger
from fupin_rules.io.generate import generate_county, to_dataset_dict


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return Dataset.from_dict(to_dataset_dict(generate_county(6, 5, villages=2))).to_dict()


def _write(path: Path, doc: dict[str, Any], **raw: str) -> Path:
    """Write ``doc`` as JSON; each ``"__NAME__"`` string becomes the raw JSON text ``raw[NAME]``."""
    text = json.dumps(doc, ensure_ascii=False)
    for name, literal in raw.items():
        text = text.replace(f'"__{name}__"', literal)
    path.write_text(text, encoding="utf-8")
    return path


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "empty"),
    "blank": (b"  \n", "empty"),
    "invalid": (b'{"county": {"county_id": "1"', "invalid JSON"),
    "gbk": ('{"county": {"county_id": "1", "name": "竹山县"}}'.encode("gbk"), "not UTF-8"),
    "array": (b'[{"county_id": "1"}]', "expected an object of tables"),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "deep_in_table": (
        b'{"county": {"county_id": "1"}, "villages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "nested too deeply",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_file_that_is_not_a_ledger_is_a_clear_error(tmp_path: Path, case: str) -> None:
    raw, expected = BAD_FILES[case]
    path = tmp_path / f"{case}.json"
    path.write_bytes(raw)
    with pytest.raises(LedgerError) as err:
        fr.load_data(path)
    assert path.name in str(err.value) and expected in str(err.value)
    with pytest.raises(LedgerError):
        fr.Evaluator("county_2017", path)


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_check_exits_2_naming_the_file(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{case}.json"
    path.write_bytes(BAD_FILES[case][0])
    assert main(["check", str(path), "--quiet"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: ") and path.name in err and "Traceback" not in err


def test_a_bom_is_fine(tmp_path: Path, base: dict[str, Any]) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(base, ensure_ascii=False).encode("utf-8"))
    loaded = fr.load_data(path)
    assert not loaded.issues and loaded.accounted
    assert loaded.dataset.to_dict() == base


def test_money_and_rates_are_read_exactly(tmp_path: Path, base: dict[str, Any]) -> None:
    doc = json.loads(json.dumps(base))
    doc["loans"] = [dict(doc["loans"][0], amount_yuan="__MONEY__")] if doc.get("loans") else []
    if not doc["loans"]:  # the synthetic county drew no loan: make one
        hh = doc["households"][0]["household_id"]
        doc["loans"] = [{"loan_id": "L1", "household_id": hh, "amount_yuan": "__MONEY__"}]
    doc["villages"][0]["income_growth_rate"] = "__RATE__"
    path = _write(
        tmp_path / "exact.json", doc, MONEY="50000.000000000001", RATE="0.0900000000000000001"
    )
    for loaded in (fr.load_data(path), read_ledger(path)):
        fields = {(i.table, i.field) for i in loaded.issues}
        assert ("loans", "amount_yuan") in fields  # not 50000 (which passes "≤ 50,000")
        assert ("villages", "income_growth_rate") in fields  # not 0.09 ("equal")
        assert loaded.accounted
    # exact values that are fine stay exact
    doc["loans"][0]["amount_yuan"] = "__MONEY__"
    doc["villages"][0]["income_growth_rate"] = "__RATE__"
    path = _write(tmp_path / "fine.json", doc, MONEY="50000.10", RATE="0.090000000001")
    ds = fr.load_data(path).dataset
    assert ds.loans is not None and str(ds.loans[0].amount_yuan) == "50000.10"
    assert str(ds.villages[0].income_growth_rate) == "0.090000000001"


def test_a_table_written_twice_loses_no_row(tmp_path: Path, base: dict[str, Any]) -> None:
    first = json.dumps(base["documents"], ensure_ascii=False)
    second = json.dumps(base["documents"][:3], ensure_ascii=False)
    body = json.dumps(base, ensure_ascii=False)
    text = body[:-1] + f', "documents": {second}}}'
    assert text.count('"documents"') == 2 and first in text
    path = tmp_path / "twice.json"
    path.write_text(text, encoding="utf-8")
    loaded = fr.load_data(path)
    assert loaded.dataset.documents is not None
    assert len(loaded.dataset.documents) == len(base["documents"])  # the first copy is read
    again = [i for i in loaded.issues if "appears again" in i.message]
    assert [i.row for i in again] == [1, 2, 3] and all("twice.json" in i.source for i in again)
    assert loaded.rows_in == loaded.dataset.record_count() + 3 and loaded.accounted


def test_a_field_written_twice_rejects_its_row(tmp_path: Path, base: dict[str, Any]) -> None:
    hid = base["households"][0]["household_id"]
    body = json.dumps(base, ensure_ascii=False)
    needle = f'"household_id": "{hid}", '
    at = body.index(needle)
    text = body[:at] + needle + '"household_id": "H-OTHER", ' + body[at + len(needle) :]
    path = tmp_path / "field_twice.json"
    path.write_text(text, encoding="utf-8")
    loaded = fr.load_data(path)
    [issue] = [i for i in loaded.issues if "given twice" in i.message]
    assert (issue.table, issue.row, issue.field) == ("households", 1, "household_id")
    assert loaded.accounted


def test_huge_integers_are_row_errors_in_json(tmp_path: Path, base: dict[str, Any]) -> None:
    doc = json.loads(json.dumps(base))
    doc["villages"][0]["income_growth_rate"] = "__BIG__"
    doc["households"][0]["exit_year"] = "__BIG__"
    path = _write(tmp_path / "big.json", doc, BIG="9" * 5000)
    loaded = fr.load_data(path)
    fields = {(i.table, i.row, i.field) for i in loaded.issues}
    assert ("villages", 1, "income_growth_rate") in fields and (
        "households",
        1,
        "exit_year",
    ) in fields
    assert all(len(i.message) < 500 for i in loaded.issues)
    assert loaded.accounted


def test_huge_integers_are_row_errors_in_csv(tmp_path: Path, base: dict[str, Any]) -> None:
    folder = tmp_path / "ledger"
    write_ledger(Dataset.from_dict(base), folder, "csv")
    households = folder / "households.csv"
    with households.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    if "exit_year" not in rows[0]:
        rows = [[*r, ""] for r in rows]
        rows[0][-1] = "exit_year"
    rows[1][rows[0].index("exit_year")] = "9" * 5000
    with households.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    loaded = read_ledger(folder)
    [issue] = [i for i in loaded.issues if i.field == "exit_year"]
    assert issue.row == 2 and "5,000 digits" in issue.message and loaded.accounted


def test_load_data_errors_are_library_errors(tmp_path: Path) -> None:
    path = tmp_path / "nothing.json"
    with pytest.raises(FupinRulesError, match=r"nothing\.json"):
        fr.load_data(path)
