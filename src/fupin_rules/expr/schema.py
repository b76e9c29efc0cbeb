"""The domain schema the checker resolves paths against: entities, fields, links, collections.

Built by :func:`fupin_rules.domain.schema.domain_schema`; the policy loader adds derived
variables with :meth:`Schema.with_fields`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from fupin_rules.expr.types import Type

__all__ = ["EntitySchema", "Schema"]


def _frozen_map(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@attrs.frozen
class EntitySchema:
    """One entity kind: its fields' types, parent links, collections and Chinese field labels.

    ``parents`` maps a link name to the parent's kind (``village`` -> ``village``),
    ``collections`` maps a collection name to the child kind (``members`` -> ``person``),
    ``labels`` maps a field to its Chinese label (shown in messages).
    """

    kind: str
    fields: Mapping[str, Type] = attrs.field(converter=_frozen_map)
    parents: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    collections: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    labels: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)

    def names(self) -> list[str]:
        """Every name a path step may use here (fields, parent links, collections)."""
        return [*self.fields, *self.parents, *self.collections]

    def label(self, name: str) -> str:
        """``name`` with its Chinese label, e.g. ``annual_income_yuan (年人均纯收入)``."""
        label = self.labels.get(name)
        return f"{name} ({label})" if label and label != name else name


@attrs.frozen
class Schema:
    """Every entity kind by name."""

    entities: Mapping[str, EntitySchema] = attrs.field(converter=_frozen_map)

    def entity(self, kind: str) -> EntitySchema:
        """The schema of ``kind``; ``KeyError`` naming the known kinds if absent."""
        try:
            return self.entities[kind]
        except KeyError:
            raise KeyError(
                f"no entity kind {kind!r}; known kinds: {', '.join(sorted(self.entities))}"
            ) from None

    def with_fields(
        self,
        kind: str,
        extra_fields: Mapping[str, Type],
        labels: Mapping[str, str] | None = None,
    ) -> Schema:
        """A new schema where ``kind`` also has ``extra_fields`` (e.g. derived variables).

        Re-adding a field with the same type is allowed; ``ValueError`` if a name is already a
        link, a collection or a field of another type.
        """
        old = self.entity(kind)
        clash = sorted(
            name
            for name, t in extra_fields.items()
            if name in old.parents or name in old.collections or old.fields.get(name, t) != t
        )
        if clash:
            raise ValueError(f"{kind} already has {', '.join(clash)}; choose another name")
        new = attrs.evolve(
            old,
            fields={**old.fields, **extra_fields},
            labels={**old.labels, **(labels or {})},
        )
        return Schema({**self.entities, kind: new})
