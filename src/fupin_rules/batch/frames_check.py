"""The front door of frames handed to the batch engine directly.

``evaluate_batch(policy, {"households": df, ...})`` and ``compute`` take a dict of polars
DataFrames (or of anything ``pl.DataFrame`` accepts) keyed by table name. Unlike a ledger, such
frames were never read through the record models, so they are checked here, column-wise, before
use: a misspelled table or column, an empty or repeated key, a code outside its code list, or a
cell that is not of its field's type is a :class:`~fupin_rules.errors.DataError` naming the
table, the column and the rows (1-based), with a did-you-mean. Without this check a table named
``person`` was ignored (its rows lost), an unknown column was ignored, a code outside the list
was compared as text (a changed answer instead of a refused input), and a bad date or number
ended in a polars traceback.
"""

from __future__ import annotations

import decimal
import enum
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from fupin_rules.domain.schema import ENTITY_RECORDS
from fupin_rules.engine.context import TABLE_KIND
from fupin_rules.errors import DataError, did_you_mean
from fupin_rules.expr import BOOL, DATE, NUMBER, EnumType, Schema, Type

__all__ = ["CONVERSION_ERRORS", "check_frames", "plain"]

#: rows named in one problem (the count is always given)
ROWS_SHOWN = 5

#: a number written as text: optional sign, digits, optional fraction
_NUMBER_TEXT = r"^\s*[+-]?\d+(\.\d+)?\s*$"

CONVERSION_ERRORS = (
    TypeError,
    ValueError,
    ArithmeticError,
    decimal.InvalidOperation,
    pl.exceptions.PolarsError,
)


def _hint(word: str, choices: Iterable[str]) -> str:
    return did_you_mean(word, choices, form=" (did you mean {!r}?)")


def _rows(mask: pl.Series) -> str:
    """``row 3`` / ``rows 3, 7 and 2 more`` (1-based) of the True values of ``mask``."""
    idx = mask.arg_true()
    shown = ", ".join(str(i + 1) for i in idx[:ROWS_SHOWN].to_list())
    more = f" and {len(idx) - ROWS_SHOWN} more" if len(idx) > ROWS_SHOWN else ""
    return f"row{'s' if len(idx) > 1 else ''} {shown}{more}"


def plain(value: Any) -> Any:
    """A record's value as a frame cell (a code's text, a list for a tuple)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value


def _as_frame(name: str, raw: Any) -> pl.DataFrame:
    if isinstance(raw, pl.DataFrame):
        return raw
    if name == "county" and isinstance(raw, Mapping):
        return pl.DataFrame([{k: plain(v) for k, v in raw.items()}])
    return pl.DataFrame(raw)


def _column_problems(table: str, col: str, s: pl.Series, t: Type) -> list[str]:
    """What is wrong with the cells of one column of field type ``t`` (empty cells are unknown
    values, never a problem here)."""
    where = f"table {table}, column {col!r}"
    given = s.is_not_null()
    if isinstance(t, EnumType):
        text = s.cast(pl.String, strict=False)
        bad = given & (text.is_null() | ~text.is_in(list(t.members)))
        if bad.any():
            first = text.filter(bad).drop_nulls().head(3).to_list()
            return [
                f"{where}, {_rows(bad)}: not a code of {t.name} (found {first}; the codes are "
                f"{', '.join(t.members)})"
            ]
        return []
    if s.dtype == pl.String and t in (DATE, NUMBER, BOOL):
        if t == DATE:
            bad = given & s.str.to_date(strict=False).is_null()
            expected = "a date (YYYY-MM-DD)"
        elif t == NUMBER:
            bad = given & ~s.str.contains(_NUMBER_TEXT)
            expected = "an exact number written as digits (e.g. 5000 or 49999.99)"
        else:
            bad = given & s.cast(pl.Boolean, strict=False).is_null()
            expected = "true or false"
        if bad.any():
            first = s.filter(bad).head(3).to_list()
            return [f"{where}, {_rows(bad)}: not {expected} (found {first})"]
        return []
    return []


def _table_problems(
    table: str, kind: str, df: pl.DataFrame, schema: Schema, bookkeeping: Iterable[str]
) -> list[str]:
    cls = ENTITY_RECORDS[kind]
    fields = schema.entities[kind].fields
    known = list(cls.model_fields)
    problems = [
        f"table {table}: unknown column {col!r}{_hint(col, known)}; the fields of {kind} are "
        "listed by `fupin-rules fields " + kind + "`"
        for col in df.columns
        if col not in cls.model_fields and col not in bookkeeping
    ]
    key = cls.key_field
    if key not in df.columns:
        problems.append(f"table {table}: the key column {key!r} is missing")
    else:
        keys = df[key]
        empty = keys.is_null()
        if empty.any():
            problems.append(f"table {table}, {_rows(empty)}: the key {key!r} is empty")
        repeated = keys.is_duplicated() & ~empty
        if repeated.any():
            problems.append(f"table {table}, {_rows(repeated)}: the key {key!r} is repeated")
    for col, t in fields.items():
        if col in df.columns:
            problems.extend(_column_problems(table, col, df[col], t))
    return problems


def check_frames(
    data: Mapping[str, Any], schema: Schema, bookkeeping: Iterable[str] = ()
) -> dict[str, pl.DataFrame]:
    """The frames of ``data`` (table name -> DataFrame), checked; a DataError lists every
    problem found (unknown tables and columns, empty or repeated keys, bad cells).

    ``bookkeeping``: columns the library itself adds to frames it wrote (the partitioned
    runner's row numbers), allowed beside the fields.
    """
    tables = ["county", *TABLE_KIND]
    problems: list[str] = []
    for name in data:
        if name not in tables:
            problems.append(
                f"frames: unknown table {name!r}{_hint(str(name), tables)}; the tables are "
                + ", ".join(tables)
            )
    if "county" not in data:
        problems.append("frames: the 'county' table (one row) is required")
    frames: dict[str, pl.DataFrame] = {}
    for name, raw in data.items():
        if name not in tables:
            continue
        try:
            df = _as_frame(name, raw)
        except CONVERSION_ERRORS as exc:
            problems.append(f"table {name}: cannot be read as a table ({exc})")
            continue
        frames[name] = df
        if df.width == 0 and df.height == 0:
            continue  # supplied with no rows (an empty list): no columns to check
        kind = "county" if name == "county" else TABLE_KIND[name]
        problems.extend(_table_problems(name, kind, df, schema, bookkeeping))
    county = frames.get("county")
    if county is not None and county.height != 1:
        problems.append(f"table county: must have one row, not {county.height}")
    if problems:
        raise DataError(problems)
    return frames
