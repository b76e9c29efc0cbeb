"""Hypothesis strategies for random expression IR trees (test-only; not part of the package)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st

from fupin_rules.expr import (
    Aggregate,
    Binary,
    BoolOp,
    Call,
    Catalogue,
    Compare,
    DateLiteral,
    Expr,
    ListExpr,
    Literal,
    Not,
    On,
    Param,
    Path,
    Unary,
)

names = st.sampled_from(["a", "b", "income_yuan", "x_1", "_y", "household", "onset", "ands"])
paths = st.lists(names, min_size=1, max_size=3).map(lambda ns: Path(tuple(ns)))
numbers = st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False).map(
    lambda d: Literal(Fraction(d))
)
strings = st.text(max_size=8).map(Literal)
leaves: st.SearchStrategy[Expr] = st.one_of(
    numbers,
    strings,
    st.booleans().map(Literal),
    st.dates().map(DateLiteral),
    paths,
    st.just(On()),
    st.text(max_size=6).map(Param),
    st.text(max_size=6).map(Catalogue),
)


def _extend(inner: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    aggregate = st.one_of(
        st.builds(Aggregate, st.just("count"), paths, st.none(), st.none() | inner),
        st.builds(
            Aggregate,
            st.sampled_from(["sum", "min", "max", "share"]),
            paths,
            inner,
            st.none() | inner,
        ),
        st.builds(Aggregate, st.sampled_from(["all", "any"]), paths, inner),
    )
    return st.one_of(
        st.builds(Unary, st.just("-"), inner),
        st.builds(Binary, st.sampled_from(["+", "-", "*", "/"]), inner, inner),
        st.builds(
            Compare,
            st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"]),
            inner,
            inner,
        ),
        st.builds(
            BoolOp,
            st.sampled_from(["and", "or"]),
            st.lists(inner, min_size=2, max_size=4).map(tuple),
        ),
        st.builds(Not, inner),
        st.lists(inner, max_size=3).map(lambda items: ListExpr(tuple(items))),
        st.builds(Call, st.sampled_from(["known", "year", "abs"]), st.tuples(inner)),
        st.builds(Call, st.just("coalesce"), st.tuples(inner, inner)),
        aggregate,
    )


expressions: st.SearchStrategy[Expr] = st.recursive(leaves, _extend, max_leaves=25)
