"""Checker: types, paths, and messages that say what was found and what was expected."""

from __future__ import annotations

import pytest

from fupin_rules.errors import ExpressionTypeError
from fupin_rules.expr import (
    BOOL,
    DATE,
    NUMBER,
    STRING,
    EntitySchema,
    EnumType,
    ListType,
    Schema,
    Type,
    check,
    parse,
    referenced_fields,
)

GENDER = EnumType("Gender", ("male", "female"))
SCHEMA = Schema(
    {
        "person": EntitySchema(
            "person",
            fields={
                "age": NUMBER,
                "insured": BOOL,
                "gender": GENDER,
                "birth_date": DATE,
                "disease": STRING,
                "income_yuan": NUMBER,
            },
            parents={"household": "household"},
            labels={"insured": "参保", "income_yuan": "收入"},
        ),
        "household": EntitySchema(
            "household",
            fields={"annual_income_yuan": NUMBER, "is_poor": BOOL},
            parents={"village": "village"},
            collections={"members": "person"},
            labels={"annual_income_yuan": "年人均纯收入"},
        ),
        "village": EntitySchema(
            "village",
            fields={"collective_income_yuan": NUMBER},
            collections={"residents": "person"},
        ),
    }
)
PARAMS: dict[str, Type] = {"poverty_line_yuan": NUMBER, "codes": ListType(STRING)}
CATALOGUES = ("chronic_diseases",)


def typ(text: str, entity: str = "household") -> Type:
    return check(parse(text), SCHEMA, entity, params=PARAMS, catalogues=CATALOGUES, text=text)


def error(text: str, entity: str = "household", expected: Type | None = None) -> str:
    with pytest.raises(ExpressionTypeError) as info:
        check(
            parse(text),
            SCHEMA,
            entity,
            params=PARAMS,
            catalogues=CATALOGUES,
            origin="rules/r.yaml:3",
            text=text,
            expected=expected,
        )
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "entity", "expected"),
    [
        ('annual_income_yuan < param("poverty_line_yuan")', "household", BOOL),
        ("count(members, age >= 16) / count(members)", "household", NUMBER),
        ("share(members, insured)", "household", NUMBER),
        ("household.village.collective_income_yuan + 1", "person", NUMBER),
        ("min(members, birth_date)", "household", DATE),
        ('gender == "male"', "person", BOOL),
        ('gender in ["male", "female"]', "person", BOOL),
        ('disease in catalogue("chronic_diseases")', "person", BOOL),
        ("on - birth_date", "person", NUMBER),
        ("birth_date + 30", "person", DATE),
        ("year(on) - year(birth_date) >= 16", "person", BOOL),
        ("known(household.annual_income_yuan) and not insured", "person", BOOL),
        ("coalesce(income_yuan, 0)", "person", NUMBER),
        ("all(members, insured) or any(members, household.is_poor)", "household", BOOL),
        ("abs(-sum(members, income_yuan, age > 60))", "household", NUMBER),
    ],
)
def test_types(text: str, entity: str, expected: Type) -> None:
    assert typ(text, entity) == expected


def test_unknown_field_suggests_the_closest_name_with_its_label() -> None:
    text = "household.anual_income_yuan < 3000"
    message = error(text, "person")
    assert "household has no field, link or collection 'anual_income_yuan'" in message
    assert "did you mean annual_income_yuan (年人均纯收入)?" in message
    assert message.splitlines()[-1] == "    " + " " * len("household.") + "^"


def test_unknown_parameter_catalogue_and_enum_code() -> None:
    assert "did you mean 'poverty_line_yuan'?" in error('param("poverty_line")')
    assert "did you mean 'chronic_diseases'?" in error(
        'disease in catalogue("chronic_disease")', "person"
    )
    message = error('gender == "femal"', "person")
    assert "unknown code of Gender 'femal'; did you mean 'female'" in message
    assert message.splitlines()[-1].index("^") == 4 + len("gender == ")


@pytest.mark.parametrize(
    ("text", "entity", "fragment"),
    [
        ('annual_income_yuan + "a"', "household", "`+` needs numbers"),
        ("is_poor and annual_income_yuan", "household", "each operand of `and` must be bool"),
        ("count(members, age)", "household", "the filter of count() must be bool, found number"),
        ("members", "household", "members is a collection of person records"),
        ("household", "person", "household is a link to a household, not a value"),
        ("age.x", "person", "age is a field of person (number), not a link"),
        ("gender < 3", "person", "cannot compare enum(Gender) with number"),
        ('disease < "a"', "person", "`<` orders numbers or dates only"),
        (
            'age in catalogue("chronic_diseases")',
            "person",
            "`in` compares number with a list[string]",
        ),
        ("age in 3", "person", "the right side of `in` must be a list"),
        ("count(age)", "person", "the first argument of count() must be a collection"),
        ("known(age + 1)", "person", "known() takes a field path"),
        ('[1, "a"]', "person", "list elements must all have one type"),
    ],
)
def test_type_errors(text: str, entity: str, fragment: str) -> None:
    assert fragment in error(text, entity)


def test_a_condition_must_be_bool() -> None:
    message = error("annual_income_yuan", expected=BOOL)
    assert "a condition must be bool, found number" in message
    assert "e.g. `x > 0`" in message


def test_error_points_at_the_sub_expression() -> None:
    text = "is_poor and\n  count(members, age) > 1"
    with pytest.raises(ExpressionTypeError) as info:
        check(parse(text), SCHEMA, "household", params={}, catalogues=(), text=text)
    assert (info.value.line, info.value.column) == (2, 18)


def test_referenced_fields_follow_links_and_child_scopes() -> None:
    expr = parse(
        "annual_income_yuan < 1 and village.collective_income_yuan > 0"
        " and count(members, household.is_poor and age > 16) > 0 and known(nope)"
    )
    assert referenced_fields(expr, SCHEMA, "household") == {
        ("household", "annual_income_yuan"),
        ("village", "collective_income_yuan"),
        ("household", "is_poor"),
        ("person", "age"),
    }


def test_with_fields_adds_derived_variables() -> None:
    extended = SCHEMA.with_fields("household", {"member_count": NUMBER}, {"member_count": "人数"})
    assert check(parse("member_count > 2"), extended, "household", params={}, catalogues=()) == BOOL
    with pytest.raises(ValueError, match="members"):
        SCHEMA.with_fields("household", {"members": NUMBER})


def test_list_functions_need_lists() -> None:
    from fupin_rules.errors import ExpressionTypeError
    from fupin_rules.expr import BOOL, STRING, EntitySchema, ListType, Schema, check, parse

    schema = Schema(
        entities={
            "person": EntitySchema(
                kind="person",
                fields={"codes": ListType(STRING), "name": STRING},
                parents={},
                collections={},
            )
        }
    )
    assert check(parse('subset(codes, ["a"])'), schema, "person", params={}, catalogues=()) == BOOL
    with pytest.raises(ExpressionTypeError, match="needs two lists"):
        check(parse('overlaps(name, ["a"])'), schema, "person", params={}, catalogues=())
