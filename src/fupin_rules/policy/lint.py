"""Checks that are warnings, not load errors: unused parameters, catalogues and variables, and
status labels that contradict themselves."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fupin_rules.expr import Expr, Path, catalogues_used, params_used, walk
from fupin_rules.policy.model import Policy

__all__ = ["expressions", "status_labels", "unused"]

#: a note that says its reading or value is assumed ("assumed from ...", "Assumed reading")
_ASSUMED_NOTE = re.compile(r"\bassum(e|ed|es|ing|ption)\b", re.IGNORECASE)


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


def status_labels(policy: Policy) -> list[str]:
    """Status labels that contradict themselves (issue 12, principle 3).

    A parameter labelled ``seed`` (stated in the document) whose values are all ``assumed``, and
    a rule, derived variable or catalogue labelled ``seed`` (a variable's default) whose own note
    says it is assumed: a finding resting on them would not say it rests on an assumption.
    Label them ``assumed``.
    """
    out = []
    for name, p in sorted(policy.parameters.items()):
        if p.status == "seed" and p.values and all(v.status == "assumed" for v in p.values):
            out.append(
                f"parameter {name} is labelled seed but every value is assumed; label it "
                f"status: assumed ({p.origin})"
            )
    for r in policy.rules:
        if r.status == "seed" and _ASSUMED_NOTE.search(r.note):
            out.append(
                f"rule {r.id} is labelled seed but its note says it is assumed; label it "
                f"status: assumed ({r.origin})"
            )
    for v in policy.variables:
        if v.status == "seed" and _ASSUMED_NOTE.search(v.note):
            out.append(
                f"variable {v.qualified_name} is labelled seed but its note says it is assumed; "
                f"label it status: assumed ({v.origin})"
            )
    for name, c in sorted(policy.catalogues.items()):
        if c.status == "seed" and _ASSUMED_NOTE.search(c.note):
            out.append(
                f"catalogue {name} is labelled seed but its note says it is assumed; label it "
                f"status: assumed ({c.origin})"
            )
    return out
