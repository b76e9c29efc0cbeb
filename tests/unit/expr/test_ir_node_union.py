"""``ir.Node`` names every concrete IR class, so a ``match`` ending in ``assert_never`` over it
is checked complete by mypy (the batch compiler's dispatch is one)."""

from __future__ import annotations

import typing

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
