"""The domain schema the expression checker sees: entities, their fields, links and collections.

Built from the entity declaration (:mod:`fupin_rules.domain.entities`) and the pydantic records, so a field added to a record is available to policies at once.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from decimal import Decimal
from functools import cache

from fupin_rules.domain.entities import ENTITIES
from fupin_rules.domain.models import Record
from fupin_rules.expr import (
    BOOL,
    DATE,
    NUMBER,
    STRING,
    EntitySchema,
    EnumType,
    ListType,
    Schema,
    Type,
)

__all__ = ["ENTITY_RECORDS", "LINKS", "domain_schema"]

#: entity kind -> record class (from :data:`~fupin_rules.domain.entities.ENTITIES`)
ENTITY_RECORDS: dict[str, type[Record]] = ENTITIES.records

#: entity kind -> (parents: link -> kind, collections: name -> kind)
LINKS: dict[str, tuple[dict[str, str], dict[str, str]]] = ENTITIES.links


def _type_of(annotation: object) -> Type:
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _type_of(inner[0])
    if origin is typing.Annotated:
        return _type_of(args[0])
    if origin is tuple:
        return ListType(_type_of(args[0]))
    if annotation is bool:
        return BOOL
    if annotation in (int, Decimal):
        return NUMBER
    if annotation is str:
        return STRING
    if annotation is dt.date:
        return DATE
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return EnumType(annotation.__name__, tuple(m.value for m in annotation))
    raise TypeError(f"no expression type for annotation {annotation!r}")


@cache
def domain_schema() -> Schema:
    """The schema of every entity kind (fields from the records, links from :data:`LINKS`)."""
    entities = {}
    for kind, cls in ENTITY_RECORDS.items():
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = {name: _type_of(hints[name]) for name in cls.model_fields}
        labels = {name: (f.title or name) for name, f in cls.model_fields.items()}
        parents, collections = LINKS[kind]
        entities[kind] = EntitySchema(
            kind=kind, fields=fields, parents=parents, collections=collections, labels=labels
        )
    return Schema(entities=entities)
