"""Parser and printer: the syntax of docs/design/expression-language.md."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from fupin_rules.errors import ExpressionSyntaxError
from fupin_rules.expr import (
    Aggregate,
    Binary,
    BoolOp,
    Call,
    Catalogue,
    Compare,
    DateLiteral,
    ListExpr,
    Literal,
    Not,
    On,
    Param,
    Path,
    Unary,
    catalogues_used,
    free_paths,
    params_used,
    parse,
    to_source,
    walk,
)


def p(*names: str) -> Path:
    return Path(names)


def test_numbers_are_exact_fractions() -> None:
    assert parse("0.02") == Literal(Fraction(1, 50))
    assert parse("3000.00") == Literal(Fraction(3000))
    assert to_source(parse("3000.00")) == "3000"


def test_precedence_and_associativity() -> None:
    assert parse("a + b * c") == Binary("+", p("a"), Binary("*", p("b"), p("c")))
    assert parse("a - b - c") == Binary("-", Binary("-", p("a"), p("b")), p("c"))
    assert parse("not a and b or c") == BoolOp("or", (BoolOp("and", (Not(p("a")), p("b"))), p("c")))
    assert parse("-x * 2") == Binary("*", Unary("-", p("x")), Literal(Fraction(2)))
    assert parse("not a == b") == Not(Compare("==", p("a"), p("b")))


def test_chains_flatten_but_parentheses_nest() -> None:
    assert parse("a and b and c") == BoolOp("and", (p("a"), p("b"), p("c")))
    nested = parse("(a and b) and c")
    assert nested == BoolOp("and", (BoolOp("and", (p("a"), p("b"))), p("c")))
    assert to_source(nested) == "(a and b) and c"


def test_functions_become_dedicated_nodes() -> None:
    assert parse('param("x.rate")') == Param("x.rate")
    assert parse("catalogue('diseases')") == Catalogue("diseases")
    assert parse('date("2017-09-01")') == DateLiteral(dt.date(2017, 9, 1))
    assert parse("on") == On()
    assert parse("count(members)") == Aggregate("count", p("members"))
    assert parse("share(members, insured, age >= 16)") == Aggregate(
        "share",
        p("members"),
        p("insured"),
        Compare(">=", p("age"), Literal(Fraction(16))),
    )
    assert parse("coalesce(a, 0)") == Call("coalesce", (p("a"), Literal(Fraction(0))))
    assert parse('x not in ["a", "b"]') == Compare(
        "not in", p("x"), ListExpr((Literal("a"), Literal("b")))
    )


def test_strings_and_keywords() -> None:
    assert parse("'他说\"好\"'") == Literal('他说"好"')
    assert to_source(Literal('a"b\\c\n')) == '"a\\"b\\\\c\\n"'
    assert parse("true_flag") == p("true_flag")
    assert parse("true") == Literal(True)
    assert parse("1") != parse("true")


def test_spans_point_into_the_text() -> None:
    expr = parse("a +\n  household.income_yuan")
    assert isinstance(expr, Binary)
    assert expr.right.span is not None
    assert (expr.right.span.line, expr.right.span.column) == (2, 3)


@pytest.mark.parametrize(
    ("text", "fragment", "caret_column"),
    [
        ("a < b < c", "comparisons do not chain", 7),
        ("a +", "unexpected end of expression", 4),
        ("Income > 1", "names are lower case", 1),
        ("5e4", "no exponent", 2),
        ("cnt(members)", "did you mean count()?", 1),
        ("a.and", "keyword", 3),
        ("count(1)", "must be a collection name", 7),
        ('date("2017-13-01")', "not a valid date", 6),
        ("sum(members)", "sum(collection, value)", 1),
        ("param(x)", 'param() takes a string literal, e.g. param("name")', 7),
        ('"a\\q"', "unknown escape", 1),
        ("abs(1, 2)", "abs() takes 1 argument(s), got 2", 1),
    ],
)
def test_syntax_errors_name_the_problem_and_show_a_caret(
    text: str, fragment: str, caret_column: int
) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse(text, origin="rules/x.yaml:7")
    message = str(info.value)
    assert message.startswith("rules/x.yaml:7: ")
    assert fragment in message
    assert info.value.column == caret_column
    assert message.splitlines()[-1] == "    " + " " * (caret_column - 1) + "^"


def test_dependency_helpers() -> None:
    expr = parse(
        'count(members, household.village.x > param("p")) > 0 and income_yuan in catalogue("c")'
    )
    assert free_paths(expr) == {("members",), ("income_yuan",)}
    assert params_used(expr) == {"p"}
    assert catalogues_used(expr) == {"c"}
    assert [type(n).__name__ for n in walk(parse("-(a)"))] == ["Unary", "Path"]
