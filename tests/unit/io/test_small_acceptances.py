"""Smaller acceptances of issue 17, decided (docs/reliability.md): a payment to a person of
another household is read with a warning naming both; ``""`` is unknown in JSON as an empty
cell is in CSV; money in scientific notation (``1E5``) is refused in every format."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import openpyxl
import pytest
from test_ledger_readers import small  # type: ignore[import-not-found]

import fupin_rules as fr
from fupin_rules.domain.dataset import Dataset
from fupin_rules.io import read_ledger, write_ledger


def test_a_payment_to_a_person_of_another_household_names_both(tmp_path: Path) -> None:
    data = small()
    data["payments"][0]["person_id"] = "P3"  # P3 lives in H2; the payment is booked to H1
    loaded = fr.load_data(data)
    (issue,) = loaded.issues
    assert (issue.table, issue.row, issue.record_id, issue.field) == (
        "payments",
        1,
        "PAY1",
        "person_id",
    )
    assert "'H2'" in issue.message and "'H1'" in issue.message and issue.severity == "warning"
    assert loaded.dataset.payments is not None and len(loaded.dataset.payments) == 1  # kept
    assert loaded.rejected_rows == 0 and loaded.accounted
    # through a CSV ledger: the user's line number
    folder = tmp_path / "l"
    write_ledger(Dataset.from_dict(small()), folder, "csv", language="en")
    lines = (folder / "payments.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[1] = lines[1].replace(",P1,", ",P3,")
    (folder / "payments.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (issue,) = read_ledger(folder).issues
    assert (issue.source, issue.row, issue.severity) == ("l/payments.csv", 2, "warning")


def test_empty_text_is_unknown_in_json_as_in_csv(tmp_path: Path) -> None:
    data = small()
    data["persons"][1]["is_head"] = ""
    data["persons"][1]["school_level"] = ""
    loaded = fr.load_data(data)
    assert loaded.issues == ()
    person = next(p for p in loaded.dataset.persons if p.person_id == "P2")
    assert person.is_head is None and person.school_level is None
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert fr.load_data(path).issues == ()
    folder = tmp_path / "l"
    write_ledger(Dataset.from_dict(small()), folder, "csv", language="en")
    lines = (folder / "persons.csv").read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    assert cells[header.index("person_id")] == "P2"
    cells[header.index("is_head")] = ""
    lines[2] = ",".join(cells)
    (folder / "persons.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    csv_person = next(p for p in read_ledger(folder).dataset.persons if p.person_id == "P2")
    assert csv_person.is_head is None  # the same reading in both formats


SCIENTIFIC = ["1E5", "1e5", "1.23457E+11", "5E+04"]


@pytest.mark.parametrize("text", SCIENTIFIC)
def test_money_in_scientific_notation_is_refused_everywhere(tmp_path: Path, text: str) -> None:
    # a JSON string and a dict
    data = small()
    data["loans"][0]["amount_yuan"] = text
    (issue,) = fr.load_data(copy.deepcopy(data)).issues
    assert issue.field == "amount_yuan" and "scientific notation" in issue.message
    # a JSON number
    path = tmp_path / "ledger.json"
    body = json.dumps(data, ensure_ascii=False).replace(f'"{text}"', text)
    path.write_text(body, encoding="utf-8")
    (issue,) = fr.load_data(path).issues
    assert issue.field == "amount_yuan" and "scientific notation" in issue.message
    # a CSV cell
    folder = tmp_path / "l"
    write_ledger(Dataset.from_dict(small()), folder, "csv", language="en")
    lines = (folder / "loans.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[1] = lines[1].replace(",50000", f",{text}", 1)
    (folder / "loans.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (issue,) = read_ledger(folder).issues
    assert (issue.row, issue.field) == (2, "amount_yuan") and "scientific notation" in issue.message
    # an xlsx text cell
    book = tmp_path / "ledger.xlsx"
    write_ledger(Dataset.from_dict(small()), book, "xlsx", language="en")
    wb = openpyxl.load_workbook(book)
    ws = wb["loans"]
    col = [c.value for c in ws[1]].index("amount_yuan") + 1
    ws.cell(2, col).value = text
    wb.save(book)
    (issue,) = read_ledger(book).issues
    assert (issue.row, issue.field) == (2, "amount_yuan") and "scientific notation" in issue.message


def test_money_written_in_full_is_fine() -> None:
    data = small()
    data["loans"][0]["amount_yuan"] = "100000"
    data["persons"][0]["annual_income_yuan"] = "0.5"
    assert fr.load_data(data).issues == ()
