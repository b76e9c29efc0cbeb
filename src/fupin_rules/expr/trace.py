"""What an evaluation read: fields, parameters, aggregates and undefined operations.

Pass a :class:`Trace` to :func:`fupin_rules.expr.evaluate`; findings use ``trace.reads`` to say
which values decided a condition and which inputs were missing.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

import attrs

from fupin_rules.expr.values import UNKNOWN

__all__ = ["AggregateRead", "DeadlineRead", "FieldRead", "ParamRead", "Read", "Trace", "Undefined"]


@attrs.frozen
class FieldRead:
    """A field read by ``path`` starting at the subject ``subject_kind``/``subject_key``.

    Inside an aggregate the subject is the child; there only unknown values are recorded.
    """

    subject_kind: str
    subject_key: str
    path: tuple[str, ...]
    value: object


@attrs.frozen
class ParamRead:
    """A parameter's value and the period it holds for (``None`` if it has no value at ``on``)."""

    name: str
    value: object
    start: dt.date | None
    end: dt.date | None


@attrs.frozen
class AggregateRead:
    """An aggregate: its canonical source text, result, number of children and missing parts.

    ``count`` is ``None`` when the collection itself is unknown.
    """

    source: str
    value: object
    count: int | None
    missing: int


@attrs.frozen
class Undefined:
    """An operation without a value, e.g. ``division by zero``; the result was ``UNKNOWN``."""

    source: str
    reason: str


@attrs.frozen
class DeadlineRead:
    """A ``done_by(record, deadline)`` at the subject's scope: the record's path (from the
    subject ``subject_kind``/``subject_key``), the record date and the deadline as read
    (``UNKNOWN`` when missing), and the canonical source of the call."""

    subject_kind: str
    subject_key: str
    path: tuple[str, ...]
    record: object
    deadline: object
    source: str


Read: TypeAlias = FieldRead | ParamRead | AggregateRead | Undefined | DeadlineRead


class Trace:
    """Collects the reads of one or more evaluations, in order, in ``reads``."""

    __slots__ = ("reads",)

    def __init__(self) -> None:
        self.reads: list[Read] = []

    def record(self, read: Read) -> None:
        """Append ``read``."""
        self.reads.append(read)

    def missing(self) -> list[FieldRead | ParamRead]:
        """The field and parameter reads whose value was unknown."""
        return [
            r for r in self.reads if isinstance(r, FieldRead | ParamRead) and r.value is UNKNOWN
        ]


class ChildTrace(Trace):
    """The trace inside an aggregate: keeps unknown field values, each parameter once and
    undefined operations, so a trace stays small over large collections."""

    __slots__ = ("_params", "_parent")

    def __init__(self, parent: Trace) -> None:
        super().__init__()
        self._parent = parent
        self._params: set[str] = set()

    def record(self, read: Read) -> None:
        """Forward ``read`` to the parent trace if it is worth keeping."""
        if isinstance(read, FieldRead):
            if read.value is UNKNOWN:
                self._parent.record(read)
        elif isinstance(read, ParamRead):
            if read.name not in self._params:
                self._params.add(read.name)
                self._parent.record(read)
        elif isinstance(read, Undefined):
            self._parent.record(read)
