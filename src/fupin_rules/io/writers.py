"""Writing a dataset as a ledger in the formats :func:`~fupin_rules.io.read_ledger` reads.

``write_ledger(dataset, "ledger.xlsx", "xlsx")`` writes what officials use: Chinese sheet names
(户, 人员, 村 ...), Chinese column titles, Chinese labels for codes (中职) and 是/否. CSV and
Parquet default to English field names and codes (machine-friendly); ``language=`` overrides.
Tables that were not supplied (``None``) are left out; supplied but empty tables are written with
their header only, so the difference survives a round trip.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from fupin_rules.domain.dataset import TABLES, Dataset
from fupin_rules.domain.enums import LABELS_ZH
from fupin_rules.domain.models import Record
from fupin_rules.io.headers import TABLE_TITLES_ZH, FieldKind, FieldSpec, field_specs
from fupin_rules.io.ledger import LedgerError, LedgerFormat

__all__ = ["Language", "write_ledger"]

Language = Literal["en", "zh"]


def write_ledger(
    data: Dataset | Mapping[str, Any],
    path: str | os.PathLike[str],
    format: LedgerFormat | None = None,
    *,
    language: Language | None = None,
) -> Path:
    """Write ``data`` (a :class:`Dataset` or its ``to_dict()`` layout) as a ledger; return the path.

    ``format`` is ``json`` (a file), ``xlsx`` (a workbook), ``csv`` or ``parquet`` (a folder, created
    if needed, one file per table); when omitted it follows the suffix (``.json``/``.xlsx``) or
    means ``csv`` for a path without one. ``language`` picks the headers, sheet names and cell
    labels: ``zh`` (default for xlsx) or ``en`` (default otherwise). A dict is validated first and
    :class:`~fupin_rules.errors.DataError` lists its bad rows.
    """
    dataset = data if isinstance(data, Dataset) else Dataset.from_dict(data)
    p = Path(path)
    fmt: str = format or {".json": "json", ".xlsx": "xlsx", ".parquet": "parquet"}.get(
        p.suffix.lower(), "csv"
    )
    lang: Language = language or ("zh" if fmt == "xlsx" else "en")
    if fmt == "json":
        p.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(dataset.to_dict(), ensure_ascii=False, separators=(",", ":"))
        p.write_text(text + "\n", encoding="utf-8")
    elif fmt == "csv":
        _write_csv(dataset, p, lang)
    elif fmt == "xlsx":
        _write_xlsx(dataset, p, lang)
    elif fmt == "parquet":
        _write_parquet(dataset, p, lang)
    else:
        raise LedgerError(f"format={fmt!r}: expected one of json, csv, xlsx, parquet")
    return p


def _tables(dataset: Dataset) -> list[tuple[str, tuple[Record, ...]]]:
    out: list[tuple[str, tuple[Record, ...]]] = [("county", (dataset.county,))]
    for name in TABLES:
        rows = dataset.table(name)
        if rows is not None:
            out.append((name, rows))
    return out


def _table_name(table: str, language: Language) -> str:
    return TABLE_TITLES_ZH[table] if language == "zh" else table


def _text_cell(spec: FieldSpec, value: object, language: Language) -> object:
    """A cell for a text format (CSV) or a workbook: labels and 是/否 in Chinese."""
    if value is None:
        return None
    kind = spec.kind
    if kind is FieldKind.BOOL:
        if language == "zh":
            return "是" if value else "否"
        return "true" if value else "false"
    if kind is FieldKind.ENUM:
        code = str(getattr(value, "value", value))
        return LABELS_ZH.get(code, code) if language == "zh" else code
    if kind is FieldKind.TEXT_LIST:
        items = [str(v) for v in value]  # type: ignore[attr-defined]
        if not items:
            return "[]"
        return ("、" if language == "zh" else ";").join(items)
    return value


def _write_csv(dataset: Dataset, folder: Path, language: Language) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in _tables(dataset):
        specs = field_specs(table)
        with (folder / f"{_table_name(table, language)}.csv").open(
            "w", encoding="utf-8", newline=""
        ) as fh:
            writer = csv.writer(fh)
            writer.writerow([s.header(language) for s in specs])
            for record in rows:
                cells = []
                for spec in specs:
                    value = _text_cell(spec, getattr(record, spec.name), language)
                    if isinstance(value, dt.date):
                        value = value.isoformat()
                    cells.append("" if value is None else value)
                writer.writerow(cells)


def _write_xlsx(dataset: Dataset, path: Path, language: Language) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for table, rows in _tables(dataset):
        ws = workbook.create_sheet(_table_name(table, language))
        ws.freeze_panes = "A2"
        specs = field_specs(table)
        header = []
        for spec in specs:
            cell = WriteOnlyCell(ws, value=spec.header(language))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for record in rows:
            cells: list[Any] = []
            for spec in specs:
                value = _text_cell(spec, getattr(record, spec.name), language)
                if isinstance(value, str) and value.startswith("="):
                    text_cell = WriteOnlyCell(ws, value=value)
                    text_cell.data_type = "s"  # text, not a formula
                    cells.append(text_cell)
                elif isinstance(value, dt.date):
                    date_cell = WriteOnlyCell(ws, value=value)
                    date_cell.number_format = "yyyy-mm-dd"
                    cells.append(date_cell)
                elif isinstance(value, Decimal):
                    # A numeric cell officials can sum. Exact on the way back: every Decimal with
                    # at most 15 significant digits (Yuan's max_digits) survives float and repr().
                    number_cell = WriteOnlyCell(ws, value=value)
                    if spec.kind is FieldKind.MONEY:
                        number_cell.number_format = "0.00"
                    cells.append(number_cell)
                else:
                    cells.append(value)
            ws.append(cells)
    workbook.save(path)


def _decimal_type(values: list[Decimal | None], money: bool) -> Any:
    import pyarrow as pa

    if money:
        return pa.decimal128(15, 2)
    scale = 0
    integer_digits = 1
    for v in values:
        if v is None:
            continue
        _sign, digits, exponent = v.as_tuple()
        assert isinstance(exponent, int)
        scale = max(scale, -exponent)
        integer_digits = max(integer_digits, len(digits) + exponent)
    return pa.decimal128(min(38, integer_digits + scale), scale)


def _write_parquet(dataset: Dataset, folder: Path, language: Language) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    simple = {
        FieldKind.TEXT: pa.string(),
        FieldKind.ENUM: pa.string(),
        FieldKind.INT: pa.int64(),
        FieldKind.BOOL: pa.bool_(),
        FieldKind.DATE: pa.date32(),
        FieldKind.TEXT_LIST: pa.list_(pa.string()),
    }
    for table, rows in _tables(dataset):
        arrays = []
        fields = []
        for spec in field_specs(table):
            values = [getattr(r, spec.name) for r in rows]
            if spec.kind is FieldKind.ENUM:
                values = [None if v is None else str(v.value) for v in values]
            elif spec.kind is FieldKind.TEXT_LIST:
                values = [None if v is None else list(v) for v in values]
            if spec.kind in (FieldKind.MONEY, FieldKind.RATE):
                type_ = _decimal_type(values, spec.kind is FieldKind.MONEY)
            else:
                type_ = simple[spec.kind]
            arrays.append(pa.array(values, type=type_))
            fields.append(pa.field(spec.header(language), type_))
        pq.write_table(
            pa.Table.from_arrays(arrays, schema=pa.schema(fields)),
            folder / f"{_table_name(table, language)}.parquet",
        )
