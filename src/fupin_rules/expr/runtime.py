"""What the interpreter needs from its caller: the ``Subject`` evaluated and the ``Environment``.

Both are ``typing.Protocol``s: any object with these members works (the inference engine's
facts, the test suite's fakes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

__all__ = ["Environment", "ParamValue", "Subject"]


class Subject(Protocol):
    """An entity being evaluated (a person, household, village, ...)."""

    @property
    def kind(self) -> str:
        """The entity kind, e.g. ``"household"``."""
        ...

    @property
    def key(self) -> str:
        """The domain id, e.g. ``"H0001"``."""
        ...

    def value(self, name: str) -> object:
        """A field or derived variable; ``UNKNOWN`` (or ``None``) if missing."""
        ...

    def parent(self, name: str) -> Subject | None:
        """The entity behind a parent link; ``None`` if it is unknown."""
        ...

    def children(self, name: str) -> Sequence[Subject] | None:
        """The members of a collection; ``None`` if the table was not supplied."""
        ...


class ParamValue(Protocol):
    """A parameter resolved at a date, with the period its value holds for."""

    @property
    def name(self) -> str:
        """The parameter's name."""
        ...

    @property
    def value(self) -> object:
        """The value (Fraction/Decimal/int, bool, str, date or tuple)."""
        ...

    @property
    def start(self) -> dt.date | None:
        """First day the value holds (``None`` when there is no value on the date)."""
        ...

    @property
    def end(self) -> dt.date | None:
        """Last day the value holds (inclusive), ``None`` if open-ended."""
        ...


class Environment(Protocol):
    """The query's context: the as-of date, parameters and catalogues."""

    @property
    def on(self) -> dt.date:
        """The as-of date."""
        ...

    def param(self, name: str) -> ParamValue | None:
        """The parameter resolved at ``on``; ``None`` if it has no value then (-> unknown)."""
        ...

    def catalogue(self, name: str) -> Sequence[str]:
        """The catalogue's codes."""
        ...
