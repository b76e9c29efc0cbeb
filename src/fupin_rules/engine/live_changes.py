"""The changes a live session takes and the results it returns
(see :mod:`fupin_rules.engine.live`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from pydantic import ValidationError

from fupin_rules.domain.dataset import TABLES
from fupin_rules.domain.models import County, Record
from fupin_rules.errors import DataError
from fupin_rules.findings.model import Finding

# --- changes -------------------------------------------------------------------------------


@attrs.frozen
class Change:
    """One record change: an upsert (``record`` given) or a delete (``key`` given) in ``table``.

    ``table`` is a table name of :data:`~fupin_rules.domain.dataset.TABLES` or ``"county"``
    (upsert only). Build them with :meth:`upsert` and :meth:`delete`.
    """

    table: str
    record: Record | None = None
    key: str | None = None

    @classmethod
    def upsert(cls, table: str, record: Record | Mapping[str, Any]) -> Change:
        """Insert or replace a record (a dict is validated like an input row)."""
        model = County if table == "county" else TABLES.get(table)
        if model is None:
            raise DataError(
                [f"change: unknown table {table!r} (expected county or {', '.join(TABLES)})"]
            )
        if isinstance(record, Record):
            if not isinstance(record, model):
                raise DataError([f"change: a {type(record).__name__} cannot go in table {table!r}"])
            return cls(table, record, record.key())
        try:
            rec = model.model_validate(dict(record))
        except ValidationError as exc:
            rid = record.get(model.key_field) if isinstance(record, Mapping) else None
            raise DataError(
                [
                    f"change {table}:{rid}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                    for e in exc.errors()
                ]
            ) from None
        return cls(table, rec, rec.key())

    @classmethod
    def delete(cls, table: str, key: str) -> Change:
        """Delete the record ``key`` of ``table`` (its children become orphans)."""
        if table not in TABLES:
            raise DataError([f"change: cannot delete from table {table!r}"])
        return cls(table, None, key)


@attrs.frozen
class FindingChange:
    """A finding that changed: ``before`` or ``after`` is None when the finding appeared or went
    away (its subject was added, deleted or orphaned)."""

    rule_id: str
    subject_kind: str
    subject_id: str
    before: Finding | None
    after: Finding | None


@attrs.frozen
class ChangeResult:
    """What :meth:`Session.apply` did."""

    changed: tuple[FindingChange, ...]
    retracted: int
    asserted: int
    rules_fired: int
    subjects_refired: int
    orphans: tuple[tuple[str, str], ...] = ()
