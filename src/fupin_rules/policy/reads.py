"""What a read of a path means for an explanation: its label and the parameters behind it.

Both engines explain a condition by the values it read. A read of a derived variable (for
example ``village.exit_ready`` read by a county target) stands for every parameter that the
variable's definition uses, directly or through other variables; those parameters belong in
the finding's list of parameters used, with their values and periods. The label is the Chinese
term of the record (or variable) that holds the field, not of the subject the path starts at.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from fupin_rules.expr import params_used, referenced_fields
from fupin_rules.expr.schema import Schema
from fupin_rules.policy.model import Policy

__all__ = ["field_label", "owner_kind", "read_info"]

_lock = threading.Lock()
_closures: dict[str, dict[tuple[str, str], frozenset[str]]] = {}
_infos: dict[tuple[str, str, tuple[str, ...]], tuple[str, tuple[str, ...]]] = {}


def owner_kind(schema: Schema, kind: str, path: Sequence[str]) -> str:
    """The entity kind holding the last field of ``path`` read from an entity of ``kind``."""
    for link in path[:-1]:
        kind = schema.entities[kind].parents[link]
    return kind


def _variable_params(policy: Policy) -> dict[tuple[str, str], frozenset[str]]:
    key = policy.ref + policy.content_hash
    with _lock:
        found = _closures.get(key)
    if found is not None:
        return found
    closure: dict[tuple[str, str], frozenset[str]] = {}
    by_key = {(v.entity, v.name): v for v in policy.variables}
    for v in policy.variables:  # dependency order: a variable's inputs are done before it
        names = set(params_used(v.expr))
        for dep in referenced_fields(v.expr, policy.schema, v.entity):
            if dep in by_key:
                names |= closure.get(dep, frozenset())
        closure[(v.entity, v.name)] = frozenset(names)
    with _lock:
        _closures[key] = closure
    return closure


def read_info(policy: Policy, kind: str, path: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """(label, parameters behind the value) of a path read from an entity of ``kind``."""
    cache_key = (policy.content_hash, kind, path)
    info = _infos.get(cache_key)
    if info is not None:
        return info
    owner = owner_kind(policy.schema, kind, path)
    name = path[-1]
    ent = policy.schema.entities.get(owner)
    var = next((v for v in policy.variables if v.entity == owner and v.name == name), None)
    if ent is not None and name in ent.labels:
        label = ent.labels[name]
    else:
        label = var.title.zh if var is not None else ""
    params = tuple(sorted(_variable_params(policy).get((owner, name), frozenset())))
    info = (label, params)
    with _lock:
        _infos[cache_key] = info
    return info


def field_label(policy: Policy, kind: str, name: str) -> str:
    """The Chinese term of a field (or derived variable) of an entity kind; "" if it has none."""
    return read_info(policy, kind, (name,))[0]
