"""The column-by-column ledger reader gives exactly what the row-by-row reader gives.

Every row a column check or the record model refuses goes through the row-by-row reader, so a
hostile ledger must load into the same records (values, types, fields set), the same issues in
the same order (file, sheet, row, column, message) and the same row count as when every row is
read row by row.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fupin_rules.io._columns as columns_module
import fupin_rules.io.ledger_convert as convert_module
from fupin_rules.domain.dataset import TABLES, LoadResult
from fupin_rules.io import read_ledger, write_ledger
from fupin_rules.io._columns import non_empty_rows, parse_column
from fupin_rules.io.cells import CellError, parse_cell
from fupin_rules.io.generate import generate_county
from fupin_rules.io.headers import field_specs


def _spec(table: str, name: str):  # type: ignore[no-untyped-def]
    (spec,) = [s for s in field_specs(table) if s.name == name]
    return spec


def _row_by_row(
    cls: Any,
    rows: Sequence[tuple[int, Sequence[object]]],
    specs: Any,
    width: int,
    unnamed: Any,
    *,
    slow: Callable[[int, Sequence[object]], None],
    accept: Any,
) -> None:
    for number, row in rows:
        slow(number, row)


def _canonical(result: LoadResult) -> Any:
    ds = result.dataset
    tables: dict[str, Any] = {}
    for name in TABLES:
        rows = ds.table(name)
        tables[name] = None if rows is None else [_record(r) for r in rows]
    return (result.rows_in, result.issues, _record(ds.county), tables)


def _record(rec: Any) -> Any:
    values = tuple((k, type(v), repr(v)) for k, v in rec.__dict__.items())
    return type(rec), values, frozenset(rec.model_fields_set)


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    with monkeypatch.context() as m:
        m.setattr(columns_module, "CHUNK", 3)  # chunk boundaries inside a small table
        fast = _canonical(read_ledger(path))
    with monkeypatch.context() as m:
        m.setattr(convert_module, "read_columnwise", _row_by_row)
        slow = _canonical(read_ledger(path))
    return fast, slow


@pytest.mark.parametrize(
    ("table", "field", "values"),
    [
        ("persons", "annual_income_yuan", [Decimal("1.5"), Decimal("1.50"), 1.5, "1.5", 1, True]),
        ("persons", "is_head", [1, True, 1.0, "1", "是", 0, False, "否", 2, None, " "]),
        ("persons", "name", [1, 1.0, True, Decimal("1"), "1", " 1 ", "", None, 2.5]),
        ("persons", "name", ["a", " a", None, "", "  ", "b "]),
        ("persons", "birth_date", [dt.date(2017, 1, 1), dt.datetime(2017, 1, 1), "2017-01-01"]),
        ("villages", "income_growth_rate", [0.0, -0.0, "9.5%", Decimal("0.095"), float("nan")]),
        ("villages", "income_growth_rate", [0.0, -0.0, None, 0.0]),
        (
            "persons",
            "annual_income_yuan",
            [
                Decimal("1.5"),
                Decimal("1.50"),
                Decimal("0E-2"),
                Decimal("-3"),
                None,
                Decimal("1E+5"),
            ],
        ),
        ("persons", "annual_income_yuan", [Decimal("1.50"), Decimal("3000.500"), None]),
        ("persons", "annual_income_yuan", [Decimal("1.5"), Decimal("1.234"), Decimal("NaN")]),
        ("villages", "income_growth_rate", [Decimal("0.0950"), Decimal("1E+2"), None]),
        ("villages", "income_growth_rate", [Decimal("0.095"), Decimal("Infinity")]),
        ("persons", "chronic_diseases", [["a", "b"], ["a", None], [True], [1], ["1"], [["x"]]]),
        ("persons", "chronic_diseases", [["a"], ["a"], None, [], " a、b "]),
        ("households", "poverty_status", ["未脱贫", "exited", "nope", None, 3]),
    ],
)
def test_parse_column_reads_each_cell_as_parse_cell(
    table: str, field: str, values: list[object]
) -> None:
    spec = _spec(table, field)
    for order in (values, list(reversed(values)), values * 2):
        got = parse_column(spec, list(order))
        for r, value in enumerate(order):
            try:
                want = parse_cell(spec, value)
            except CellError:
                assert r in got.bad, value
                continue
            assert r not in got.bad, value
            assert got.values[r] == want and type(got.values[r]) is type(want), value
            assert repr(got.values[r]) == repr(want), value  # 1.5 and 1.50 stay as written


def test_non_empty_rows_skips_only_rows_with_every_cell_empty() -> None:
    cols: list[list[object]] = [["a", None, " ", "b"], [None, None, None, 0], [[], None, "", None]]
    rows = non_empty_rows(cols)
    assert list(rows) == [(1, ("a", None, [])), (4, ("b", 0, None))]
    assert list(non_empty_rows([["a", "b"]]).numbers) == [1, 2]


def _hostile_tables() -> dict[str, pl.DataFrame]:
    frames = {k: v.clone() for k, v in generate_county(12, 5, villages=2).items()}
    persons = frames["persons"]
    n = persons.height
    income = persons["annual_income_yuan"].cast(pl.String).to_list()
    names = persons["name"].to_list()
    income[1] = "12.345"  # more than two decimals: a cell error
    income[4] = "-5"  # fine as a cell; the model allows it
    names[2] = "  "  # empty: unknown
    ids = persons["person_id"].to_list()
    ids[3] = "bad id?"  # refused by the record model (Key pattern), not by the cell reader
    ids[5] = ids[6]  # duplicate id
    heads = [None] * n
    heads[7] = "也许"  # not 是/否
    persons = persons.with_columns(
        pl.Series("annual_income_yuan", income),
        pl.Series("name", names),
        pl.Series("person_id", ids),
        pl.Series("is_head", heads, dtype=pl.String),
    )
    frames["persons"] = persons
    loans = frames["loans"]
    if loans.height:
        amounts = loans["amount_yuan"].cast(pl.String).to_list()
        amounts[0] = "0"  # gt=0: refused by the model
        loans = loans.with_columns(pl.Series("amount_yuan", amounts))
    frames["loans"] = loans
    return frames


def test_hostile_parquet_same_as_row_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, df in _hostile_tables().items():
        if name == "persons":  # an entirely empty row, kept out of the row numbers
            df = pl.concat([df.head(2), df.clear(1), df.slice(2)], how="vertical_relaxed")
        df.write_parquet(folder / f"{name}.parquet")
    fast, slow = _both(folder, monkeypatch)
    assert fast == slow
    assert fast[1], "the fixture is hostile: issues expected"


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


def test_hostile_csv_same_as_row_by_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "csv"
    folder.mkdir()
    for name, df in _hostile_tables().items():
        df.with_columns(
            pl.col(c).list.join("、") for c, t in df.schema.items() if isinstance(t, pl.List)
        ).write_csv(folder / f"{name}.csv")
    with (folder / "persons.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[0].append("")  # a column without a header ...
    rows[3].append("value under no header")  # ... with a value in one row
    rows[5] = [*rows[5], "x", "y"]  # more cells than the header
    rows[6] = rows[6][:2]  # a short row
    rows.insert(8, [""] * len(rows[0]))  # a blank row
    rows[9][0] = " " + rows[9][0] + " "  # spaces around an id
    _write_csv(folder / "persons.csv", rows)
    fast, slow = _both(folder, monkeypatch)
    assert fast == slow
    assert any("no header" in i.message for i in fast[1])


def test_hostile_xlsx_same_as_row_by_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    from fupin_rules.domain.dataset import load_dataset
    from fupin_rules.io.generate import to_dataset_dict

    dataset = load_dataset(to_dataset_dict(generate_county(12, 5, villages=2))).dataset
    path = tmp_path / "ledger.xlsx"
    write_ledger(dataset, path, "xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["人员"] if "人员" in wb.sheetnames else wb.worksheets[4]
    ws.cell(3, 1).value = 12345  # a number where an id is text: read as "12345"
    ws.cell(4, 1).value = 1.5  # a fractional number as an id: refused by the Key pattern
    ws.cell(5, 2).value = True  # a true/false where text is expected: a cell error
    ws.cell(6, 4).value = dt.datetime(2017, 1, 1, 12, 30)  # a time of day on a date
    ws.cell(7, ws.max_column + 2).value = "beyond"  # a value under no header
    wb.save(path)
    fast, slow = _both(path, monkeypatch)
    assert fast == slow
    assert fast[1]


cell_text = st.one_of(
    st.sampled_from(
        ["", " ", "是", "否", "1", "0", "1.5", "12.345", "-1", "2017-02-30", "2017-01-01",
         "中职", "exited", "未脱贫", "H 1", "a、b", "[1]", "9" * 30, "1e5", "NaN", "x"]
    ),
    st.text(max_size=6),
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_cells_same_as_row_by_row(data: st.DataObject) -> None:
    import tempfile

    frames = generate_county(6, 9, villages=2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "csv"
        folder.mkdir()
        for name, df in frames.items():
            df.with_columns(
                pl.col(c).list.join("、") for c, t in df.schema.items() if isinstance(t, pl.List)
            ).write_csv(folder / f"{name}.csv")
        table = data.draw(st.sampled_from(["households", "persons", "villages", "loans"]))
        with (folder / f"{table}.csv").open(encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        for _ in range(data.draw(st.integers(1, 8))):
            r = data.draw(st.integers(1, len(rows) - 1))
            c = data.draw(st.integers(0, len(rows[0]) - 1))
            rows[r][c] = data.draw(cell_text)
        _write_csv(folder / f"{table}.csv", rows)
        mp = pytest.MonkeyPatch()
        try:
            fast, slow = _both(folder, mp)
        finally:
            mp.undo()
        assert fast == slow


def test_no_known_column_same_as_row_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table whose header names no field (every row then misses its required fields)."""
    folder = tmp_path / "csv"
    folder.mkdir()
    for name, df in generate_county(6, 9, villages=2).items():
        df.with_columns(
            pl.col(c).list.join("、") for c, t in df.schema.items() if isinstance(t, pl.List)
        ).write_csv(folder / f"{name}.csv")
    rows = [["nothing known", "nor this"], ["a", "b"], ["c", ""]]
    _write_csv(folder / "households.csv", rows)
    fast, slow = _both(folder, monkeypatch)
    assert fast == slow
    assert fast[1]


def test_equal_readings_are_one_object_as_the_per_column_cache_made_them() -> None:
    """A parent id repeated by many rows is held once (300,000 persons name 100,000
    households): the records of a county take no more memory than with the row-by-row
    reader, whose per-column cache shared them."""
    parent = _spec("persons", "household_id")
    cells: list[object] = ["".join(["H", "1"]) for _ in range(3)]  # equal, not the same object
    assert cells[0] is not cells[1]
    got = parse_column(parent, cells).values
    assert got[0] is got[1] is got[2]
    money = _spec("persons", "annual_income_yuan")
    amounts: list[object] = [Decimal("1.50"), Decimal("1.50"), Decimal("1.5"), None]
    got = parse_column(money, amounts).values
    assert got[0] is got[1] and repr(got[2]) == "Decimal('1.5')" and got[3] is None
