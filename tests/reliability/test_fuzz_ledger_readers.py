"""Fuzzing the ledger readers: malformed JSON, CSV, Excel and Parquet ledgers.

Architecture, "Nothing lost" and "the boundary validates": whatever the input, ``read_ledger``
either returns a LoadResult in which every row is a record or an issue naming file, table,
row and field, or raises one of the library's own errors naming the file. Never a bare
KeyError, ValueError or a crash of a third-party parser.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import fuzz_budget, tally, write_tally

from fupin_rules.domain.dataset import Dataset
from fupin_rules.errors import FupinRulesError
from fupin_rules.io import read_ledger, write_ledger
from fupin_rules.io.generate import generate_county, to_dataset_dict

TRICKY = [
    "", " ", "NaN", "nan", "inf", "-inf", "-0", "1e400", "1e-400", "0.1e1", "１２", "2017-02-30",
    "2017-13-01", "17/9/1", "0000-00-00", "是", "否", "真", "中职", "未知代码", "null", "None",
    "=1+1", "\x00", "9" * 45, "1,000.00", "¥5000", "0x10", "[]", "{}", "['a']", "TRUE", "1.5",
    "-5", "H000001", "V00001", "\u202e", "\ufeff", "a\nb", '"', "'",
]  # fmt: skip
cell_text = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=20),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True).map(str),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**25), 10**25) | st.floats() | st.text(max_size=10)
    | st.sampled_from(TRICKY),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
OPS = [
    "cell",
    "cell",
    "cell",
    "drop_field",
    "rename_field",
    "dup_row",
    "dup_id",
    "orphan",
    "blank_row",
    "raw",
]


@pytest.fixture(scope="module")
def base() -> Iterator[dict[str, Any]]:
    data = to_dataset_dict(generate_county(8, 3, villages=2))
    yield Dataset.from_dict(data).to_dict()
    write_tally()


def _check(path: Path, name: str) -> None:
    try:
        result = read_ledger(path)
    except FupinRulesError as exc:
        assert path.name in str(exc) or path.parent.name in str(exc), str(exc)
        tally(name, f"raised {type(exc).__name__}")
        return
    assert result.accounted, (result.rows_in, result.dataset.record_count(), result.issues)
    for issue in result.issues:
        assert issue.source and issue.table, issue
        assert issue.message, issue
        if issue.row is not None:
            assert issue.row >= 1, issue
            # a bad row names its field, except a row that is not a record at all
            assert (
                issue.field
                or issue.column
                or "expected an object" in issue.message
                or (issue.table == "county" and "extra row" in issue.message)
                or "appears again" in issue.message  # a row of a table's second copy
            ), issue
    tally(name, "issues" if result.issues else "clean")


def _mutate_rows(
    tables: dict[str, list[dict[str, Any]]], data: st.DataObject, value: st.SearchStrategy[Any]
) -> None:
    names = sorted(t for t, rows in tables.items() if rows)
    table = data.draw(st.sampled_from(names), label="table")
    rows = tables[table]
    i = data.draw(st.integers(0, len(rows) - 1), label="row")
    row = rows[i]
    op = data.draw(st.sampled_from(OPS[:-1]), label="op")
    fields = sorted(row) or ["x"]
    fld = data.draw(st.sampled_from(fields), label="field")
    if op == "cell":
        row[fld] = data.draw(value, label="value")
    elif op == "drop_field":
        row.pop(fld, None)
    elif op == "rename_field":
        row[data.draw(st.text(max_size=8), label="new name")] = row.pop(fld, None)
    elif op == "dup_row":
        rows.insert(i, dict(row))
    elif op == "dup_id" and len(rows) > 1:
        key = next(iter(rows[0]))
        rows[-1][key] = rows[0].get(key)
    elif op == "orphan":
        for k in list(row):
            if k.endswith("_id") and k != next(iter(row)):
                row[k] = "NO-SUCH-PARENT"
    elif op == "blank_row":
        rows.insert(i, dict.fromkeys(row))


def _tables(base: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out = {k: [dict(r) for r in v] for k, v in base.items() if k != "county"}
    out["county"] = [dict(base["county"])]
    return out


def _as_dataset_dict(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in tables.items() if k != "county"}
    out["county"] = tables["county"][0] if tables["county"] else {}
    return out


def _raw(path: Path, data: st.DataObject) -> None:
    """Damage a file's bytes: truncate, insert or overwrite."""
    files = sorted(p for p in ([path] if path.is_file() else path.iterdir()) if p.is_file())
    f = data.draw(st.sampled_from(files), label="file")
    b = bytearray(f.read_bytes())
    at = data.draw(st.integers(0, max(0, len(b) - 1)), label="at")
    how = data.draw(st.sampled_from(["truncate", "insert", "overwrite"]), label="how")
    junk = data.draw(st.binary(min_size=1, max_size=16), label="junk")
    if how == "truncate":
        del b[at:]
    elif how == "insert":
        b[at:at] = junk
    else:
        b[at : at + len(junk)] = junk
    f.write_bytes(bytes(b))


