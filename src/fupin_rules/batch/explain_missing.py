"""Missing input fields behind unknown conditions (placeholder: filled in below)."""

from __future__ import annotations

from typing import Any

from fupin_rules.batch.compiler import Compiler
from fupin_rules.findings.model import MissingField

__all__ = ["MissingFinder"]


class MissingFinder:
    """Names the input fields behind an unknown condition."""

    def __init__(self, compiler: Compiler) -> None:
        self.compiler = compiler

    def find(
        self, kind: str, subject: str, part: Any, row: dict[str, Any]
    ) -> tuple[MissingField, ...]:
        return ()
