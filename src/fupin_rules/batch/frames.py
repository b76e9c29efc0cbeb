"""Input tables as one polars frame per entity kind, with exact numbers and parent indices.

Every kind's frame has ``_key`` (the record id), the record's fields and ``_p.<link>``
(``UInt32`` row index of the parent behind each parent link; null when the parent is unknown).
Numbers are stored as ``Int128`` numerators over a static denominator kept in
:attr:`Tables.dens` (yuan: 100, a rate column of ``s`` decimals: ``10**s``, counts: 1), so no
binary float ever holds a money amount or a rate.

Sources: a :class:`~fupin_rules.domain.dataset.Dataset` (or a ``LoadResult``), or a dict of
polars ``DataFrame`` keyed by table name (``county`` plus :data:`fupin_rules.domain.dataset.TABLES`),
as written by :func:`fupin_rules.io.generate.generate_county`. Money columns there may be
``Decimal``, integer, string (``"49999.99"``) or float (read through its shortest text, as the
domain records do). Rows whose parent does not exist are dropped and reported as data issues,
like :func:`fupin_rules.domain.dataset.load_dataset` does.
"""

from __future__ import annotations

import decimal
import enum
import operator
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import polars as pl
import pyarrow as pa

from fupin_rules._gc import gc_paused
from fupin_rules.batch.frames_check import CONVERSION_ERRORS, check_frames, plain
from fupin_rules.domain.dataset import REFERENCES, TABLES, DataIssue, Dataset
from fupin_rules.domain.entities import ENTITIES
from fupin_rules.domain.schema import ENTITY_RECORDS, LINKS
from fupin_rules.engine.context import TABLE_KIND
from fupin_rules.errors import DataError
from fupin_rules.expr import BOOL, DATE, NUMBER, EnumType, ListType, PrimitiveType, Schema, Type

__all__ = [
    "KEY",
    "TOO_LARGE",
    "Tables",
    "parent_column",
    "tables_from_dataset",
    "tables_from_frames",
]

KEY = "_key"
I128 = pl.Int128
#: the denominator recorded for a number column holding a value beyond ``Int128``
TOO_LARGE = 0
_EXACT = decimal.Context(prec=decimal.MAX_PREC)


def parent_column(link: str) -> str:
    """The name of the parent-index column of a link."""
    return f"_p.{link}"


class Tables:
    """Per-kind frames, static denominators of number columns, and which tables were supplied.

    A number column's denominator is :data:`TOO_LARGE` (0) when one of its values does not fit
    an ``Int128`` numerator; the column then holds nulls and no rule may read it.
    """

    def __init__(
        self,
        frames: dict[str, pl.DataFrame],
        dens: dict[tuple[str, str], int],
        supplied: dict[str, bool],
        issues: tuple[DataIssue, ...] = (),
    ) -> None:
        self.frames = frames
        self.dens = dens
        self.supplied = supplied
        self.issues = issues

    def height(self, kind: str) -> int:
        """Number of records of a kind."""
        return self.frames[kind].height


def _dtype(t: Type) -> pl.DataType:
    if t == BOOL:
        return pl.Boolean()
    if t == DATE:
        return pl.Date()
    if t == NUMBER:
        return pl.Int128()
    if isinstance(t, ListType):
        return pl.List(pl.String())
    return pl.String()


