"""The stratified evaluation plan shared by the engines.

Strata: (1) person and household rules, one unit per household (its members and household-level
records ride along); (2) village rules, one unit per village (village aggregates are derived
variables computed when the village unit opens); (3) county rules. A unit is what one
durable-rules session holds; a failure inside a unit becomes an error for that unit's subjects,
never the end of the run.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from fupin_rules.domain.entities import ENTITIES, STRATA
from fupin_rules.engine.context import Context, RecordSubject
from fupin_rules.policy.model import Policy, Rule

__all__ = ["OWNER", "STRATA", "Unit", "rules_by_entity", "units"]

#: entity kind -> the unit (stratum) its rules are evaluated in
OWNER: dict[str, str] = ENTITIES.owner


@attrs.frozen
class Unit:
    """One session's worth of work: the owner subject and (subject, rules) to evaluate."""

    stratum: str
    owner: RecordSubject
    work: tuple[tuple[RecordSubject, tuple[Rule, ...]], ...]

    def subjects(self) -> Iterator[RecordSubject]:
        """Every subject of the unit."""
        for s, _ in self.work:
            yield s


_by_entity: dict[str, dict[str, tuple[Rule, ...]]] = {}


def rules_by_entity(policy: Policy) -> dict[str, tuple[Rule, ...]]:
    """The policy's rules grouped by entity kind, in policy order (cached per policy version)."""
    key = policy.ref + policy.content_hash
    found = _by_entity.get(key)
    if found is not None:
        return found
    out: dict[str, list[Rule]] = {}
    for r in policy.rules:
        out.setdefault(r.entity, []).append(r)
    grouped = {k: tuple(v) for k, v in out.items()}
    _by_entity[key] = grouped
    return grouped


def _member_kinds(stratum: str) -> list[tuple[str, str]]:
    """(entity kind, collection on the owner) of the records that ride along with an owner."""
    return ENTITIES.members(stratum)


def units(ctx: Context, stratum: str, keys: list[str] | None = None) -> Iterator[Unit]:
    """The units of one stratum (all owners, or only ``keys``), in id order."""
    by_entity = rules_by_entity(ctx.policy)
    members = [(k, c) for k, c in _member_kinds(stratum) if k in by_entity]
    owner_rules = by_entity.get(stratum, ())
    if keys is None:
        keys = sorted(ctx.index.by_id[stratum])
    for key in keys:
        owner = ctx.subject(stratum, key)
        if owner is None:
            continue
        work: list[tuple[RecordSubject, tuple[Rule, ...]]] = []
        for kind, coll in members:
            for child in owner.children(coll) or ():
                work.append((child, by_entity[kind]))
        if owner_rules:
            work.append((owner, owner_rules))
        if work:
            yield Unit(stratum, owner, tuple(work))
