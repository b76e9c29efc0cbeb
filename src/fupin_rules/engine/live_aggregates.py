"""Incremental aggregates of a live session: per-child contributions and running totals
(see :mod:`fupin_rules.engine.live`)."""

from __future__ import annotations

import bisect
from fractions import Fraction
from typing import Any

from fupin_rules.engine.drill import DrillSpec, display_text
from fupin_rules.expr import UNKNOWN, FieldRead, Interval, ParamRead, Trace, ir
from fupin_rules.expr.trace import Undefined


class _Capture(Trace):
    """What one child's evaluation inside an aggregate forwards to the aggregate's trace."""

    __slots__ = ()

    def record(self, read: Any) -> None:
        if isinstance(read, FieldRead):
            if read.value is UNKNOWN:
                self.reads.append(read)
        elif isinstance(read, ParamRead | Undefined):
            self.reads.append(read)


def _truth(fn: Any, s: Any, e: Any, t: Any) -> Any:
    if fn is None:
        return True
    v = fn(s, e, t)
    return UNKNOWN if v is UNKNOWN else bool(v)


def _bounds(x: Any) -> tuple[Fraction, Fraction, int]:
    if isinstance(x, Interval):
        return x.lo, x.hi, x.missing
    return x, x, 0


_ZERO = Fraction(0)


def _contribution(
    func: str, value: Any, filt: Any, c: Any, e: Any
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A child's additive contribution to an aggregate (mirrors the interpreter's reducers) and
    the reads it forwards to the aggregate's trace."""
    cap = _Capture()
    if func == "count":
        if filt is None:
            return (1, 0, 0), ()
        f = filt(c, e, cap)
        return (1, int(f is True), int(f is UNKNOWN)), tuple(cap.reads)
    if func == "sum":
        f = _truth(filt, c, e, cap)
        if f is False:
            return (_ZERO, _ZERO, 0, 0), tuple(cap.reads)
        v = value(c, e, cap)
        if v is UNKNOWN:
            return (_ZERO, _ZERO, 1, 1), tuple(cap.reads)
        vlo, vhi, vm = _bounds(v)
        if f is True:
            return (vlo, vhi, 1 if vm else 0, 0), tuple(cap.reads)
        return (min(vlo, _ZERO), max(vhi, _ZERO), 1, 0), tuple(cap.reads)
    if func == "share":
        # num, den, optional_in, optional_out, optional_maybe, maybe
        f = _truth(filt, c, e, cap)
        if f is False:
            return (0, 0, 0, 0, 0, 0), tuple(cap.reads)
        v = value(c, e, cap)
        if f is True:
            return (int(v is True), 1, 0, 0, 0, int(v is UNKNOWN)), tuple(cap.reads)
        if v is True:
            return (0, 0, 1, 0, 0, 0), tuple(cap.reads)
        if v is False:
            return (0, 0, 0, 1, 0, 0), tuple(cap.reads)
        return (0, 0, 0, 0, 1, 0), tuple(cap.reads)
    # all / any: (missing, decided) with decisive False for all, True for any
    v = value(c, e, cap)
    decisive = func == "any"
    return (int(v is UNKNOWN), int(v is decisive)), tuple(cap.reads)


def _named_part(node: ir.Aggregate, spec: DrillSpec) -> tuple[int, ...] | None:
    """The contribution of a child the drill-down names (the child's test is true), or None
    when the spec's test is not one the plan builds for this aggregate."""
    test, func = spec.test, node.func
    if func == "count":
        return (1, 1, 0) if node.filter is not None and test == node.filter else None
    if func in ("all", "any"):
        assert node.value is not None
        if test == ir.Not(node.value):  # named: the value is false
            return (0, 1) if func == "all" else (0, 0)
        if test == node.value:  # named: the value is true
            return (0, 0) if func == "all" else (0, 1)
        return None
    if func == "share":
        assert node.value is not None
        more = ir.Not(node.value)
        wanted_more: ir.Expr
        wanted_fewer: ir.Expr
        if node.filter is None:
            wanted_more, wanted_fewer = more, node.value
        else:
            wanted_more = ir.BoolOp("and", (node.filter, more))
            wanted_fewer = ir.BoolOp("and", (node.filter, node.value))
        if test == wanted_more:
            return (0, 1, 0, 0, 0, 0)
        if test == wanted_fewer:
            return (1, 1, 0, 0, 0, 0)
    return None


