"""The expression language: parse, print, type-check and evaluate policy expressions.

See ``docs/design/expression-language.md`` for the contract. Typical use::

    expr = parse("annual_income_yuan < param(\\"poverty_line_yuan\\")", origin="rules.yaml:12")
    check(expr, schema, "household", params=..., catalogues=..., expected=BOOL)
    value = evaluate(expr, subject, env, trace)
"""

from fupin_rules.expr.checker import check, referenced_fields
from fupin_rules.expr.ir import (
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
    Span,
    Unary,
    catalogues_used,
    free_paths,
    params_used,
    walk,
)
from fupin_rules.expr.parser import parse
from fupin_rules.expr.printer import to_source
from fupin_rules.expr.schema import EntitySchema, Schema
from fupin_rules.expr.types import (
    ANY,
    BOOL,
    DATE,
    NUMBER,
    STRING,
    CollectionType,
    EntityType,
    EnumType,
    ListType,
    PrimitiveType,
    Type,
)

__all__ = [
    "ANY",
    "BOOL",
    "DATE",
    "NUMBER",
    "STRING",
    "Aggregate",
    "Binary",
    "BoolOp",
    "Call",
    "Catalogue",
    "CollectionType",
    "Compare",
    "DateLiteral",
    "EntitySchema",
    "EntityType",
    "EnumType",
    "Expr",
    "ListExpr",
    "ListType",
    "Literal",
    "Not",
    "On",
    "Param",
    "Path",
    "PrimitiveType",
    "Schema",
    "Span",
    "Type",
    "Unary",
    "catalogues_used",
    "check",
    "free_paths",
    "params_used",
    "parse",
    "referenced_fields",
    "to_source",
    "walk",
]
