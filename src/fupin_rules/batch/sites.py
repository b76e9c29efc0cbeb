"""Read sites, recorded by the batch compiler while it compiles (the explanation plan).

The reference engine traces every leaf its interpreter reads. The batch compiler finds the same
leaves in the walk that compiles an expression: each *read site* (a path, an aggregate, a
parameter or a ``done_by()`` deadline at the subject's scope) is recorded with its value and
its *reach*, whether the interpreter evaluates it for a subject given the short-circuits of
``and``/``or`` and ``coalesce`` (a Boolean column relative to the expression's own root; None:
always). An aggregate's value and filter are recorded in the child scope when the aggregate is
planned (:class:`AggregateSites`), a derived variable's expression when it is compiled, and a
rule's parts when :func:`fupin_rules.batch.engine.compile_rule` compiles them
(:class:`RuleSites`). The explainer (:mod:`fupin_rules.batch.explain`) and the missing-data
finder (:mod:`fupin_rules.batch.explain_missing`) only read these records: no second walk.
"""

from __future__ import annotations

import attrs
import polars as pl

from fupin_rules.batch.values import Value
from fupin_rules.expr.ir import Aggregate, Expr

__all__ = [
    "AggregateSites",
    "ExprSites",
    "Recorder",
    "RuleSites",
    "Site",
    "both",
    "not_false",
    "not_true",
]


@attrs.frozen
class Site:
    """A leaf the interpreter may read.

    ``tag``: ``field`` (a path), ``agg`` (an aggregate; ``aggregate`` is its child-scope record),
    ``param``, ``deadline`` (a ``done_by()``: ``value`` is the record's, ``deadline`` the
    deadline's) or ``params`` (the parameters read inside the aggregate ``node``'s child scope:
    the explainer expands it into ``param`` sites, see
    :func:`fupin_rules.batch.explain_sites.expand`).
    """

    tag: str
    key: str
    #: whether it is read, relative to the recorded expression's root (None: always)
    reach: pl.Expr | None
    value: Value | None = None
    last: str = ""
    node: Expr | None = None
    deadline: Value | None = None
    aggregate: AggregateSites | None = None


@attrs.frozen(eq=False)
class ExprSites:
    """The read sites of one expression at one kind, in evaluation order."""

    kind: str
    expr: Expr
    sites: tuple[Site, ...]


@attrs.frozen(eq=False)
class AggregateSites:
    """What an aggregate (local to ``owner``: its collection is one name) reads per child."""

    owner: str
    node: Aggregate
    child: str
    #: the compiled filter over the child frame (null = unknown), None without a filter
    filter_value: pl.Expr | None
    filter_sites: ExprSites | None
    value_sites: ExprSites | None
    #: whether a parameter is read anywhere in the value or filter (nested aggregates included)
    has_params: bool


@attrs.frozen(eq=False)
class RuleSites:
    """A rule's compiled parts and their read sites, as compiling the rule recorded them."""

    applies: pl.Expr | None
    conditions: tuple[pl.Expr, ...]
    applies_sites: ExprSites | None
    condition_sites: tuple[ExprSites, ...]
    amount_sites: ExprSites | None
    output_sites: tuple[ExprSites, ...]


def both(a: pl.Expr | None, b: pl.Expr | None) -> pl.Expr | None:
    """The conjunction of two reaches (None: always)."""
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def not_false(b: pl.Expr) -> pl.Expr:
    """True where ``b`` is not false (true or unknown)."""
    return b.is_null() | b


def not_true(b: pl.Expr) -> pl.Expr:
    """True where ``b`` is not true (false or unknown)."""
    return b.is_null() | ~b


@attrs.define
class Recorder:
    """Where the compiler's walk appends the sites it passes, and their current reach."""

    out: list[Site] = attrs.field(factory=list)
    reach: pl.Expr | None = None

    def under(self, reach: pl.Expr) -> Recorder:
        """A recorder into the same list whose sites are reached only where ``reach`` is."""
        return Recorder(self.out, both(self.reach, reach))

    def add(self, site: Site) -> None:
        self.out.append(site)

    def done(self, kind: str, expr: Expr) -> ExprSites:
        """The recorded sites of ``expr`` at ``kind``."""
        return ExprSites(kind, expr, tuple(self.out))