def _child_kind(kids: Any) -> str | None:
    for c in kids:
        return str(c.kind)
    return None


def _shown(child: Any, show: str | None) -> str:
    """A child's display text (what a drill-down names it by)."""
    return display_text(child.value(show)) if show else ""


def _result(func: str, has_filter: bool, total: list[Any]) -> tuple[Any, int]:
    """The aggregate's value and missing count from the running totals (the reducers' tails)."""
    if func == "count":
        n, sure, maybe = total
        if not has_filter:
            return Fraction(n), 0
        if maybe == 0:
            return Fraction(sure), 0
        return Interval(Fraction(sure), Fraction(sure + maybe), maybe), maybe
    if func == "sum":
        lo, hi, missing, unbounded = total
        if unbounded:
            return UNKNOWN, missing
        return (lo if lo == hi else Interval(lo, hi, missing)), missing
    if func == "share":
        num, den, oin, oout, omaybe, maybe = total
        missing = maybe + oin + oout + omaybe
        if den == 0:
            return UNKNOWN, missing
        if missing == 0:
            return Fraction(num, den), 0
        lo = Fraction(num, den + oout + omaybe)
        hi = Fraction(num + maybe + oin + omaybe, den + oin + omaybe)
        return (lo if lo == hi else Interval(lo, hi, missing)), missing
    missing, decided = total
    decisive = func == "any"
    if decided:
        return decisive, missing
    return (UNKNOWN if missing else not decisive), missing


class _Aggregate:
    """One aggregate node on one owner: each child's contribution, the running totals, and
    the children whose evaluation forwarded reads to the trace (in table order)."""

    __slots__ = ("by_part", "contrib", "func", "has_filter", "reads", "total")

    def __init__(self, func: str, has_filter: bool) -> None:
        self.func = func
        self.has_filter = has_filter
        #: child key -> (part, forwarded reads, table order, display text): a child named by a
        #: drill-down whose display text changes re-fires the owner too
        self.contrib: dict[str, tuple[tuple[Any, ...], tuple[Any, ...], int, str]] = {}
        self.reads: dict[int, tuple[Any, ...]] = {}
        self.total: list[Any] = []
        #: count/all/any/share: the children by contribution, in table order, so a drill-down
        #: names them without visiting the others (None for sum, min, max)
        self.by_part: dict[tuple[Any, ...], list[tuple[int, str]]] | None = (
            {} if func in ("count", "all", "any", "share") else None
        )

    def add(
        self, key: str, seq: int, part: tuple[Any, ...], reads: tuple[Any, ...], shown: str = ""
    ) -> None:
        if not self.total:
            self.total = list(part)
        else:
            self.total = [a + b for a, b in zip(self.total, part, strict=True)]
        self.contrib[key] = (part, reads, seq, shown)
        if self.by_part is not None:
            bisect.insort(self.by_part.setdefault(part, []), (seq, key))
        if reads:
            self.reads[seq] = reads

    def remove(self, key: str) -> None:
        got = self.contrib.pop(key, None)
        if got is None:
            return
        part, _, seq, _ = got
        self.total = [a - b for a, b in zip(self.total, part, strict=True)]
        if self.by_part is not None:
            same = self.by_part[part]
            del same[bisect.bisect_left(same, (seq, key))]
        self.reads.pop(seq, None)


_EMPTY: dict[str, tuple[Any, ...]] = {
    "count": (0, 0, 0),
    "sum": (_ZERO, _ZERO, 0, 0),
    "share": (0, 0, 0, 0, 0, 0),
    "all": (0, 0),
    "any": (0, 0),
}
