"""Printing then parsing gives back the same IR."""

from __future__ import annotations

from hypothesis import given, settings
from strategies_expr import expressions

from fupin_rules.expr import Expr, parse, to_source


@settings(deadline=None)
@given(expressions)
def test_parse_of_to_source_is_identity(expr: Expr) -> None:
    """Contract, printer.py: `to_source(expr)` is canonical text; `parse(to_source(e)) == e`."""
    text = to_source(expr)
    assert parse(text) == expr
    assert to_source(parse(text)) == text


@settings(deadline=None)
@given(expressions)
def test_equal_trees_hash_equal(expr: Expr) -> None:
    """IR nodes are hashable values; spans do not take part in equality."""
    again = parse(to_source(expr))
    assert hash(again) == hash(expr)