@settings(
    max_examples=fuzz_budget("json"),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_json_ledgers(base: dict[str, Any], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.json"
        tables = _tables(base)
        raw = data.draw(st.integers(0, 9), label="raw?") == 0
        for _ in range(data.draw(st.integers(1, 3), label="mutations")):
            _mutate_rows(tables, data, json_value)
        if data.draw(st.integers(0, 9), label="structure?") == 0:
            key = data.draw(st.sampled_from(sorted(tables)), label="table key")
            doc: Any = _as_dataset_dict(tables)
            doc[key] = data.draw(json_value, label="table value")
        else:
            doc = _as_dataset_dict(tables)
        path.write_text(json.dumps(doc, ensure_ascii=False, default=str), encoding="utf-8")
        if raw:
            _raw(path, data)
        _check(path, "json")


def _write(fmt: str, tables: dict[str, list[dict[str, Any]]], folder: Path) -> Path:
    dataset = Dataset.from_dict(_as_dataset_dict(tables))
    target = folder / ("ledger.xlsx" if fmt == "xlsx" else "ledger")
    write_ledger(dataset, target, fmt)  # type: ignore[arg-type]
    return target


@pytest.fixture(scope="module")
def templates(base: dict[str, Any]) -> Iterator[dict[str, Path]]:
    root = Path(tempfile.mkdtemp(prefix="fupin-fuzz-"))
    out = {fmt: _write(fmt, _tables(base), root / fmt) for fmt in ("csv", "parquet", "xlsx")}
    yield out
    shutil.rmtree(root)


def _mutate_csv(folder: Path, data: st.DataObject) -> None:
    files = sorted(folder.glob("*.csv"))
    f = data.draw(st.sampled_from(files), label="csv file")
    rows = list(csv.reader(io.StringIO(f.read_text(encoding="utf-8-sig"), newline="")))
    op = data.draw(
        st.sampled_from(["cell", "cell", "header", "dup_row", "drop_col", "short_row", "long_row"]),
        label="op",
    )
    r = data.draw(st.integers(0, len(rows) - 1), label="row")
    if not rows[r]:
        rows[r] = [""]
    c = data.draw(st.integers(0, len(rows[r]) - 1), label="col")
    if op == "cell":
        rows[r][c] = data.draw(cell_text, label="value")
    elif op == "header":
        if not rows[0]:
            rows[0] = [""]
        rows[0][min(c, len(rows[0]) - 1)] = data.draw(cell_text, label="header")
    elif op == "dup_row":
        rows.insert(r, list(rows[r]))
    elif op == "drop_col":
        rows = [row[:c] + row[c + 1 :] for row in rows]
    elif op == "short_row":
        rows[r] = rows[r][:c]
    else:
        rows[r] = [*rows[r], data.draw(cell_text, label="extra")]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    f.write_text(buf.getvalue(), encoding="utf-8")


@settings(
    max_examples=fuzz_budget("csv"),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_csv_ledgers(templates: dict[str, Path], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger"
        shutil.copytree(templates["csv"], path)
        for _ in range(data.draw(st.integers(1, 3), label="mutations")):
            _mutate_csv(path, data)
        if data.draw(st.integers(0, 9), label="raw?") == 0:
            _raw(path, data)
        _check(path, "csv")


@settings(
    max_examples=fuzz_budget("parquet"),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_parquet_ledgers(templates: dict[str, Path], data: st.DataObject) -> None:
    import polars as pl

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger"
        shutil.copytree(templates["parquet"], path)
        f = data.draw(st.sampled_from(sorted(path.glob("*.parquet"))), label="file")
        df = pl.read_parquet(f)
        col = data.draw(st.sampled_from(df.columns), label="column")
        op = data.draw(
            st.sampled_from(["cells", "cells", "rename", "drop", "dtype", "raw"]), label="op"
        )
        if op == "cells" and df.height:
            if isinstance(df[col].dtype, pl.List):
                df = df.with_columns(pl.col(col).list.join("|"))
            values = df[col].cast(pl.String).to_list()
            i = data.draw(st.integers(0, df.height - 1), label="row")
            values[i] = data.draw(cell_text | st.none(), label="value")
            df = df.with_columns(pl.Series(col, values, dtype=pl.String))
        elif op == "rename":
            new = data.draw(
                st.text(min_size=1, max_size=8).filter(lambda s: s not in df.columns), label="name"
            )
            df = df.rename({col: new})
        elif op == "drop":
            df = df.drop(col)
        elif op == "dtype":
            df = df.with_columns(
                pl.Series(
                    col,
                    data.draw(
                        st.lists(
                            st.integers(-(2**62), 2**62) | st.none(),
                            min_size=df.height,
                            max_size=df.height,
                        ),
                        label="ints",
                    ),
                    dtype=pl.Int64,
                )
            )
        df.write_parquet(f)
        if op == "raw":
            _raw(f, data)
        _check(path, "parquet")


@settings(
    max_examples=fuzz_budget("xlsx"),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_xlsx_ledgers(templates: dict[str, Path], data: st.DataObject) -> None:
    import openpyxl

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.xlsx"
        shutil.copy(templates["xlsx"], path)
        if data.draw(st.integers(0, 9), label="raw?") == 0:
            _raw(path, data)
        else:
            wb = openpyxl.load_workbook(path)
            for _ in range(data.draw(st.integers(1, 3), label="mutations")):
                ws = data.draw(st.sampled_from(wb.worksheets), label="sheet")
                op = data.draw(
                    st.sampled_from(["cell", "cell", "title", "insert_row", "delete_col"]),
                    label="op",
                )
                r = data.draw(st.integers(1, max(1, ws.max_row) + 1), label="row")
                c = data.draw(st.integers(1, max(1, ws.max_column) + 1), label="col")
                if op == "cell":
                    v = data.draw(
                        cell_text.filter(lambda s: not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in s))
                        | st.integers(-(10**15), 10**15) | st.floats(allow_nan=False, allow_infinity=False)
                        | st.booleans() | st.dates() | st.datetimes() | st.none(),
                        label="value",
                    )  # fmt: skip
                    ws.cell(r, c).value = v
                elif op == "title":
                    ws.title = data.draw(
                        st.text(
                            alphabet=st.characters(
                                blacklist_characters="[]:*?/\\'", blacklist_categories=("Cs", "Cc")
                            ),
                            min_size=1,
                            max_size=20,
                        ).filter(lambda t: t not in wb.sheetnames),
                        label="title",
                    )
                elif op == "insert_row":
                    ws.insert_rows(r)
                else:
                    ws.delete_cols(c)
            wb.save(path)
        _check(path, "xlsx")


# --------------------------------------------------------------------------- the JSON front door

#: JSON text a hostile or careless producer writes where a value belongs (issue 17)
RAW_JSON = [
    "1E5", "1e5", "-1E+5", "50000.000000000001", "0.0900000000000000001", "-0", "0.1e1",
    "1e999999999", "1E-400", "9" * 5000, "-" + "9" * 4301, "1" + "0" * 4300, "NaN",
    "Infinity", "-Infinity", "[" * 3000 + "]" * 3000, "[" * 50 + "]" * 50, "{}", "[]", "null",
    "true", '""', '"  "', '"1E5"', '"\\ud800"', '"\\u0000"', '"' + "x" * 5000 + '"',
]  # fmt: skip


def _structural(text: str, data: st.DataObject) -> bytes:
    """Damage a JSON ledger's text as a producer would: repeated keys, wrappers, encodings."""
    op = data.draw(
        st.sampled_from(
            ["table_twice", "field_twice", "bom", "gbk", "utf16", "deep", "array", "empty", "none"]
        ),
        label="structure",
    )
    if op == "table_twice":
        key = data.draw(st.sampled_from(["county", "persons", "documents", "households"]))
        value = data.draw(st.sampled_from(["[]", '[{"x": 1}]', "{}", "null", '"a"']))
        text = text[:-1] + f', "{key}": {value}}}'
    elif op == "field_twice":
        at = data.draw(st.integers(1, max(1, text.count('{"') - 1)), label="object")
        pos = -1
        for _ in range(at):
            pos = text.index('{"', pos + 1)
        end = text.index('"', pos + 2)
        field = text[pos + 2 : end]
        literal = data.draw(st.sampled_from([*RAW_JSON[:8], '"X"']), label="again")
        text = text[: pos + 1] + f'"{field}": {literal}, ' + text[pos + 1 :]
    elif op == "deep":
        text = "[" * 100_000 + text + "]" * 100_000
    elif op == "array":
        text = f"[{text}]"
    elif op == "empty":
        text = data.draw(st.sampled_from(["", " ", "\n", "\ufeff"]))
    if op == "bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    if op == "gbk":
        return text.encode("gb18030")
    if op == "utf16":
        return text.encode("utf-16")
    return text.encode("utf-8", errors="surrogatepass")


@settings(
    max_examples=fuzz_budget("json_front_door"),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_json_front_door(base: dict[str, Any], data: st.DataObject) -> None:
    """``load_data`` (Evaluator, evaluate, ``check FILE.json``) on hostile JSON text: exact
    numbers, repeated keys, deep nesting, odd encodings; a LoadResult that accounts for every
    row or a library error naming the file, never a traceback."""
    import fupin_rules as fr

    tables = _tables(base)
    placed = 0
    for _ in range(data.draw(st.integers(0, 3), label="mutations")):
        _mutate_rows(tables, data, json_value)
    for _ in range(data.draw(st.integers(0, 3), label="raw literals")):
        names = sorted(t for t, rows in tables.items() if rows)
        rows = tables[data.draw(st.sampled_from(names), label="table")]
        row = rows[data.draw(st.integers(0, len(rows) - 1), label="row")]
        fld = data.draw(st.sampled_from(sorted(row) or ["x"]), label="field")
        row[fld] = f"__RAW{placed}__"
        placed += 1
    text = json.dumps(_as_dataset_dict(tables), ensure_ascii=False, default=str)
    for k in range(placed):
        text = text.replace(f'"__RAW{k}__"', data.draw(st.sampled_from(RAW_JSON), label="raw"))
    raw = _structural(text, data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "front.json"
        path.write_bytes(raw)
        if data.draw(st.integers(0, 9), label="damage?") == 0:
            _raw(path, data)
        try:
            result = fr.load_data(path)
        except FupinRulesError as exc:
            assert "front.json" in str(exc), str(exc)
            assert len(str(exc)) < 20_000 or "\n" in str(exc), str(exc)[:300]
            tally("json_front_door", f"raised {type(exc).__name__}")
            return
        assert result.accounted, (result.rows_in, result.dataset.record_count(), result.issues)
        for issue in result.issues:
            assert "front.json" in issue.source and issue.table and issue.message, issue
            assert len(issue.message) < 2_000, issue.message[:300]
            if issue.row is not None:
                assert issue.row >= 1, issue
        # every value kept is exact: no binary float reached a record
        for name in ("county", *result.dataset.to_dict()):
            records = result.dataset.to_dict()[name]
            for record in records if isinstance(records, list) else [records]:
                assert not any(isinstance(v, float) for v in record.values()), record
        tally("json_front_door", "issues" if result.issues else "clean")
