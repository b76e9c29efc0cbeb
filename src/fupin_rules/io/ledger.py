"""Reading a county ledger (台账) from JSON, a CSV folder, an Excel workbook or a Parquet folder.

One entry point, :func:`read_ledger`, picks the reader from the path:

=====================  ==========================================================================
``ledger.json``        the :meth:`Dataset.to_dict` layout: ``{"county": {...}, "households": [...]}``
``ledger.xlsx``        one sheet per table; sheet names ``households`` or ``户``, headers
                       ``household_id`` or ``户编码``; the county sheet (``county``/``县``) has one row
``folder/*.csv``       one ``<table>.csv`` per table (``county.csv`` with one row), UTF-8 (a BOM is
                       fine; GB18030, as Excel on a Chinese Windows saves, is read with a warning;
                       the encoding is decided per file on evidence)
``folder/*.parquet``   one ``<table>.parquet`` per table, column names as in CSV
=====================  ==========================================================================

Tables are listed in :data:`fupin_rules.io.headers.TABLE_NAMES`; a table that is absent is *not
supplied* (rules that need it give *unknown*), a table with a header and no rows is supplied and
empty. Cells may be codes or Chinese labels (``中职``, ``是``/``否``); an empty cell is ``None``.
Rows that are entirely empty are skipped; rows above the header row (the row among the first ten
naming the most known columns) are skipped too: silently for a one-cell title such as
``竹山县贫困户台账``, with a warning otherwise.

Nothing is lost: every data row becomes a record or at least one :class:`DataIssue` naming the file
(and sheet), the row as the user sees it (Excel row number counting the header; CSV line number;
Parquet and JSON record number), the column as written and the reason, and
``rows_in == dataset.record_count() + distinct bad rows`` always holds. Problems with a whole
column (an unknown header) are issues without a row. Warnings (``severity="warning"``: the
encoding decided, a hidden sheet, merged or formula cells read as empty) reject nothing and are
not rejected rows. What is refused and tolerated, with the messages: ``docs/reliability.md``.
Only a ledger without a usable county row
raises :class:`~fupin_rules.errors.DataError` (listing every problem found), because nothing can be
evaluated without it; a path that is not a ledger raises :class:`LedgerError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from fupin_rules._gc import gc_paused
from fupin_rules.domain.dataset import DataIssue, LoadResult
from fupin_rules.io.ledger_convert import _assemble
from fupin_rules.io.ledger_convert import _parse_cached as _parse_cached  # tests import it here
from fupin_rules.io.ledger_files import LedgerError, LedgerFormat, _check_regular
from fupin_rules.io.ledger_json import (
    MAX_INT_DIGITS,
    JsonObject,
    NotANumber,
    OversizeNumber,
    _read_json,
    parse_json_bytes,
)
from fupin_rules.io.ledger_sheets import _csv_sheets, _parquet_sheets, _Sheet, _xlsx_sheets

__all__ = [
    "MAX_INT_DIGITS",
    "JsonObject",
    "LedgerError",
    "LedgerFormat",
    "NotANumber",
    "OversizeNumber",
    "detect_format",
    "parse_json_bytes",
    "read_ledger",
]


def detect_format(path: str | os.PathLike[str]) -> LedgerFormat:
    """The ledger format of ``path``: by suffix for a file, by the files inside for a folder."""
    p = Path(path)
    if not p.exists():
        raise LedgerError(f"{p}: no such file or folder")
    if p.is_dir():
        has_csv = any(p.glob("*.csv"))
        has_parquet = any(p.glob("*.parquet"))
        if has_csv and has_parquet:
            raise LedgerError(
                f"{p}: the folder holds both .csv and .parquet files; keep one format per folder"
            )
        if has_csv:
            return "csv"
        if has_parquet:
            return "parquet"
        raise LedgerError(f"{p}: the folder holds no <table>.csv or <table>.parquet files")
    suffix = p.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".xls":
        raise LedgerError(f"{p}: old .xls workbooks are not read; save it as .xlsx (Excel 2007+)")
    if suffix == ".csv":
        raise LedgerError(
            f"{p}: a ledger in CSV is a folder of <table>.csv files; pass the folder {p.parent}"
        )
    raise LedgerError(f"{p}: unknown ledger format {suffix!r}; expected .json, .xlsx or a folder")


@gc_paused()
def read_ledger(path: str | os.PathLike[str], *, format: LedgerFormat | None = None) -> LoadResult:
    """Read and validate a ledger; bad cells and rows become issues, the run goes on.

    ``format`` overrides the detection by suffix / folder content (see the module docstring).
    """
    p = Path(path)
    fmt = format or detect_format(p)
    if fmt in ("json", "xlsx"):
        _check_regular(p)
    if fmt == "json":
        return _read_json(p)
    sheets: Iterable[_Sheet]
    issues: list[DataIssue]
    if fmt == "xlsx":
        sheets, issues = _xlsx_sheets(p)
    elif fmt == "csv":
        issues = []
        sheets = _csv_sheets(p, issues)
    elif fmt == "parquet":
        sheets, issues = _parquet_sheets(p)
    else:
        raise LedgerError(f"format={fmt!r}: expected one of json, csv, xlsx, parquet")
    return _assemble(sheets, issues, source=p.name)
