"""Readers that guessed silently (issue 17): the encoding of a CSV file, hidden sheets, merged
and formula cells, two files for one table, extra cells, title rows, links and non-files, and
table-level warnings counted as rejected rows. Each decision is an issue naming the file (and
row, column) and no row is lost without a word."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from pathlib import Path

import openpyxl
import pytest
from test_ledger_readers import csv_ledger, small, write_csv  # type: ignore[import-not-found]

from fupin_rules.domain.dataset import Dataset
from fupin_rules.engine.run import run_policy
from fupin_rules.io import LedgerError, read_ledger, write_ledger
from fupin_rules.reports.json_report import evaluation_to_json, summary, write_json_lines


def test_one_cp1252_byte_does_not_make_a_utf8_file_gb18030(tmp_path: Path) -> None:
    folder = csv_ledger(tmp_path / "l")
    lines = [
        "person_id,household_id,name",
        "P1,H1,王芳",
        "P2,H1,张伟",
        "P3,H1,Jos\x00",  # the NUL is replaced by the cp1252 byte below
        "P4,H1,李娜",
    ]
    data = ("\n".join(lines) + "\n").encode("utf-8").replace(b"\x00", b"\xe9")  # cp1252 é
    (folder / "persons.csv").write_bytes(data)
    result = read_ledger(folder)
    names = {p.person_id: p.name for p in result.dataset.persons}
    assert names["P1"] == "王芳" and names["P2"] == "张伟" and names["P4"] == "李娜"
    assert names["P3"] == "Jos\ufffd"
    decision = [i for i in result.issues if i.row is None]
    assert len(decision) == 1 and "read as UTF-8" in decision[0].message
    assert decision[0].source == "l/persons.csv" and decision[0].severity == "warning"
    (cell,) = [i for i in result.issues if i.row is not None]
    assert (cell.row, cell.column, cell.severity) == (4, "name", "warning")
    assert "0xE9" in cell.message
    assert result.rejected_rows == 0 and result.accounted


def test_a_gb18030_file_is_read_as_gb18030_and_says_so(tmp_path: Path) -> None:
    folder = csv_ledger(tmp_path / "l")
    write_csv(folder, "persons.csv", ["person_id,household_id,name", "P1,H1,王芳"], "gb18030")
    result = read_ledger(folder)
    assert result.dataset.persons[0].name == "王芳"
    (note,) = result.issues
    assert "GB18030" in note.message and note.severity == "warning"


def _workbook(path: Path) -> Path:
    write_ledger(Dataset.from_dict(small()), path, "xlsx", language="en")
    return path


def test_a_hidden_stale_sheet_never_wins(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "ledger.xlsx")
    wb = openpyxl.load_workbook(path)
    visible = wb["households"] if "households" in wb.sheetnames else wb["户"]
    stale = wb.create_sheet("贫困户", 0)  # before the visible one, as in the attack
    stale.append(["household_id", "village_id", "poverty_status"])
    stale.append(["H1", "V1", "non_poor"])
    stale.append(["H2", "V1", "non_poor"])
    stale.append(["H3", "V1", "non_poor"])
    stale.sheet_state = "hidden"
    assert wb.sheetnames.index("贫困户") < wb.sheetnames.index(visible.title)
    wb.save(path)
    result = read_ledger(path)
    statuses = {h.household_id: h.poverty_status for h in result.dataset.households}
    assert statuses == {"H1": "pre_exit_2017", "H2": "non_poor"}  # the visible sheet
    hidden = [i for i in result.issues if i.source == "ledger.xlsx!贫困户"]
    assert any("hidden" in i.message and i.severity == "warning" for i in hidden)
    assert sorted(i.row for i in hidden if i.rejects_row) == [2, 3, 4]  # listed, counted
    assert result.accounted


def test_a_hidden_sheet_alone_is_read_with_a_warning(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "ledger.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["documents"].sheet_state = "hidden"
    wb.save(path)
    result = read_ledger(path)
    assert result.dataset.documents is not None and len(result.dataset.documents) == 1
    (note,) = result.issues
    assert "hidden" in note.message and note.severity == "warning"


def test_merged_and_formula_cells_are_reported(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "ledger.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["persons"]
    header = [c.value for c in ws[1]]
    col = header.index("annual_income_yuan") + 1
    letter = openpyxl.utils.get_column_letter(col)
    ws.cell(3, col).value = "=1000+234.56"  # openpyxl saves a formula without its value
    ws.merge_cells(f"{letter}3:{letter}4")
    wb.save(path)
    result = read_ledger(path)
    messages = [i.message for i in result.issues if i.source == "ledger.xlsx!persons"]
    assert any("merged" in m and f"{letter}3:{letter}4" in m for m in messages), messages
    assert any("formula" in m and f"{letter}3" in m for m in messages), messages
    assert result.rejected_rows == 0 and result.accounted


def test_two_files_for_one_table_list_every_row(tmp_path: Path) -> None:
    folder = csv_ledger(tmp_path / "l")
    write_csv(
        folder,
        "户.csv",
        ["户编码,所属村编码,贫困状态", *(f"H{n},V1,已脱贫户" for n in range(10, 30))],
    )
    result = read_ledger(folder)
    copies = [i for i in result.issues if "appears again" in i.message]
    sources = {i.source for i in copies}
    assert len(copies) == 20 or len(copies) == 1  # the 20-row copy, or the 1-row copy
    ignored = "l/户.csv" if len(copies) == 20 else "l/households.csv"
    assert sources == {ignored} and all(i.rejects_row for i in copies)
    assert result.rows_in == result.dataset.record_count() + len(copies)
    assert result.accounted


def test_extra_cells_reject_the_row(tmp_path: Path) -> None:
    folder = csv_ledger(
        tmp_path / "l",
        persons=["person_id,household_id,name", "P1,H1,王芳", "P2,H1,张,伟", "P3,H1,李娜"],
    )
    result = read_ledger(folder)
    (issue,) = result.issues
    assert (issue.source, issue.row, issue.record_id) == ("l/persons.csv", 3, "P2")
    assert "4 cells but the header has 3" in issue.message and "'伟'" in issue.message
    assert [p.person_id for p in result.dataset.persons] == ["P1", "P3"]
    assert result.accounted


def test_a_title_row_naming_a_column_is_not_the_header(tmp_path: Path) -> None:
    folder = csv_ledger(
        tmp_path / "l",
        persons=["姓名", "person_id,household_id,name", "P1,H1,王芳", "P2,H1,张伟"],
    )
    result = read_ledger(folder)
    assert [p.name for p in result.dataset.persons] == ["王芳", "张伟"]
    assert result.issues == () and result.accounted


def test_rows_above_the_header_with_several_cells_are_reported(tmp_path: Path) -> None:
    folder = csv_ledger(
        tmp_path / "l",
        persons=["填报单位,竹山县", "person_id,household_id,name", "P1,H1,王芳"],
    )
    result = read_ledger(folder)
    (note,) = result.issues
    assert note.severity == "warning" and "row 1 above the header (row 2)" in note.message


def test_a_table_level_issue_is_not_a_rejected_row(tmp_path: Path, mini_policy) -> None:  # type: ignore[no-untyped-def]
    folder = csv_ledger(
        tmp_path / "l", persons=["person_id,household_id,shoe_size", "P1,H1,42", "P2,H1,40"]
    )
    loaded = read_ledger(folder)
    assert len(loaded.issues) == 1 and loaded.issues[0].row is None
    ev = run_policy(mini_policy, loaded.dataset, dt.date(2017, 12, 31), data_issues=loaded.issues)
    assert summary(ev)["rejected_rows"] == 0
    report = evaluation_to_json(ev)
    assert report["summary"]["rejected_rows"] == 0 and len(report["rejected_rows"]) == 1


def test_warnings_are_reported_apart_from_rejected_rows(tmp_path: Path, mini_policy) -> None:  # type: ignore[no-untyped-def]
    folder = csv_ledger(tmp_path / "l")
    write_csv(folder, "persons.csv", ["person_id,household_id,name", "P1,H1,王芳"], "gb18030")
    loaded = read_ledger(folder)
    ev = run_policy(mini_policy, loaded.dataset, dt.date(2017, 12, 31), data_issues=loaded.issues)
    report = evaluation_to_json(ev)
    assert report["summary"]["rejected_rows"] == 0 and report["summary"]["input_warnings"] == 1
    assert report["rejected_rows"] == [] and "GB18030" in report["input_warnings"][0]["message"]
    lines = io.StringIO()
    write_json_lines(ev, lines)
    records = [json.loads(line)["record"] for line in lines.getvalue().splitlines()]
    assert records.count("input_warning") == 1 and "rejected_row" not in records


def test_a_link_out_of_the_ledger_folder_is_refused(tmp_path: Path) -> None:
    folder = csv_ledger(tmp_path / "l")
    outside = tmp_path / "secret.csv"
    outside.write_text("person_id,household_id\nP9,H1\n", encoding="utf-8")
    (folder / "persons.csv").unlink()
    (folder / "persons.csv").symlink_to(outside)
    with pytest.raises(LedgerError, match=r"l/persons\.csv: a link to a file outside"):
        read_ledger(folder)


def test_a_link_inside_the_ledger_folder_is_fine(tmp_path: Path) -> None:
    folder = csv_ledger(tmp_path / "l")
    (folder / "persons.csv").rename(folder / "persons.data")
    (folder / "persons.csv").symlink_to(folder / "persons.data")
    assert [p.person_id for p in read_ledger(folder).dataset.persons] == ["P1"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_not_a_table_file(tmp_path: Path) -> None:
    folder = csv_ledger(tmp_path / "l")
    (folder / "persons.csv").unlink()
    os.mkfifo(folder / "persons.csv")  # reading it would block for ever
    with pytest.raises(LedgerError, match=r"persons\.csv: not a regular file \(a FIFO"):
        read_ledger(folder)
    fifo = tmp_path / "ledger.json"
    os.mkfifo(fifo)
    with pytest.raises(LedgerError, match="not a regular file"):
        read_ledger(fifo)


def test_a_device_is_not_a_table_file(tmp_path: Path) -> None:
    folder = csv_ledger(tmp_path / "l")
    (folder / "persons.csv").unlink()
    (folder / "persons.csv").symlink_to("/dev/zero")  # a device (outside the folder too)
    with pytest.raises(LedgerError, match=r"persons\.csv"):
        read_ledger(folder)
    with pytest.raises(LedgerError, match="a device"):
        read_ledger(Path("/dev/null"), format="json")


def test_check_prints_warnings_apart_from_rejected_rows(
    tmp_path: Path, mini_policy_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fupin_rules.cli import EXIT_OK, main

    folder = csv_ledger(tmp_path / "l")
    write_csv(folder, "persons.csv", ["person_id,household_id,name", "P1,H1,王芳"], "gb18030")
    args = ["check", str(folder), "--policy", str(mini_policy_dir), "--engine", "reference"]
    assert main(args) == EXIT_OK
    printed = capsys.readouterr().out
    assert "rejected rows 0;" in printed and "input warnings 1" in printed
