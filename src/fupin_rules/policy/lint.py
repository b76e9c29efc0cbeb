"""Checks that are warnings, not load errors: unused parameters, catalogues and variables."""

from __future__ import annotations

from collections.abc import Iterator

from fupin_rules.expr import Expr, Path, catalogues_used, params_used, walk
from fupin_rules.policy.model import Policy

__all__ = ["expressions", "unused"]


def expressions(policy: Policy) -> Iterator[tuple[str, Expr]]:
    """Every expression of the policy with a label saying where it is."""
    for v in policy.variables:
        yield f"variable {v.qualified_name}", v.expr
    for r in policy.rules:
        for where, e in r.expressions():
            yield f"rule {r.id} {where}", e


def unused(policy: Policy) -> list[str]:
    """Parameters, catalogues and derived variables that no expression uses."""
    used_params: set[str] = set()
    used_cats: set[str] = set()
    names: set[str] = set()
    for _, e in expressions(policy):
        used_params |= params_used(e)
        used_cats |= catalogues_used(e)
        for node in walk(e):
            if isinstance(node, Path):
                names.update(node.names)
    out = [
        f"parameter {p} is not used by any expression ({policy.parameters[p].origin})"
        for p in sorted(set(policy.parameters) - used_params)
    ]
    out += [
        f"catalogue {c} is not used by any expression ({policy.catalogues[c].origin})"
        for c in sorted(set(policy.catalogues) - used_cats)
    ]
    out += [
        f"variable {v.qualified_name} is not used by any expression ({v.origin})"
        for v in policy.variables
        if v.name not in names
    ]
    return out
