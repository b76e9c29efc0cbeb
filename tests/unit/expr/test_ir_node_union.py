"""``ir.Node`` names every concrete IR class, so a ``match`` ending in ``assert_never`` over it
is checked complete by mypy (the batch compiler's dispatch is one)."""

from __future__ import annotations

import typing

import pytest

from fupin_rules.expr import ir


def _subclasses(cls: type) -> set[type]:
    out: set[type] = set()
    for sub in cls.__subclasses__():
        out |= {sub, *_subclasses(sub)}
    return out


def test_node_union_lists_every_expression_class() -> None:
    assert set(typing.get_args(ir.Node)) == _subclasses(ir.Expr)


def test_as_node_returns_the_node_itself() -> None:
    node = ir.Not(ir.Literal(True))
    assert ir.as_node(node) is node


def test_walkers_refuse_what_is_no_node() -> None:
    from fupin_rules.expr.interpreter import compile_expr
    from fupin_rules.expr.printer import to_source

    for walker in (ir.children, to_source, compile_expr):
        with pytest.raises(TypeError, match="not an expression node"):
            walker(object())  # type: ignore[arg-type]
