"""The dataset container: one county's records, validated, with referential and hierarchy checks.

Nothing is silently dropped: :func:`load_dataset` turns every input row into either a record of
the returned :class:`Dataset` or a :class:`DataIssue` (file, table, row, record id, field,
reason). The hierarchy person ⊂ household ⊂ village ⊂ township ⊂ county is checked: a record
whose parent does not exist is an issue and is left out of evaluation (and counted).

A table that was not supplied at all (``None``) is *unknown*: rules that aggregate over it give
the verdict unknown rather than "none found".
"""

from __future__ import annotations

import operator
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

import attrs
from pydantic import ValidationError

from fupin_rules._gc import gc_paused
from fupin_rules.domain.entities import ENTITIES
from fupin_rules.domain.models import (
    ArchiveDocument,
    County,
    Household,
    MicrocreditLoan,
    Payment,
    Person,
    ProcedureStep,
    ProjectFund,
    Record,
    RectificationItem,
    Relocation,
    Township,
    Village,
)
from fupin_rules.errors import DataError, did_you_mean

__all__ = [
    "TABLES",
    "DataIssue",
    "Dataset",
    "LoadResult",
    "load_dataset",
    "rejected_row_count",
    "short_repr",
]

R = TypeVar("R", bound=Record)

#: table name -> record class, in dependency order (parents first)
TABLES: dict[str, type[Record]] = ENTITIES.tables

#: table -> (field, parent table) references that must resolve
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = ENTITIES.references

#: tables every dataset has (empty when no rows); another table left out is "not supplied"
_REQUIRED = frozenset(e.table for e in ENTITIES if e.required)


@attrs.frozen
class DataIssue:
    """One problem of the input: a row that could not become a record and why, or (without a
    row) a table or column that could not be read as written.

    ``severity`` is ``"error"`` when something was not read (a row with a row number is then a
    *rejected row*) and ``"warning"`` when everything was read but the user should know how
    (the encoding a file was decoded with, a hidden sheet, merged cells read as empty, ...).
    Warnings are never counted as rejected rows.
    """

    source: str  # file name (or "<memory>")
    table: str
    row: int | None  # 1-based row as the user sees it (record number; readers give sheet/CSV rows)
    record_id: str | None
    field: str | None
    message: str
    column: str | None = None  # the column header as written in the source, when it differs
    severity: str = "error"  # "error" (not read) | "warning" (read; noted)

    @classmethod
    def table_warning(cls, source: str, table: str, message: str) -> DataIssue:
        """A warning about a whole file, sheet or table (no row, record or field)."""
        return cls(source, table, None, None, None, message, severity="warning")

    @property
    def rejects_row(self) -> bool:
        """True when this issue is about one input row that did not become a record."""
        return self.row is not None and self.severity == "error"

    def render(self) -> str:
        """One line: ``file:table:row (id) field: message``."""
        where = f"{self.source}:{self.table}"
        if self.row is not None:
            where += f":{self.row}"
        rid = f" ({self.record_id})" if self.record_id else ""
        fld = f" {self.field}" if self.field else ""
        col = f" [{self.column}]" if self.column and self.column != self.field else ""
        note = "提示 warning: " if self.severity == "warning" else ""
        return f"{where}{rid}{fld}{col}: {note}{self.message}"


