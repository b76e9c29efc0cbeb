"""Interpreter: three-valued semantics of docs/design/expression-language.md."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs
import pytest

from fupin_rules.expr import (
    UNKNOWN,
    AggregateRead,
    FieldRead,
    Interval,
    ParamRead,
    Trace,
    Undefined,
    evaluate,
    k_and,
    k_not,
    k_or,
    parse,
    to_decimal,
    to_value,
    truth,
)


@attrs.define
class Subject:
    kind: str
    key: str
    values: Mapping[str, Any] = attrs.field(factory=dict)
    parents: Mapping[str, Subject | None] = attrs.field(factory=dict)
    kids: Mapping[str, Sequence[Subject] | None] = attrs.field(factory=dict)

    def value(self, name: str) -> object:
        return self.values.get(name, UNKNOWN)

    def parent(self, name: str) -> Subject | None:
        return self.parents.get(name)

    def children(self, name: str) -> Sequence[Subject] | None:
        return self.kids.get(name)


@attrs.frozen
class Resolved:
    name: str
    value: object
    start: dt.date
    end: dt.date | None


@attrs.define
class Env:
    on: dt.date = dt.date(2017, 9, 1)
    params: Mapping[str, Resolved] = attrs.field(factory=dict)
    catalogues: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)

    def param(self, name: str) -> Resolved | None:
        return self.params.get(name)

    def catalogue(self, name: str) -> tuple[str, ...]:
        return self.catalogues[name]


ENV = Env(
    params={
        "line_yuan": Resolved("line_yuan", Decimal("3026"), dt.date(2017, 1, 1), None),
        "rate": Resolved("rate", Decimal("0.02"), dt.date(2015, 1, 1), dt.date(2017, 12, 31)),
    },
    catalogues={"diseases": ("hypertension", "diabetes")},
)


def ev(text: str, subject: Subject | None = None, trace: Trace | None = None) -> Any:
    return evaluate(parse(text), subject or Subject("household", "H1"), ENV, trace)


T, F, U = True, False, UNKNOWN
TRUTHS = [T, F, U]


@pytest.mark.parametrize("a", TRUTHS)
@pytest.mark.parametrize("b", TRUTHS)
def test_kleene_truth_tables(a: Any, b: Any) -> None:
    """Contract: false and unknown = false, true or unknown = true, not unknown = unknown."""
    as_int = {T: 2, U: 1, F: 0}
    back = {2: T, 1: U, 0: F}
    expected_and = back[min(as_int[a], as_int[b])]
    expected_or = back[max(as_int[a], as_int[b])]
    assert k_and(a, b) is expected_and
    assert k_or(a, b) is expected_or
    subject = Subject("household", "H1", {"a": None if a is U else a, "b": None if b is U else b})
    assert ev("a and b", subject) is expected_and
    assert ev("a or b", subject) is expected_or
    assert ev("not a", subject) is k_not(a)
    assert k_not(a) is back[2 - as_int[a]]


def test_unknown_has_no_truth_value() -> None:
    with pytest.raises(TypeError, match="no truth value"):
        bool(UNKNOWN)
    assert truth(UNKNOWN) is UNKNOWN
    with pytest.raises(TypeError):
        truth(Fraction(1))


def test_numbers_are_exact() -> None:
    assert ev("1 / 50 < 0.02") is False
    assert ev("1 / 50 == 0.02") is True
    assert ev("0.1 + 0.2 == 0.3") is True
    assert ev('param("rate") * 100') == Fraction(2)
    subject = Subject("household", "H1", {"income_yuan": Decimal("3025.99")})
    assert ev('income_yuan < param("line_yuan")', subject) is True


def test_unknown_propagates_through_arithmetic_and_comparison() -> None:
    assert ev("missing + 1") is UNKNOWN
    assert ev("missing * 0 == 0") is UNKNOWN
    assert ev("-missing") is UNKNOWN
    assert ev("known(missing)") is False
    assert ev("coalesce(missing, 7)") == 7


def test_division_by_zero_is_unknown_and_recorded() -> None:
    trace = Trace()
    assert ev("5 / (2 - 2)", trace=trace) is UNKNOWN
    assert trace.reads == [Undefined("5 / (2 - 2)", "division by zero")]
    assert ev("5 / (2 - 2) > 1 or true") is True


def test_share_with_unknown_members_is_an_interval() -> None:
    """Contract: 30 insured of 32 with 2 unknown is [30/32, 32/32]; == 1 unknown, >= 0.5 true."""
    members = [Subject("person", f"P{i}", {"insured": True}) for i in range(30)]
    members += [Subject("person", f"P{i}", {}) for i in range(30, 32)]
    household = Subject("household", "H1", kids={"members": members})
    assert ev("share(members, insured)", household) == Interval(Fraction(30, 32), Fraction(1), 2)
    assert ev("share(members, insured) == 1", household) is UNKNOWN
    assert ev("share(members, insured) >= 0.5", household) is True
    assert ev("count(members, insured)", household) == Interval(Fraction(30), Fraction(32), 2)
    assert ev("count(members, insured) >= 30", household) is True
    assert ev("count(members, insured) > 30", household) is UNKNOWN
    assert ev("count(members)", household) == 32
    assert ev("all(members, insured)", household) is UNKNOWN
    assert ev("any(members, insured)", household) is True
    trace = Trace()
    ev("share(members, insured) >= 0.5", household, trace)
    assert trace.reads[-1] == AggregateRead(
        "share(members, insured)", Interval(Fraction(30, 32), Fraction(1), 2), 32, 2
    )
    assert [r.subject_key for r in trace.missing() if isinstance(r, FieldRead)] == ["P30", "P31"]


def test_share_with_a_partly_unknown_filter_has_exact_bounds() -> None:
    def person(key: str, insured: bool | None, adult: bool | None) -> Subject:
        return Subject("person", key, {"insured": insured, "adult": adult})

    members = [
        person("a", True, True),
        person("b", False, True),
        person("c", True, None),  # counts in both or neither
        person("d", False, None),  # only in the denominator, if at all
        person("e", None, False),  # filtered out
    ]
    household = Subject("household", "H1", kids={"members": members})
    # smallest: 1 / (2 + d) = 1/3; largest: (1 + c) / (2 + c) = 2/3
    assert ev("share(members, insured, adult)", household) == Interval(
        Fraction(1, 3), Fraction(2, 3), 2
    )
    assert ev("share(members, insured, adult and not adult)", household) is UNKNOWN


def test_sum_min_max_and_unknown_collections() -> None:
    kids = [
        Subject("person", "a", {"x": Decimal(5), "keep": True}),
        Subject("person", "b", {"x": Decimal(-2), "keep": None}),
        Subject("person", "c", {"x": Decimal(9), "keep": False}),
    ]
    household = Subject("household", "H1", kids={"members": kids, "loans": []})
    assert ev("sum(members, x)", household) == 12
    assert ev("sum(members, x, keep)", household) == Interval(Fraction(3), Fraction(5), 1)
    assert ev("min(members, x, keep)", household) == Interval(Fraction(-2), Fraction(5), 1)
    assert ev("max(members, x, keep)", household) == 5
    assert ev("max(loans, x)", household) is UNKNOWN
    assert ev("all(loans, x > 0)", household) is True
    assert ev("sum(payments, x)", household) is UNKNOWN
    kids[2].values = {"keep": True}
    assert ev("sum(members, x)", household) is UNKNOWN


def test_paths_through_parents() -> None:
    village = Subject("village", "V1", {"name": "竹坪村"})
    household = Subject("household", "H1", {"gender": "male"}, parents={"village": village})
    person = Subject("person", "P1", parents={"household": household})
    orphan = Subject("person", "P2")
    assert ev('household.village.name == "竹坪村"', person) is True
    assert ev('household.village.name == "竹坪村"', orphan) is UNKNOWN
    trace = Trace()
    ev("household.village.name", person, trace)
    assert trace.reads == [FieldRead("person", "P1", ("household", "village", "name"), "竹坪村")]


def test_membership_with_unknown_elements() -> None:
    subject = Subject("person", "P1", {"d": "diabetes", "e": "cancer"})
    assert ev('d in catalogue("diseases")', subject) is True
    assert ev('e not in catalogue("diseases")', subject) is True
    assert ev('e in [missing, "flu"]', subject) is UNKNOWN
    assert ev('d in [missing, "diabetes"]', subject) is True
    assert ev('missing in ["a"]', subject) is UNKNOWN
    assert ev('missing not in ["a"]', subject) is UNKNOWN


def test_dates() -> None:
    subject = Subject("person", "P1", {"born": dt.date(2001, 9, 2)})
    assert ev("on - born", subject) == Fraction((dt.date(2017, 9, 1) - dt.date(2001, 9, 2)).days)
    assert ev("year(on) - year(born)", subject) == 16
    assert ev('born + 30 == date("2001-10-02")', subject) is True
    assert ev("born < on", subject) is True


def test_params_are_traced_with_their_period() -> None:
    trace = Trace()
    assert ev('param("rate") > 0 and param("none") > 0', trace=trace) is UNKNOWN
    assert trace.reads == [
        ParamRead("rate", Fraction(1, 50), dt.date(2015, 1, 1), dt.date(2017, 12, 31)),
        ParamRead("none", UNKNOWN, None, None),
    ]


def test_input_conversion() -> None:
    assert to_value(Decimal("0.02")) == Fraction(1, 50)
    assert to_value(3) == Fraction(3) and type(to_value(3)) is Fraction
    assert to_value(True) is True
    assert to_value(None) is UNKNOWN
    assert to_value(["a", 1]) == ("a", Fraction(1))
    with pytest.raises(TypeError, match="float"):
        to_value(0.1)
    with pytest.raises(TypeError, match="float"):
        ev("x > 0", Subject("household", "H1", {"x": 0.5}))


def test_output_conversion() -> None:
    assert to_decimal(Fraction(5000)) == Decimal("5000")
    assert to_decimal(Fraction(1, 50)) == Decimal("0.02")
    assert to_decimal(Fraction(1, 3), places=2) == Decimal("0.33")
    assert to_decimal(Fraction(-5, 1000), places=2) == Decimal("-0.01")
    with pytest.raises(ValueError, match="places"):
        to_decimal(Fraction(1, 3))


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ('subset(codes, catalogue("diseases"))', {"codes": ("diabetes",)}, T),
        ('subset(codes, catalogue("diseases"))', {"codes": ("diabetes", "flu")}, F),
        ('subset(codes, catalogue("diseases"))', {"codes": ()}, T),
        ('subset(codes, catalogue("diseases"))', {}, U),
        ('overlaps(codes, catalogue("diseases"))', {"codes": ("flu", "hypertension")}, T),
        ('overlaps(codes, catalogue("diseases"))', {"codes": ("flu",)}, F),
        ('overlaps(codes, catalogue("diseases"))', {"codes": ()}, F),
        ('overlaps(codes, catalogue("diseases"))', {}, U),
    ],
)
def test_list_functions(text: str, values: dict[str, Any], expected: Any) -> None:
    """subset(a, b): every element of a is in b; overlaps(a, b): some element is; unknown in, unknown out."""
    assert ev(text, Subject("person", "P1", values)) is expected