def _scale_of(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def _arrow_decimals(values: Sequence[Any]) -> tuple[pl.Series, int] | None:
    """Decimals (and nulls) as numerators over ``10**scale`` through Arrow, which reads them in
    C: the scale is the largest of the values' (as :func:`_scale_of`), every value exact.

    ``None`` where Arrow cannot say it exactly in a ``decimal128`` of a scale of 0 or more (a
    value of more than 38 digits, one like ``1E+3`` alone in its column, NaN): then the caller
    works it out value by value."""
    try:
        arr = pa.array(values)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return None
    if not pa.types.is_decimal128(arr.type) or arr.type.scale < 0:
        return None
    return pl.Series(arr).to_physical().cast(I128), 10**arr.type.scale


def _decimal_column(values: Sequence[Any]) -> tuple[pl.Series, int]:
    kinds = set(map(type, values)) - {type(None)}
    if kinds == {Decimal}:  # the records' numbers: read by Arrow (5x faster, measured)
        fast = _arrow_decimals(values)
        if fast is not None:
            return fast
    elif kinds <= {int}:  # whole numbers (not booleans: their type is bool)
        try:
            return pl.Series(values, dtype=I128), 1
        except OverflowError:
            pass  # beyond Int128: as below
    decs: list[Decimal | None] = []
    for v in values:
        if v is None:
            decs.append(None)
        elif isinstance(v, bool):
            raise TypeError(f"a boolean {v!r} is not a number")
        elif isinstance(v, float):
            decs.append(Decimal(repr(v)))
        else:
            decs.append(Decimal(v) if not isinstance(v, Decimal) else v)
    scale = max((_scale_of(d) for d in decs if d is not None), default=0)
    # exactly: scaleb in the default 28-digit context rounded 10**30 + 1 to 10**30
    nums = [None if d is None else int(d.scaleb(scale, _EXACT)) for d in decs]
    try:
        return pl.Series(nums, dtype=I128), 10**scale
    except OverflowError:
        # a value beyond Int128: the column is unusable here; the rules that read it are
        # error rows of the run (Compiler.number_bound), the others run as usual
        return pl.Series([None] * len(nums), dtype=I128), TOO_LARGE


def _number_series(s: pl.Series) -> tuple[pl.Series, int]:
    """An exact number column as (Int128 numerators, static denominator)."""
    dtype = s.dtype
    if isinstance(dtype, pl.Decimal):
        scale = dtype.scale or 0
        return s.to_physical().cast(I128), 10**scale
    if dtype.is_integer():
        return s.cast(I128), 1
    if dtype == pl.Null:
        return s.cast(I128), 1
    if dtype == pl.String:
        text = s.str.strip_chars()
        neg = text.str.starts_with("-")
        body = text.str.strip_prefix("-").str.strip_prefix("+")
        parts = body.str.split_exact(".", 1)
        whole = parts.struct.field("field_0")
        frac = parts.struct.field("field_1").fill_null("")
        scale = int(frac.str.len_chars().max() or 0)  # type: ignore[arg-type]
        frame = pl.DataFrame({"w": whole, "f": frac, "neg": neg})
        frac_num = (
            pl.col("f").str.pad_end(scale, "0").cast(I128, strict=True)
            if scale
            else pl.lit(0, dtype=I128)
        )
        mag = pl.col("w").cast(I128, strict=True) * pl.lit(10**scale, dtype=I128) + frac_num
        zero = pl.lit(0, dtype=I128)
        num = frame.select(
            pl.when(pl.col("neg")).then(zero - mag).otherwise(mag).alias(s.name)
        ).to_series()
        return num, 10**scale
    if dtype.is_float() or dtype == pl.Object:
        return _decimal_column(s.to_list())
    raise TypeError(f"column {s.name!r} of type {dtype} is not a number")


def _typed_series(name: str, s: pl.Series, t: Type) -> tuple[pl.Series, int | None]:
    if t == NUMBER:
        num, den = _number_series(s)
        return num.alias(name), den
    if t == BOOL:
        return s.cast(pl.Boolean).alias(name), None
    if t == DATE:
        if s.dtype == pl.String:
            return s.str.to_date().alias(name), None
        return s.cast(pl.Date).alias(name), None
    if isinstance(t, ListType):
        return s.cast(pl.List(pl.String)).alias(name), None
    if isinstance(s.dtype, pl.Enum | pl.Categorical):
        return s.cast(pl.String).alias(name), None
    return s.cast(pl.String).alias(name), None


def _arrow_lists(values: Sequence[Any]) -> pa.Array:
    """A list column's values (tuples of codes or text, or nulls) as an Arrow list of strings.

    Arrow reads tuples of text, str-enum codes included, as they are; values it refuses (codes
    of another enum, nested tuples) are made plain first, as before.
    """
    try:
        return pa.array(values, type=pa.list_(pa.string()))
    except (pa.ArrowException, TypeError, ValueError):
        return pa.array([plain(v) for v in values], type=pa.list_(pa.string()))


def _columns(records: list[Any], names: list[str]) -> list[Sequence[Any]]:
    """The records' fields, column by column.

    Each record's fields are taken in one ``itemgetter`` call on its ``__dict__`` (a pydantic
    model's field values) and the rows turned into columns by ``zip``: 2.5x faster than one
    ``attrgetter`` pass per field (measured on the 336,000 persons of a 100k county). A record
    without a ``__dict__`` holding every field is read attribute by attribute instead.
    """
    if not names:
        return []
    if not records:
        return [() for _ in names]
    row = operator.itemgetter(*names)
    try:
        rows = list(map(row, map(vars, records)))
    except (KeyError, TypeError):
        return [list(map(operator.attrgetter(n), records)) for n in names]
    if len(names) == 1:
        return [rows]
    return list(zip(*rows, strict=True))


def _records_frame(kind: str, records: Any, schema: Schema) -> tuple[pl.DataFrame, dict[str, int]]:
    ent = schema.entities[kind]
    cls = ENTITY_RECORDS[kind]
    names = list(cls.model_fields)
    records = list(records)
    cols = dict(zip(names, _columns(records, names), strict=True))
    for n in names:
        t = ent.fields[n]
        values = cols[n]
        if isinstance(t, EnumType):
            # a code of a str enum is its own text to polars: only other codes are made plain
            if not all(issubclass(k, str) for k in set(map(type, values)) - {type(None)}):
                cols[n] = [v.value if isinstance(v, enum.Enum) else v for v in values]
        elif not isinstance(t, PrimitiveType) and not isinstance(t, ListType):
            cols[n] = [plain(v) for v in values]
    keys = list(map(str, cols[cls.key_field])) if names else []
    series: list[pl.Series] = [pl.Series(KEY, keys, dtype=pl.String)]
    dens: dict[str, int] = {}
    for n in names:
        t = ent.fields[n]
        if t == NUMBER:
            num, den = _decimal_column(cols[n])
            series.append(num.alias(n))
            dens[n] = den
        elif isinstance(t, ListType):
            # through Arrow: polars builds a list column from Python lists one inner Series at a
            # time (5 s for the 436,000 lists of a 100,000-household county, measured)
            series.append(pl.Series(n, _arrow_lists(cols[n])).cast(_dtype(t)))
        else:
            series.append(pl.Series(n, cols[n], dtype=_dtype(t)))
    return pl.DataFrame(series), dens


def _empty_frame(kind: str, schema: Schema) -> tuple[pl.DataFrame, dict[str, int]]:
    return _records_frame(kind, [], schema)


def _frame_from_polars(
    kind: str, df: pl.DataFrame, schema: Schema
) -> tuple[pl.DataFrame, dict[str, int]]:
    ent = schema.entities[kind]
    key_field = ENTITY_RECORDS[kind].key_field
    series: list[pl.Series] = [df[key_field].cast(pl.String).alias(KEY)]
    dens: dict[str, int] = {}
    for n, t in ent.fields.items():
        if n in df.columns:
            try:
                s, den = _typed_series(n, df[n], t)
            except CONVERSION_ERRORS as exc:
                table = "county" if kind == "county" else ENTITIES[kind].table
                why = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
                raise DataError(
                    [f"table {table}, column {n!r}: {df[n].dtype} cells cannot hold {t} ({why})"]
                ) from None
        else:
            s = pl.repeat(None, df.height, dtype=_dtype(t), eager=True).alias(n)
            den = 1 if t == NUMBER else None
        series.append(s)
        if den is not None:
            dens[n] = den
    return pl.DataFrame(series), dens


def _fk_field(kind: str, link: str) -> str | None:
    parent = ENTITIES[kind].parent(link)
    return None if parent.kind == "county" else parent.field


def _index_of(keys: pl.Series, fk: pl.Series) -> pl.Series:
    """Row index in ``keys`` of each value of ``fk`` (null when absent or null)."""
    if len(keys) == 0:
        return pl.repeat(None, len(fk), dtype=pl.UInt32, eager=True).alias(fk.name)
    idx = pl.int_range(len(keys), dtype=pl.UInt32, eager=True)
    # a left join on the key (measured faster than replace_strict); duplicate keys would
    # multiply rows: then replace_strict, which refuses them, as before
    by_key = pl.DataFrame({"k": keys, "i": idx})
    if 4 * len(fk) < len(keys):
        # few references into a large table (payments -> persons): hash the references, not
        # the keys (measured 3-5x faster than a join that hashes every key)
        by_key = by_key.filter(pl.col("k").is_in(fk.drop_nulls().implode()))
    joined = pl.DataFrame({"k": fk}).join(by_key, on="k", how="left", maintain_order="left")
    if joined.height == len(fk):
        return joined["i"].alias(fk.name)
    return fk.replace_strict(keys, idx, default=None, return_dtype=pl.UInt32)


def _finish(
    frames: dict[str, pl.DataFrame],
    dens: dict[tuple[str, str], int],
    supplied: dict[str, bool],
    issues: list[DataIssue],
    check_orphans: bool,
) -> Tables:
    # parent indices found by the orphan check, reused below while the parent frame is the
    # same object: (child kind, fk field) -> (parent frame, index per child row)
    found: dict[tuple[str, str], tuple[pl.DataFrame, pl.Series]] = {}
    if check_orphans:
        # parents first, so that an orphan's children become orphans too (as load_dataset)
        for table in TABLES:
            kind = TABLE_KIND[table]
            df = frames[kind]
            if df.height == 0:
                continue
            bad = pl.repeat(False, df.height, eager=True)
            mine: list[tuple[str, pl.DataFrame, pl.Series]] = []
            for fld, parent in REFERENCES[table]:
                pkind = ENTITIES.by_table[parent].kind
                if not ENTITIES[pkind].required and not supplied[pkind]:
                    continue  # e.g. townships not supplied: the village's township is unknown
                idx = _index_of(frames[pkind][KEY], df[fld])
                mine.append((fld, frames[pkind], idx))
                orphan = df[fld].is_not_null() & idx.is_null()
                for rid in df.filter(orphan & ~bad)[KEY].to_list():
                    issues.append(
                        DataIssue(
                            "<frames>",
                            table,
                            None,
                            rid,
                            fld,
                            f"orphan record: {fld} does not exist in {parent} (层级关系不成立)",
                        )
                    )
                bad = bad | orphan
            if bad.any():
                frames[kind] = df.filter(~bad)
                mine = [(fld, pf, idx.filter(~bad)) for fld, pf, idx in mine]
            for fld, pf, idx in mine:
                found[(kind, fld)] = (pf, idx)
    checked = dict(frames)  # the frames the orphan check indexed (replaced in the loop below)
    for kind, df in frames.items():
        parents = LINKS[kind][0]
        extra: list[pl.Series] = []
        for link, pkind in parents.items():
            fk = _fk_field(kind, link)
            if fk is None:
                extra.append(
                    pl.repeat(0, df.height, dtype=pl.UInt32, eager=True).alias(parent_column(link))
                )
            else:
                known = found.get((kind, fk))
                if known is not None and known[0] is checked[pkind]:
                    idx = known[1]
                else:
                    idx = _index_of(frames[pkind][KEY], df[fk])
                extra.append(idx.alias(parent_column(link)))
        if extra:
            frames[kind] = df.with_columns(extra)
    return Tables(frames, dens, supplied, tuple(issues))


@gc_paused()
def tables_from_dataset(dataset: Dataset, schema: Schema) -> Tables:
    """Frames of a validated dataset (record order kept: it is the order of collections)."""
    frames: dict[str, pl.DataFrame] = {}
    dens: dict[tuple[str, str], int] = {}
    supplied: dict[str, bool] = {"county": True}
    df, d = _records_frame("county", [dataset.county], schema)
    frames["county"] = df
    dens.update({("county", k): v for k, v in d.items()})
    for table, kind in TABLE_KIND.items():
        rows = dataset.table(table)
        supplied[kind] = rows is not None
        df, d = _records_frame(kind, rows or (), schema)
        frames[kind] = df
        dens.update({(kind, k): v for k, v in d.items()})
    return _finish(frames, dens, supplied, [], check_orphans=False)


def tables_from_frames(
    data: Mapping[str, Any], schema: Schema, bookkeeping: Iterable[str] = ()
) -> Tables:
    """Frames from a dict of polars DataFrames keyed by table name (``county`` required).

    The frames are checked first (:func:`~fupin_rules.batch.frames_check.check_frames`): any
    unknown table or column, empty or repeated key, or bad cell is a DataError naming it.
    """
    data = check_frames(data, schema, bookkeeping)
    frames: dict[str, pl.DataFrame] = {}
    dens: dict[tuple[str, str], int] = {}
    supplied: dict[str, bool] = {"county": True}
    df, d = _frame_from_polars("county", data["county"], schema)
    frames["county"] = df
    dens.update({("county", k): v for k, v in d.items()})
    for table, kind in TABLE_KIND.items():
        raw = data.get(table)
        required = ENTITIES.by_table[table].required
        supplied[kind] = raw is not None or required
        if raw is None or (raw.width == 0 and raw.height == 0):
            # absent, or supplied with no rows and so no columns (an empty list)
            df, d = _empty_frame(kind, schema)
        else:
            df, d = _frame_from_polars(kind, raw, schema)
        frames[kind] = df
        dens.update({(kind, k): v for k, v in d.items()})
    return _finish(frames, dens, supplied, [], check_orphans=True)
