"""The interpreter agrees with a plain-Python oracle (None = unknown) written independently."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin_rules.expr import (
    UNKNOWN,
    Binary,
    BoolOp,
    Call,
    Compare,
    Expr,
    Interval,
    Literal,
    Not,
    Path,
    Unary,
    evaluate,
    parse,
    to_source,
)


@attrs.define
class FakeSubject:
    kind: str
    key: str
    values: Mapping[str, Any] = attrs.field(factory=dict)
    kids: Mapping[str, Sequence[FakeSubject]] = attrs.field(factory=dict)

    def value(self, name: str) -> object:
        return self.values.get(name)  # None means missing

    def parent(self, name: str) -> FakeSubject | None:
        return None

    def children(self, name: str) -> Sequence[FakeSubject] | None:
        return self.kids.get(name)


class FakeEnv:
    on = None

    def param(self, name: str) -> None:
        return None

    def catalogue(self, name: str) -> tuple[str, ...]:
        return ()


ENV: Any = FakeEnv()
NUM_FIELDS = ("n0", "n1", "n2")
BOOL_FIELDS = ("b0", "b1", "b2")

# --- typed expression trees with their oracle ---------------------------------------------

Oracle = Callable[[Mapping[str, Any]], Any]  # values -> value, None for unknown

small = st.integers(min_value=0, max_value=20).map(lambda i: Fraction(i, 4))
num_leaves = st.one_of(
    small.map(Literal),
    st.sampled_from(NUM_FIELDS).map(lambda n: Path((n,))),
)


def _num_extend(inner: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.builds(Unary, st.just("-"), inner),
        st.builds(Binary, st.sampled_from(["+", "-", "*", "/"]), inner, inner),
        st.builds(Call, st.just("abs"), st.tuples(inner)),
    )


num_exprs = st.recursive(num_leaves, _num_extend, max_leaves=8)
bool_leaves = st.one_of(
    st.booleans().map(Literal),
    st.sampled_from(BOOL_FIELDS).map(lambda n: Path((n,))),
    st.builds(Compare, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), num_exprs, num_exprs),
    st.sampled_from(NUM_FIELDS + BOOL_FIELDS).map(lambda n: Call("known", (Path((n,)),))),
)


def _bool_extend(inner: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.builds(Not, inner),
        st.builds(
            BoolOp,
            st.sampled_from(["and", "or"]),
            st.lists(inner, min_size=2, max_size=3).map(tuple),
        ),
    )


bool_exprs = st.recursive(bool_leaves, _bool_extend, max_leaves=10)

ARITH: dict[str, Callable[[Fraction, Fraction], Fraction]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}
ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def oracle(expr: Expr, env: Mapping[str, Any]) -> Any:
    """Plain three-valued evaluation: None is unknown."""
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Path):
        return env.get(expr.names[0])
    if isinstance(expr, Unary):
        v = oracle(expr.operand, env)
        return None if v is None else -v
    if isinstance(expr, Call):
        v = oracle(expr.args[0], env)
        if expr.func == "known":
            return v is not None
        return None if v is None else abs(v)
    if isinstance(expr, Binary):
        a, b = oracle(expr.left, env), oracle(expr.right, env)
        if a is None or b is None:
            return None
        if expr.op == "/":
            return None if b == 0 else a / b
        return ARITH[expr.op](a, b)
    if isinstance(expr, Compare):
        a, b = oracle(expr.left, env), oracle(expr.right, env)
        return None if a is None or b is None else ORDER[expr.op](a, b)
    if isinstance(expr, Not):
        v = oracle(expr.operand, env)
        return None if v is None else not v
    if isinstance(expr, BoolOp):
        vals = [oracle(o, env) for o in expr.operands]
        decisive = expr.op == "or"  # True decides `or`, False decides `and`
        if decisive in vals:
            return decisive
        return None if None in vals else not decisive
    raise AssertionError(expr)


def from_runtime(value: Any) -> Any:
    return None if value is UNKNOWN else value


field_values = st.fixed_dictionaries(
    {
        **{n: st.none() | st.integers(-6, 6).map(Decimal) for n in NUM_FIELDS},
        **{n: st.none() | st.booleans() for n in BOOL_FIELDS},
    }
)


@settings(deadline=None)
@given(num_exprs, field_values)
def test_arithmetic_matches_oracle(expr: Expr, values: dict[str, Any]) -> None:
    """Contract: any arithmetic with UNKNOWN is UNKNOWN; division by a known zero is UNKNOWN."""
    subject = FakeSubject("household", "H1", values)
    expected = oracle(expr, {k: None if v is None else Fraction(v) for k, v in values.items()})
    assert from_runtime(evaluate(expr, subject, ENV)) == expected


@settings(deadline=None)
@given(bool_exprs, field_values)
def test_logic_matches_oracle(expr: Expr, values: dict[str, Any]) -> None:
    """Contract: Kleene logic (false and unknown = false, true or unknown = true), comparisons
    with UNKNOWN are UNKNOWN, `known(x)` is never unknown."""
    subject = FakeSubject("household", "H1", values)
    env = {
        k: None if v is None else (v if isinstance(v, bool) else Fraction(v))
        for k, v in values.items()
    }
    assert from_runtime(evaluate(expr, subject, ENV)) == oracle(expr, env)
    # the same holds after printing and parsing again
    assert from_runtime(evaluate(parse(to_source(expr)), subject, ENV)) == oracle(expr, env)


# --- aggregates: enumerate every completion of the unknown booleans ----------------------

children = st.lists(
    st.fixed_dictionaries(
        {
            "x": st.none() | st.integers(-5, 5).map(Decimal),
            "c": st.none() | st.booleans(),
            "f": st.none() | st.booleans(),
        }
    ),
    max_size=5,
)


def completions(kids: list[dict[str, Any]], fields: tuple[str, ...]) -> list[list[dict[str, Any]]]:
    """Every way to fill in the unknown booleans named in ``fields``."""
    holes = [(i, f) for i, kid in enumerate(kids) for f in fields if kid[f] is None]
    out = []
    for bits in itertools.product([False, True], repeat=len(holes)):
        filled = [dict(k) for k in kids]
        for (i, f), bit in zip(holes, bits, strict=True):
            filled[i][f] = bit
        out.append(filled)
    return out


def exact(func: str, kids: list[dict[str, Any]]) -> Any:
    """The aggregate over fully known booleans; None if undefined or a value is unknown."""
    chosen = [k for k in kids if k["f"]]
    if func == "count":
        return Fraction(len(chosen))
    if func == "share":
        return Fraction(sum(1 for k in chosen if k["c"]), len(chosen)) if chosen else None
    if func == "all":
        return all(k["c"] for k in kids)
    if func == "any":
        return any(k["c"] for k in kids)
    values = [k["x"] for k in chosen]
    if None in values:
        return None
    if func == "sum":
        return Fraction(sum(values, Decimal(0)))
    if not values:
        return None
    return Fraction(min(values) if func == "min" else max(values))


AGGREGATE_TEXT = {
    "count": "count(members, f)",
    "share": "share(members, c, f)",
    "sum": "sum(members, x, f)",
    "min": "min(members, x, f)",
    "max": "max(members, x, f)",
    "all": "all(members, c)",
    "any": "any(members, c)",
}


def aggregate_oracle(func: str, kids: list[dict[str, Any]]) -> Any:
    """None if some completion is undefined; the value if all agree; else (lo, hi)."""
    holes = ("c",) if func in ("all", "any") else ("f", "c") if func == "share" else ("f",)
    results = [exact(func, filled) for filled in completions(kids, holes)]
    if None in results:
        return None
    if len(set(results)) == 1:
        return results[0]
    if func in ("all", "any"):
        return None
    return (min(results), max(results))


@pytest.mark.parametrize("func", sorted(AGGREGATE_TEXT))
@settings(deadline=None)
@given(kids=children, k=st.integers(-6, 6))
def test_aggregates_match_enumeration(func: str, kids: list[dict[str, Any]], k: int) -> None:
    """Contract: aggregates with missing parts give the exact interval of possible values;
    a comparison is decided only when every possible value gives the same answer."""
    members = [FakeSubject("person", f"P{i}", kid) for i, kid in enumerate(kids)]
    household = FakeSubject("household", "H1", kids={"members": members})
    expr = parse(AGGREGATE_TEXT[func])
    got = evaluate(expr, household, ENV)
    expected = aggregate_oracle(func, kids)
    if isinstance(got, Interval):
        assert (got.lo, got.hi) == expected
    else:
        assert from_runtime(got) == expected
    if func not in ("all", "any"):
        compared = from_runtime(
            evaluate(
                parse(
                    f"{AGGREGATE_TEXT[func]} >= {k}"
                    if k >= 0
                    else f"{AGGREGATE_TEXT[func]} >= -{-k}"
                ),
                household,
                ENV,
            )
        )
        if expected is None:
            assert compared is None
        else:
            lo, hi = expected if isinstance(expected, tuple) else (expected, expected)
            assert compared == (True if lo >= k else False if hi < k else None)
