"""The expression language: parse, print, type-check and evaluate policy expressions.

See ``docs/design/expression-language.md`` for the contract. Typical use::

    expr = parse("annual_income_yuan < param(\\"poverty_line_yuan\\")", origin="rules.yaml:12")
    check(expr, schema, "household", params=..., catalogues=..., expected=BOOL)
    value = evaluate(expr, subject, env, trace)
"""

from fupin_rules.expr.checker import check, referenced_fields
from fupin_rules.expr.interpreter import Compiled, compile_expr, evaluate
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
from fupin_rules.expr.runtime import Environment, ParamValue, Subject
from fupin_rules.expr.schema import EntitySchema, Schema
from fupin_rules.expr.trace import AggregateRead, FieldRead, ParamRead, Read, Trace, Undefined
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
from fupin_rules.expr.values import (
    UNKNOWN,
    Interval,
    Truth,
    Unknown,
    is_known,
    k_and,
    k_not,
    k_or,
    to_decimal,
    to_value,
    truth,
)

__all__ = [
    "ANY",
    "BOOL",
    "DATE",
    "NUMBER",
    "STRING",
    "UNKNOWN",
    "Aggregate",
    "AggregateRead",
    "Binary",
    "BoolOp",
    "Call",
    "Catalogue",
    "CollectionType",
    "Compare",
    "Compiled",
    "DateLiteral",
    "EntitySchema",
    "EntityType",
    "EnumType",
    "Environment",
    "Expr",
    "FieldRead",
    "Interval",
    "ListExpr",
    "ListType",
    "Literal",
    "Not",
    "On",
    "Param",
    "ParamRead",
    "ParamValue",
    "Path",
    "PrimitiveType",
    "Read",
    "Schema",
    "Span",
    "Subject",
    "Trace",
    "Truth",
    "Type",
    "Unary",
    "Undefined",
    "Unknown",
    "catalogues_used",
    "check",
    "compile_expr",
    "evaluate",
    "free_paths",
    "is_known",
    "k_and",
    "k_not",
    "k_or",
    "params_used",
    "parse",
    "referenced_fields",
    "to_decimal",
    "to_source",
    "to_value",
    "truth",
    "walk",
]
