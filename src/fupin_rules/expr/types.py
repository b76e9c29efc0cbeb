"""Value types of the expression language: ``bool``, ``number``, ``string``, ``date``, enums,
lists, entities and collections.

Types are frozen values; compare them with ``==``. ``str(t)`` gives the spelling used in
messages and in the policy format (``number``, ``enum(Gender)``, ``list[string]``).
"""

from __future__ import annotations

from typing import Final

import attrs

__all__ = [
    "ANY",
    "BOOL",
    "DATE",
    "NUMBER",
    "STRING",
    "CollectionType",
    "EntityType",
    "EnumType",
    "ListType",
    "PrimitiveType",
    "Type",
    "comparable",
]


@attrs.frozen
class Type:
    """Base class of every type."""


@attrs.frozen
class PrimitiveType(Type):
    """``bool``, ``number``, ``string``, ``date`` (and ``any``, the element type of ``[]``)."""

    name: str

    def __str__(self) -> str:
        return self.name


BOOL: Final = PrimitiveType("bool")
NUMBER: Final = PrimitiveType("number")
STRING: Final = PrimitiveType("string")
DATE: Final = PrimitiveType("date")
#: the element type of an empty list literal; compatible with every type
ANY: Final = PrimitiveType("any")


@attrs.frozen
class EnumType(Type):
    """A string restricted to the codes of a code list (``members`` in declaration order)."""

    name: str
    members: tuple[str, ...]

    def __str__(self) -> str:
        return f"enum({self.name})"


@attrs.frozen
class ListType(Type):
    """``list[elem]``."""

    elem: Type

    def __str__(self) -> str:
        return f"list[{self.elem}]"


@attrs.frozen
class EntityType(Type):
    """An entity reached through a parent link (only valid as a step of a path)."""

    kind: str

    def __str__(self) -> str:
        return f"entity({self.kind})"


@attrs.frozen
class CollectionType(Type):
    """A collection of child entities (only valid as an aggregate's first argument)."""

    kind: str

    def __str__(self) -> str:
        return f"collection({self.kind})"


def _textual(t: Type) -> bool:
    return t == STRING or isinstance(t, EnumType)


def comparable(a: Type, b: Type) -> bool:
    """Whether values of types ``a`` and ``b`` may be compared with ``==`` (or be list peers).

    Equal types, string with enum, enums with the same name, and ``any`` with anything.
    """
    if a == ANY or b == ANY or a == b:
        return True
    if isinstance(a, EnumType) and isinstance(b, EnumType):
        return a.name == b.name
    if _textual(a) and _textual(b):
        return True
    if isinstance(a, ListType) and isinstance(b, ListType):
        return comparable(a.elem, b.elem)
    return False
