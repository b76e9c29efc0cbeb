"""Static analysis of a policy for a live session: aggregates per owner and collection, upward
reads, subject depths (see :mod:`fupin_rules.engine.live`)."""

from __future__ import annotations

from fupin_rules.errors import FupinRulesError
from fupin_rules.expr import ir
from fupin_rules.policy.model import Policy

# --- static analysis of the policy -----------------------------------------------------------


def _scoped_walk(
    policy: Policy,
    expr: ir.Expr,
    kind: str,
    aggregates: dict[tuple[str, str], list[ir.Aggregate]],
    reads_up: dict[str, set[tuple[str, bool]]],
    where: str,
) -> None:
    """Record the aggregates by (owner kind, collection) and which ancestor kinds ``kind``
    reads through parent links; refuse aggregates over another subject's collection."""
    entities = policy.schema.entities
    if isinstance(expr, ir.Aggregate):
        names = expr.collection.names
        if len(names) != 1:
            raise FupinRulesError(
                f"{where}: live sessions keep aggregates over the subject's own collections; "
                f"{expr.collection.dotted} reaches another subject's collection"
            )
        aggregates.setdefault((kind, names[0]), []).append(expr)
        child = entities[kind].collections[names[0]]
        for sub in (expr.value, expr.filter):
            if sub is not None:
                _scoped_walk(policy, sub, child, aggregates, reads_up, where)
        return
    if isinstance(expr, ir.Path):
        k = kind
        names = expr.names
        for i, name in enumerate(names[:-1]):
            parent = entities[k].parents.get(name)
            if parent is None:
                break
            if k != kind:  # the link field of an ancestor on the way
                reads_up.setdefault(kind, set()).add((k, False))
            k = parent
            if i == len(names) - 2:
                is_var = any(v.entity == k and v.name == names[-1] for v in policy.variables)
                reads_up.setdefault(kind, set()).add((k, is_var))
        return
    for sub in ir.children(expr):
        _scoped_walk(policy, sub, kind, aggregates, reads_up, where)


def _depths(policy: Policy) -> dict[str, int]:
    entities = policy.schema.entities
    memo: dict[str, int] = {}

    def depth(k: str, seen: frozenset[str] = frozenset()) -> int:
        if k in memo:
            return memo[k]
        parents = [p for p in entities[k].parents.values() if p not in seen]
        d = 0 if not parents else 1 + max(depth(p, seen | {k}) for p in parents)
        memo[k] = d
        return d

    return {k: depth(k) for k in entities}
