"""Ledger readers: every bad cell or row is an issue naming file, sheet, row and column as written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from fupin_rules.domain import DataIssue, LoadResult, load_dataset
from fupin_rules.errors import DataError
from fupin_rules.io import LedgerError, detect_format, read_ledger, write_ledger
from fupin_rules.io.headers import field_specs


def small() -> dict[str, Any]:
    """A valid ledger with every table."""
    return {
        "county": {"county_id": "C1", "name": "竹山县", "avg_income_growth_rate": "0.095"},
        "townships": [{"township_id": "T1", "county_id": "C1", "has_industry_scale": True}],
        "villages": [
            {
                "village_id": "V1",
                "township_id": "T1",
                "category": "province_key",
                "planned_exit_year": 2017,
                "collective_income_yuan": "50000.00",
                "income_growth_rate": "0.095",
            }
        ],
        "households": [
            {"household_id": "H1", "village_id": "V1", "poverty_status": "pre_exit_2017"},
            {"household_id": "H2", "village_id": "V1", "poverty_status": "non_poor"},
        ],
        "persons": [
            {
                "person_id": "P1",
                "household_id": "H1",
                "name": "王芳",
                "birth_date": "2000-03-01",
                "is_head": False,
                "school_level": "secondary_vocational",
                "chronic_diseases": ["hypertension", "diabetes"],
                "annual_income_yuan": "1234.56",
            },
            {"person_id": "P2", "household_id": "H1", "is_head": True},
            {"person_id": "P3", "household_id": "H2"},
        ],
        "loans": [
            {"loan_id": "L1", "household_id": "H1", "amount_yuan": "50000", "term_months": 36}
        ],
        "payments": [
            {
                "payment_id": "PAY1",
                "household_id": "H1",
                "person_id": "P1",
                "program": "rain_and_dew",
                "amount_yuan": "5000.00",
                "paid_on": "2017-10-10",
            }
        ],
        "projects": [],
        "documents": [
            {
                "document_id": "D1",
                "archive": "household_pouch",
                "kind": "poverty_manual",
                "village_id": "V1",
                "household_id": "H1",
            }
        ],
        "procedure_steps": [
            {"step_id": "S1", "household_id": "H1", "step": "application", "done_on": "2017-09-05"}
        ],
        "relocations": [
            {"relocation_id": "R1", "household_id": "H1", "year": 2017, "turnkey_on": "2017-11-30"}
        ],
        "rectification_items": [{"item_id": "Q1", "county_id": "C1", "closed": False}],
    }


def bad_rows(result: LoadResult) -> int:
    return len({(i.table, i.row) for i in result.issues if i.row is not None})


def assert_accounted(result: LoadResult) -> None:
    assert result.rows_in == result.dataset.record_count() + bad_rows(result)
    assert result.accounted


def write_csv(folder: Path, name: str, lines: list[str], encoding: str = "utf-8") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(("\n".join(lines) + "\n").encode(encoding))


def csv_ledger(folder: Path, **extra: list[str]) -> Path:
    """A minimal CSV ledger; ``extra`` replaces or adds ``<table>=lines``."""
    tables = {
        "county": ["county_id,name", "C1,竹山县"],
        "townships": ["township_id,county_id", "T1,C1"],
        "villages": ["village_id,township_id", "V1,T1"],
        "households": ["household_id,village_id,poverty_status", "H1,V1,registered_poor"],
        "persons": ["person_id,household_id", "P1,H1"],
    }
    tables.update(extra)
    for table, lines in tables.items():
        write_csv(folder, f"{table}.csv", lines)
    return folder


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("json", "ledger.json"), ("csv", "csv_ledger"), ("xlsx", "ledger.xlsx"), ("parquet", "pq")],
)
def test_round_trip_in_every_format(tmp_path: Path, fmt: str, name: str) -> None:
    original = load_dataset(small())
    assert original.issues == ()
    path = write_ledger(original.dataset, tmp_path / name, fmt)  # type: ignore[arg-type]
    assert detect_format(path) == fmt
    back = read_ledger(path)
    assert back.issues == ()
    assert back.dataset == original.dataset
    assert back.rows_in == original.rows_in
    assert back.dataset.projects == ()  # supplied but empty survives
    assert back.dataset.persons[0].annual_income_yuan == Decimal("1234.56")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_csv_in_either_language_round_trips(tmp_path: Path, language: str) -> None:
    dataset = load_dataset(small()).dataset
    write_ledger(dataset, tmp_path / "x", "csv", language=language)  # type: ignore[arg-type]
    assert read_ledger(tmp_path / "x").dataset == dataset


def test_unsupplied_table_stays_unknown(tmp_path: Path) -> None:
    data = small()
    del data["loans"]
    dataset = load_dataset(data).dataset
    for fmt, name in [("csv", "c"), ("xlsx", "l.xlsx"), ("parquet", "p")]:
        back = read_ledger(write_ledger(dataset, tmp_path / name, fmt))  # type: ignore[arg-type]
        assert back.dataset.loans is None


def test_xlsx_is_written_as_officials_use_it(tmp_path: Path) -> None:
    path = write_ledger(load_dataset(small()).dataset, tmp_path / "ledger.xlsx", "xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:5] == ["县", "乡镇", "村", "户", "人员"]
    households = wb["户"]
    header = [c.value for c in households[1]]
    assert header[:3] == ["户编码", "所属村编码", "贫困状态"]
    assert households["C2"].value == "2017年预脱贫户"
    persons = wb["人员"]
    header = [c.value for c in persons[1]]
    assert persons.cell(2, header.index("在校情况") + 1).value == "中职"
    assert persons.cell(2, header.index("户主") + 1).value == "否"
    assert persons.cell(2, header.index("门诊慢性病病种") + 1).value == "hypertension、diabetes"


# --------------------------------------------------------------------------- Chinese input


def make_workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def chinese_workbook(path: Path, person_rows: list[list[Any]] | None = None) -> Path:
    return make_workbook(
        path,
        {
            "县": [["县编码", "县名称"], ["C1", "竹山县"]],
            "乡镇": [["乡镇编码", "所属县编码"], ["T1", "C1"]],
            "村": [
                ["竹山县贫困村台账(2017年)"],  # a title row above the header
                ["村编码", "所属乡镇编码", "村集体经济收入(元)", "农村居民人均可支配收入增幅"],
                ["V1", "T1", 50000, 0.095],
            ],
            "户": [
                ["户编码", "所属村编码", "贫困状态", "贫困户属性", "建立台账"],
                ["H1", "V1", "2017年预脱贫户", "低保户", "是"],
                ["H2", "V1", "non_poor", None, "否"],
            ],
            "人员": person_rows
            or [
                ["人员编码", "所属户编码", "出生日期", "在校情况", "户主", "个人年收入（元）"],
                ["P1", "H1", dt.datetime(2000, 3, 1), "中职", "否", 3000.5],
                ["P2", "H1", "1970/05/06", "高职二年级", "是", 0.1],
                ["P3", "H2", None, "", None, None],
            ],
        },
    )


def test_chinese_sheets_headers_and_labels(tmp_path: Path) -> None:
    result = read_ledger(chinese_workbook(tmp_path / "台账.xlsx"))
    assert result.issues == ()
    ds = result.dataset
    assert ds.villages[0].collective_income_yuan == Decimal("50000")
    assert ds.villages[0].income_growth_rate == Decimal("0.095")
    h1, h2 = ds.households
    assert (h1.poverty_status, h1.attribute, h1.has_ledger) == (
        "pre_exit_2017",
        "low_income_guarantee",
        True,
    )
    assert h2.has_ledger is False and h2.attribute is None
    p1, p2, p3 = ds.persons
    assert p1.school_level == "secondary_vocational" and p1.birth_date == dt.date(2000, 3, 1)
    assert p1.annual_income_yuan == Decimal("3000.5")
    assert p2.school_level == "higher_vocational" and p2.birth_date == dt.date(1970, 5, 6)
    assert p2.annual_income_yuan == Decimal("0.1")  # via repr, never binary noise
    assert p3.birth_date is None and p3.school_level is None and p3.is_head is None  # unknown
    assert_accounted(result)


# --------------------------------------------------------------------------- bad cells


def test_bad_date_names_file_sheet_row_cell_and_column(tmp_path: Path) -> None:
    path = chinese_workbook(
        tmp_path / "ledger.xlsx",
        [
            ["人员编码", "所属户编码", "出生日期"],
            ["P1", "H1", "2000-03-01"],
            ["P2", "H1", "2017-02-30"],
        ],
    )
    result = read_ledger(path)
    (issue,) = result.issues
    assert (issue.source, issue.table, issue.row, issue.record_id) == (
        "ledger.xlsx!人员",
        "persons",
        3,
        "P2",
    )
    assert (issue.field, issue.column) == ("birth_date", "出生日期")
    assert issue.render() == (
        "ledger.xlsx!人员:persons:3 (P2) birth_date [出生日期]: "
        "cell C3: '2017-02-30' is not a calendar date"
    )
    assert [p.person_id for p in result.dataset.persons] == ["P1"]
    assert_accounted(result)


def test_unknown_code_lists_the_choices(tmp_path: Path) -> None:
    folder = csv_ledger(
        tmp_path / "l",
        households=["household_id,village_id,poverty_status", "H1,V1,poorish"],
    )
    result = read_ledger(folder)
    issue = next(i for i in result.issues if i.table == "households")
    assert (issue.source, issue.row, issue.column) == ("l/households.csv", 2, "poverty_status")
    assert "unknown code 'poorish'" in issue.message
    assert "pre_exit_2017 (2017年预脱贫户)" in issue.message
    # the household is rejected, so its person is an orphan: two bad rows, both counted
    orphan = next(i for i in result.issues if i.table == "persons")
    assert orphan.row == 2 and "orphan record" in orphan.message
    assert_accounted(result)


def test_duplicate_ids_report_the_user_row_of_the_first(tmp_path: Path) -> None:
    folder = csv_ledger(
        tmp_path / "l",
        persons=["person_id,household_id,name", "P1,H1,甲", "P2,H1,乙", "P1,H1,丙"],
    )
    result = read_ledger(folder)
    (issue,) = result.issues
    assert (issue.source, issue.row, issue.field) == ("l/persons.csv", 4, "person_id")
    assert issue.message == "duplicate id 'P1' (first seen in row 2)"
    assert_accounted(result)


def test_orphan_person_points_at_its_line(tmp_path: Path) -> None:
    folder = csv_ledger(tmp_path / "l", persons=["person_id,household_id", "P1,H1", "P2,H9"])
    result = read_ledger(folder)
    (issue,) = result.issues
    assert (issue.table, issue.row, issue.record_id, issue.field, issue.column) == (
        "persons",
        3,
        "P2",
        "household_id",
        "household_id",
    )
    assert "household_id='H9' does not exist in households" in issue.message
    assert_accounted(result)


def test_orphan_after_a_rejected_row_with_the_same_id_is_its_own_row(tmp_path: Path) -> None:
    # row 2 is invalid (a bad key), row 3 has the same id and is an orphan: two bad rows
    folder = csv_ledger(
        tmp_path / "l",
        persons=["person_id,household_id,is_head", "P1,H1,maybe", "P1,H9,是"],
    )
    result = read_ledger(folder)
    assert sorted(i.row for i in result.issues if i.row) == [2, 3]
    assert_accounted(result)


def test_unknown_column_suggests_the_header_and_keeps_the_rows(tmp_path: Path) -> None:
    path = chinese_workbook(
        tmp_path / "ledger.xlsx",
        [["人员编码", "所属户编码", "出生日其"], ["P1", "H1", "2000-01-01"]],
    )
    result = read_ledger(path)
    (issue,) = result.issues
    assert issue.row is None and issue.column == "出生日其"
    assert issue.message == (
        "column C unknown column '出生日其'; its values are ignored; "
        "did you mean '出生日期' (birth_date)?"
    )
    assert len(result.dataset.persons) == 1
    assert_accounted(result)


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    folder = csv_ledger(
        tmp_path / "l",
        households=[
            "household_id,village_id,exit_year,has_ledger",
            "H1,V1,二〇一七,yes",
            "H2,V1,2017,也许",
        ],
    )
    result = read_ledger(folder)
    messages = {(i.row, i.field): i.message for i in result.issues if i.table == "households"}
    assert messages[(2, "exit_year")] == "expected a whole number such as 2017, got '二〇一七'"
    assert messages[(3, "has_ledger")] == "expected 是 or 否 (true/false), got '也许'"
    assert_accounted(result)


def test_every_problem_of_a_row_is_reported_at_once(tmp_path: Path) -> None:
    folder = csv_ledger(
        tmp_path / "l",
        persons=["person_id,household_id,birth_date,labour_capacity", "P 1,H1,soon,ordinary"],
    )
    result = read_ledger(folder)
    fields = sorted(i.field or "" for i in result.issues)
    assert fields == ["birth_date", "person_id"]  # the bad date and the bad key together
    assert_accounted(result)


def test_money_is_exact_and_limited_to_fen(tmp_path: Path) -> None:
    path = chinese_workbook(
        tmp_path / "ledger.xlsx",
        [
            ["人员编码", "所属户编码", "个人年收入(元)"],
            ["P1", "H1", 12.345],
            ["P2", "H1", "1,234.50"],
            ["P3", "H1", 0.3],
        ],
    )
    result = read_ledger(path)
    (issue,) = result.issues
    assert issue.row == 2 and "more than 2 decimals" in issue.message
    incomes = [p.annual_income_yuan for p in result.dataset.persons]
    assert incomes == [Decimal("1234.50"), Decimal("0.3")]
    assert_accounted(result)


def test_csv_line_numbers_count_multiline_cells(tmp_path: Path) -> None:
    folder = csv_ledger(
        tmp_path / "l",
        persons=["person_id,household_id,name", 'P1,H1,"two\nlines"', "P2,H1,x", "P3,H9,y"],
    )
    (issue,) = read_ledger(folder).issues
    assert issue.row == 5  # header 1, P1 on 2-3, P2 on 4, P3 on 5


def test_gb18030_csv_from_chinese_excel_is_read(tmp_path: Path) -> None:
    folder = csv_ledger(tmp_path / "l")
    write_csv(
        folder, "户.csv", ["户编码,所属村编码,贫困状态", "H1,V1,已脱贫户"], encoding="gb18030"
    )
    (folder / "households.csv").unlink()
    result = read_ledger(folder)
    # the decision is reported (issue 17): a warning, no row rejected
    (note,) = result.issues
    assert note.severity == "warning" and note.source == "l/户.csv" and "GB18030" in note.message
    assert result.rejected_rows == 0
    assert result.dataset.households[0].poverty_status == "exited"


def test_unknown_sheet_is_an_issue_with_a_hint(tmp_path: Path) -> None:
    path = chinese_workbook(tmp_path / "ledger.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("家庭成员表").append(["x"])
    wb.save(path)
    result = read_ledger(path)
    (issue,) = result.issues
    assert issue.row is None and issue.source == "ledger.xlsx!家庭成员表"
    assert "unknown table '家庭成员表'; did you mean 'persons' (人员)?" == issue.message


def test_a_county_without_a_usable_row_raises_listing_every_problem(tmp_path: Path) -> None:
    folder = csv_ledger(
        tmp_path / "l",
        county=["county_id,avg_income_growth_rate", "C1,fast"],
        persons=["person_id,household_id", "P1,H9"],
    )
    with pytest.raises(DataError) as info:
        read_ledger(folder)
    assert any("l/county.csv:county:2" in p and "fast" in p for p in info.value.problems)
    (tmp_path / "l" / "county.csv").unlink()
    with pytest.raises(DataError, match="no county table"):
        read_ledger(folder)


def test_extra_county_rows_are_issues(tmp_path: Path) -> None:
    folder = csv_ledger(tmp_path / "l", county=["county_id", "C1", "C2"])
    result = read_ledger(folder)
    (issue,) = result.issues
    assert (issue.table, issue.row) == ("county", 3)
    assert_accounted(result)


def test_paths_that_are_not_ledgers_raise_ledger_error(tmp_path: Path) -> None:
    (tmp_path / "old.xls").write_bytes(b"")
    with pytest.raises(LedgerError, match=r"save it as \.xlsx"):
        read_ledger(tmp_path / "old.xls")
    folder = csv_ledger(tmp_path / "l")
    with pytest.raises(LedgerError, match="pass the folder"):
        read_ledger(folder / "persons.csv")
    with pytest.raises(LedgerError, match="no such file"):
        read_ledger(tmp_path / "missing.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LedgerError, match=r"no <table>\.csv"):
        read_ledger(tmp_path / "empty")
    (folder / "x.parquet").write_bytes(b"")
    with pytest.raises(LedgerError, match=r"both \.csv and \.parquet"):
        read_ledger(folder)
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(LedgerError, match=r"broken.json:1:2: invalid JSON"):
        read_ledger(tmp_path / "broken.json")


def test_json_money_is_read_as_decimal(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    path.write_text(
        '{"county": {"county_id": "C1"}, "villages": [{"village_id": "V1", "township_id": "T",'
        ' "collective_income_yuan": 50000.10}]}',
        encoding="utf-8",
    )
    result = read_ledger(path)
    assert result.dataset.villages[0].collective_income_yuan == Decimal("50000.10")


def test_every_field_has_a_unique_chinese_title_per_table() -> None:
    from fupin_rules.io.headers import TABLE_NAMES, TABLE_TITLES_ZH, normalise, resolve_column

    assert set(TABLE_NAMES) == set(TABLE_TITLES_ZH)
    for table in TABLE_NAMES:
        specs = field_specs(table)
        assert len({normalise(s.title) for s in specs}) == len(specs), table
        for spec in specs:
            assert resolve_column(table, spec.title)[0] == spec.name
            assert resolve_column(table, spec.name)[0] == spec.name


def test_enum_labels_map_back_to_their_codes() -> None:
    from fupin_rules.domain.enums import LABELS_ZH
    from fupin_rules.io.headers import FieldKind, enum_code

    seen = 0
    for table in ("households", "persons", "villages", "documents", "payments", "procedure_steps"):
        for spec in field_specs(table):
            if spec.kind is FieldKind.ENUM:
                assert spec.enum is not None
                for member in spec.enum:
                    code = str(member.value)
                    assert enum_code(spec.enum, LABELS_ZH.get(code, code)) == code
                    seen += 1
    assert seen > 50


def test_issue_is_a_domain_data_issue(tmp_path: Path) -> None:
    folder = csv_ledger(tmp_path / "l", persons=["person_id,household_id,x", "P1,H1,1"])
    assert all(isinstance(i, DataIssue) for i in read_ledger(folder).issues)