@attrs.frozen
class Dataset:
    """A county's validated records. Tables that were not supplied are ``None`` (unknown)."""

    county: County
    townships: tuple[Township, ...] | None = None
    villages: tuple[Village, ...] = ()
    households: tuple[Household, ...] = ()
    persons: tuple[Person, ...] = ()
    loans: tuple[MicrocreditLoan, ...] | None = None
    payments: tuple[Payment, ...] | None = None
    projects: tuple[ProjectFund, ...] | None = None
    documents: tuple[ArchiveDocument, ...] | None = None
    procedure_steps: tuple[ProcedureStep, ...] | None = None
    relocations: tuple[Relocation, ...] | None = None
    rectification_items: tuple[RectificationItem, ...] | None = None
    #: the tables of declared kinds that have no field of their own here (table -> records)
    others: Mapping[str, tuple[Record, ...] | None] = attrs.field(factory=dict, hash=False)

    def table(self, name: str) -> tuple[Record, ...] | None:
        """A table by name (see :data:`TABLES`)."""
        if name in _OWN_FIELDS:
            value: tuple[Record, ...] | None = getattr(self, name)
            return value
        if name not in TABLES:
            raise KeyError(name)
        return self.others.get(name)

    def record_count(self) -> int:
        """Number of records of every table, the county included."""
        return 1 + sum(len(t) for n in TABLES if (t := self.table(n)) is not None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict in the layout :func:`load_dataset` reads."""
        out: dict[str, Any] = {"county": self.county.model_dump(mode="json", exclude_none=True)}
        for name in TABLES:
            rows = self.table(name)
            if rows is not None:
                out[name] = [r.model_dump(mode="json", exclude_none=True) for r in rows]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<memory>") -> Dataset:
        """Validate strictly: raise :class:`DataError` listing every problem if any row is bad."""
        result = load_dataset(data, source=source)
        if result.issues:
            raise DataError([i.render() for i in result.issues])
        return result.dataset


_OWN_FIELDS = frozenset(f.name for f in attrs.fields(Dataset)) - {"county", "others"}


@attrs.frozen
class LoadResult:
    """A dataset and the rows that could not become part of it."""

    dataset: Dataset
    issues: tuple[DataIssue, ...]
    rows_in: int  # every row read, the county record included

    @property
    def accounted(self) -> bool:
        """True when every input row is a record or an issue (the nothing-lost invariant)."""
        return self.rows_in == self.dataset.record_count() + self.rejected_rows

    @property
    def rejected_rows(self) -> int:
        """Distinct input rows (file or sheet, table, row) that were rejected."""
        return rejected_row_count(self.issues)


def rejected_row_count(issues: Iterable[DataIssue]) -> int:
    """Distinct rows (source, table, row) the issues reject; issues about no row (a table, a
    column) and warnings are not rejected rows."""
    return len({(i.source, i.table, i.row) for i in issues if i.rejects_row})


_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3
_SHORT.maxstring = 80
_SHORT.maxother = 80
_SHORT.maxlong = 40


def short_repr(value: object) -> str:
    """``repr`` cut to a readable length and depth (a hostile value may be huge or deep)."""
    try:
        return _SHORT.repr(value)
    except (RecursionError, ValueError):
        return f"<{type(value).__name__}>"


def _pydantic_issues(
    exc: ValidationError, *, source: str, table: str, row: int | None, record_id: str | None
) -> list[DataIssue]:
    issues = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or ("<empty name>" if err["loc"] else None)
        msg = err["msg"]
        if err["type"] == "extra_forbidden" and loc:
            cls = TABLES.get(table, County)
            msg = f"unknown field {loc!r}" + did_you_mean(loc, cls.model_fields)
        elif "input" in err and err["type"] != "missing":
            msg = f"{msg} (got {short_repr(err['input'])})"
        issues.append(
            DataIssue(
                source=source, table=table, row=row, record_id=record_id, field=loc, message=msg
            )
        )
    return issues


def _has_empty_text(raw: Mapping[str, Any]) -> bool:
    try:
        return "" in raw.values()  # one C-level pass; the usual record has no empty text
    except (TypeError, ValueError):  # a value whose == is not a truth value (an array)
        return False


def _empty_is_unknown(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """``""`` is unknown (``None``), as an empty ledger cell is: ``{"is_head": ""}`` is not
    read as a wrong true/false value but as no value."""
    cleaned = {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in raw.items()}
    repeated = getattr(raw, "repeated_keys", None)
    if repeated is None:
        return cleaned
    kind: Any = type(raw)  # a JsonObject: its repeated keys are kept
    out = kind(cleaned)
    out.repeated_keys = repeated
    return cast(Mapping[str, Any], out)


def _validate_rows(
    cls: type[R], rows: Iterable[Any], *, source: str, table: str
) -> tuple[list[tuple[int, R]], list[DataIssue], int]:
    """Validate rows; return (row number, record) of the good ones, the issues, rows read."""
    records: list[tuple[int, R]] = []
    issues: list[DataIssue] = []
    n = 0
    seen: dict[str, int] = {}
    if isinstance(rows, Sequence) and set(map(type, rows)) == {cls}:
        # validated already (the ledger readers validate as they read): only the ids to check
        keys = list(map(str, map(operator.attrgetter(cls.key_field), rows)))
        if len(set(keys)) == len(keys):
            return list(enumerate(cast("Sequence[R]", rows), start=1)), issues, len(keys)
    for n, raw in enumerate(rows, start=1):
        if type(raw) is cls:  # validated already (the ledger readers validate as they read)
            rec: R = raw
        else:
            found = _validated(cls, raw, source=source, table=table, row=n)
            if isinstance(found, list):
                issues.extend(found)
                continue
            rec = found
        key = rec.key()
        if key in seen:
            issues.append(
                DataIssue(
                    source,
                    table,
                    n,
                    key,
                    cls.key_field,
                    f"duplicate id {key!r} (first seen in row {seen[key]})",
                )
            )
            continue
        seen[key] = n
        records.append((n, rec))
    return records, issues, n


def _validated(cls: type[R], raw: Any, *, source: str, table: str, row: int) -> R | list[DataIssue]:
    """One row as a record, or its issues."""
    if not isinstance(raw, Mapping):
        return [
            DataIssue(
                source, table, row, None, None, f"expected an object, got {type(raw).__name__}"
            )
        ]
    rid = str(raw.get(cls.key_field)) if raw.get(cls.key_field) else None
    if _has_empty_text(raw):
        raw = _empty_is_unknown(raw)
    repeated = getattr(raw, "repeated_keys", None) if type(raw) is not dict else None
    if repeated:
        return [
            DataIssue(
                source,
                table,
                row,
                rid,
                str(key),
                f"field {key!r} is given twice in this record (字段重复); "
                "the row is not read until one is removed",
            )
            for key, _ in repeated
        ]
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        return _pydantic_issues(exc, source=source, table=table, row=row, record_id=rid)


class _RowNumbers:
    """The row each kept record came from (not a rejected namesake), by (table, id); a table's
    map is made only when an issue needs a row number."""

    def __init__(self) -> None:
        self._records: dict[str, list[tuple[int, Record]]] = {}
        self._rows: dict[str, dict[str, int]] = {}

    def add(self, table: str, records: list[tuple[int, Any]]) -> None:
        self._records[table] = records

    def get(self, key: tuple[str, str]) -> int | None:
        table, record_id = key
        rows = self._rows.get(table)
        if rows is None:
            rows = {rec.key(): n for n, rec in self._records.get(table, ())}
            self._rows[table] = rows
        return rows.get(record_id)


def _any_orphan(
    records: Sequence[Record],
    references: Sequence[tuple[str, str]],
    keys: Mapping[str, set[str]],
    tables: Mapping[str, Sequence[Record] | None],
) -> bool:
    """True when a record names a parent that is not there (as the record-by-record check in
    :func:`load_dataset` decides it), checked a field at a time."""
    for fld, parent in references:
        if parent not in _REQUIRED and tables[parent] is None:
            continue
        named = set(map(operator.attrgetter(fld), records))
        named.discard(None)
        if not named <= keys[parent]:
            return True
    return False


def _people_in_other_households(
    tables: Mapping[str, Sequence[Record] | None],
    row_of: _RowNumbers,
    source: str,
) -> list[DataIssue]:
    """A record naming a household and a person of another household (a payment to P1 of H2
    booked under H1): read as written, with a warning naming both households."""
    found: list[DataIssue] = []
    home: dict[str, str] | None = None
    for name in TABLES:
        refs = dict(REFERENCES[name])
        records = tables.get(name)
        if refs.get("person_id") != "persons" or refs.get("household_id") != "households":
            continue
        if not records:
            continue
        if home is None:
            persons = cast("Sequence[Person]", tables.get("persons") or ())
            home = {p.person_id: p.household_id for p in persons}
        for rec in records:
            person, household = getattr(rec, "person_id", None), getattr(rec, "household_id", None)
            if person is None or household is None or home.get(person, household) == household:
                continue
            found.append(
                DataIssue(
                    source,
                    name,
                    row_of.get((name, rec.key())),
                    rec.key(),
                    "person_id",
                    f"person {person!r} belongs to household {home[person]!r}, not to "
                    f"household {household!r} named in this record (人员不属于该户); the record "
                    "is read as written, check which household is right",
                    severity="warning",
                )
            )
    return found


@gc_paused()
def load_dataset(data: Mapping[str, Any], *, source: str = "<memory>") -> LoadResult:
    """Validate a dataset given as a dict of tables (lists of dicts); never raises for bad rows.

    Layout: ``{"county": {...}, "townships": [...], "villages": [...], "households": [...],
    "persons": [...], "loans": [...], ...}`` — see :data:`TABLES`. A missing optional table
    (``loans``, ``documents``, ...) means "not supplied" and makes the rules that need it
    *unknown*. Unknown top-level keys are issues too.
    """
    issues: list[DataIssue] = []
    rows_in = 0
    for key in data:
        if key != "county" and key not in TABLES:
            hint = did_you_mean(key, [*TABLES, "county"])
            issues.append(DataIssue(source, key, None, None, None, f"unknown table {key!r}{hint}"))
    raw_county = data.get("county")
    rows_in += 1
    try:
        if not isinstance(raw_county, Mapping):
            raise TypeError
        if _has_empty_text(raw_county):
            raw_county = _empty_is_unknown(raw_county)
        for key, _ in getattr(raw_county, "repeated_keys", None) or ():
            issues.append(
                DataIssue(
                    source,
                    "county",
                    1,
                    None,
                    str(key),
                    f"field {key!r} is given twice in the county record (字段重复)",
                )
            )
        if getattr(raw_county, "repeated_keys", None):
            raise DataError([i.render() for i in issues])
        county = County.model_validate(raw_county)
    except (ValidationError, TypeError) as exc:
        if isinstance(exc, ValidationError):
            issues.extend(
                _pydantic_issues(exc, source=source, table="county", row=1, record_id=None)
            )
        else:
            issues.append(DataIssue(source, "county", 1, None, None, "a county record is required"))
        raise DataError([i.render() for i in issues]) from None

    tables: dict[str, list[Record] | None] = {}
    row_of = _RowNumbers()
    for name, cls in TABLES.items():
        raw = data.get(name)
        if raw is None:
            tables[name] = None
            continue
        if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
            issues.append(DataIssue(source, name, None, None, None, "expected a list of records"))
            tables[name] = None
            continue
        recs, bad, n = _validate_rows(cls, raw, source=source, table=name)
        rows_in += n
        issues.extend(bad)
        row_of.add(name, recs)
        tables[name] = [rec for _, rec in recs]

    # Referential and hierarchy checks, parents first, so an orphan's children are orphans too.
    keys: dict[str, set[str]] = {"county": {county.county_id}}
    for name in TABLES:
        recs2 = tables[name]
        if recs2 is None:
            keys[name] = set()
            continue
        key_of = operator.attrgetter(TABLES[name].key_field)
        if not _any_orphan(recs2, REFERENCES[name], keys, tables):
            keys[name] = set(map(str, map(key_of, recs2)))
            continue
        kept: list[Record] = []
        for rec in recs2:
            problem = None
            for fld, parent in REFERENCES[name]:
                ref = getattr(rec, fld)
                if ref is None:
                    continue
                if parent not in _REQUIRED and tables[parent] is None:
                    continue  # e.g. townships not supplied: the village's township is unknown
                if ref not in keys[parent]:
                    problem = (fld, f"{fld}={ref!r} does not exist in {parent}")
                    break
            if problem:
                issues.append(
                    DataIssue(
                        source,
                        name,
                        row_of.get((name, rec.key())),
                        rec.key(),
                        problem[0],
                        f"orphan record: {problem[1]} (层级关系不成立)",
                    )
                )
                continue
            kept.append(rec)
        tables[name] = kept
        keys[name] = {r.key() for r in kept}

    issues.extend(_people_in_other_households(tables, row_of, source))

    final = {
        n: (tuple(v) if v is not None else (() if n in _REQUIRED else None))
        for n, v in tables.items()
    }
    dataset = Dataset(
        county=county,
        others={n: v for n, v in final.items() if n not in _OWN_FIELDS},
        **{n: v for n, v in final.items() if n in _OWN_FIELDS},  # type: ignore[arg-type]
    )
    return LoadResult(dataset=dataset, issues=tuple(issues), rows_in=rows_in)
