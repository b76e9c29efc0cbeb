"""Bounds on what a policy file may hold (shared by the loader and its fast YAML reader)."""

from __future__ import annotations

__all__ = ["MAX_NUMBER_DIGITS"]

#: Digits of an integer written in a policy file (Python refuses to convert more than 4,300).
MAX_NUMBER_DIGITS = 100
