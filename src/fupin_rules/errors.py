"""The library's exception hierarchy: everything raised on purpose derives from FupinRulesError.

Every message names where the problem is (file:line, record id and field), what was found and
what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "DataError",
    "EngineError",
    "EngineUnavailableError",
    "ExpressionError",
    "ExpressionSyntaxError",
    "ExpressionTypeError",
    "FupinRulesError",
    "PolicyError",
    "PolicyLoadError",
    "PolicyNotFoundError",
    "RunStoreError",
]


class FupinRulesError(Exception):
    """Base class of every error this library raises on purpose."""


class ExpressionError(FupinRulesError):
    """An expression could not be parsed or checked.

    ``origin`` names where the expression came from (``file:line`` of the YAML value), ``line``
    and ``column`` are 1-based positions inside the expression text.
    """

    def __init__(
        self,
        message: str,
        *,
        text: str = "",
        origin: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.text = text
        self.origin = origin
        self.line = line
        self.column = column
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.origin or "<expression>"
        head = f"{where}: {self.message}"
        if not self.text or self.column is None:
            return head
        lines = self.text.splitlines() or [""]
        idx = min(max((self.line or 1) - 1, 0), len(lines) - 1)
        caret = " " * max(self.column - 1, 0) + "^"
        return f"{head}\n    {lines[idx]}\n    {caret}"


class ExpressionSyntaxError(ExpressionError):
    """The expression text is not valid syntax."""


class ExpressionTypeError(ExpressionError):
    """The expression is well formed but does not type-check against the domain schema."""


class PolicyError(FupinRulesError):
    """Problems with a policy package."""


class PolicyNotFoundError(PolicyError):
    """No installed policy package or directory matches the reference."""


class PolicyLoadError(PolicyError):
    """A policy package failed validation; ``problems`` lists every problem found at once."""

    def __init__(self, package: str, problems: Sequence[str]) -> None:
        self.package = package
        self.problems = tuple(problems)
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"policy {package!r} has {len(self.problems)} problem(s):\n{body}")


class DataError(FupinRulesError):
    """Input records failed validation; ``problems`` holds one entry per bad record/field."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        body = "\n".join(f"  - {p}" for p in self.problems[:50])
        more = "" if len(self.problems) <= 50 else f"\n  ... and {len(self.problems) - 50} more"
        super().__init__(f"{len(self.problems)} data problem(s):\n{body}{more}")


class EngineError(FupinRulesError):
    """The inference engine failed for a subject (an action raised, a session broke)."""


class EngineUnavailableError(EngineError):
    """durable-rules is not importable (e.g. on Python 3.13 without the documented build flag)."""


class RunStoreError(FupinRulesError):
    """The run store (an SQLite file) cannot be used: not a run store, damaged, or no such run.

    A file that is not a healthy run store is never written to."""
