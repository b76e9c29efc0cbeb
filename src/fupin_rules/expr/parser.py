"""Parse expression text into IR: ``parse(text, *, origin=None) -> Expr``.

Never evaluates anything. Syntax errors raise :class:`ExpressionSyntaxError` with the line and
column of the offending text, so the message shows a caret under it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from functools import cache
from importlib import resources

import lark
from lark import Token, Tree

from fupin_rules.errors import ExpressionSyntaxError, closest, did_you_mean
from fupin_rules.expr.ir import (
    AGGREGATES,
    CALLS,
    KEYWORDS,
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
)

__all__ = ["FUNCTIONS", "parse"]

#: the name of an aggregate's filter argument: ``share(households, x, where=is_poor)``
FILTER_KEYWORD = "where"

#: every function name the language knows
FUNCTIONS = ("param", "catalogue", "date", *AGGREGATES, *CALLS)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
_TOKEN_NAMES = {"NAME": "a name", "NUMBER": "a number", "STRING": "a string", "$END": "the end"}
_CMP_TOKENS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})
#: How deeply an expression may nest (a sum of n terms or a chain of n ``not``/``-`` nests n
#: deep). The checker, the engines, the printer and the explanations walk expressions
#: recursively; a limit well inside Python's stack gives a clear error instead of a
#: RecursionError. county_2017's deepest expression nests 9 levels.
MAX_EXPRESSION_DEPTH = 100


@cache
def _parser() -> lark.Lark:
    grammar = resources.files("fupin_rules.expr").joinpath("grammar.lark").read_text("utf-8")
    return lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def parse(text: str, *, origin: str | None = None) -> Expr:
    """Parse ``text`` into an :class:`Expr`; ``origin`` (e.g. ``file.yaml:12``) names the source.

    Raises :class:`ExpressionSyntaxError` for bad syntax, unknown functions, wrong arity and
    malformed literals (e.g. ``date("2017-13-01")``).
    """
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedInput as exc:
        raise _syntax_error(exc, text, origin) from None
    _check_depth(tree, text, origin)
    return _Builder(text, origin).build(tree.children[0])


def _check_depth(tree: Tree[Token], text: str, origin: str | None) -> None:
    """Refuse a tree nested deeper than :data:`MAX_EXPRESSION_DEPTH` (walked without recursion)."""
    total = _depth_below(tree)
    if total <= MAX_EXPRESSION_DEPTH:
        return
    stack: list[tuple[Tree[Token], int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EXPRESSION_DEPTH:
            break
        stack.extend((kid, depth + 1) for kid in node.children if isinstance(kid, Tree))
    span = _span_of(node)
    raise ExpressionSyntaxError(
        f"the expression nests {total} levels deep (a long chain of +, -, not or nested "
        f"calls?); at most {MAX_EXPRESSION_DEPTH} are allowed: split it into named variables "
        "(表达式嵌套过深)",
        text=text,
        origin=origin,
        line=span.line,
        column=span.column,
    )


def _depth_below(tree: Tree[Token]) -> int:
    stack: list[tuple[Tree[Token], int]] = [(tree, 0)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((kid, depth + 1) for kid in node.children if isinstance(kid, Tree))
    return deepest


def _describe_terminal(name: str) -> str:
    if name in _TOKEN_NAMES:
        return _TOKEN_NAMES[name]
    try:
        pattern = _parser().get_terminal(name).pattern
    except KeyError:
        return name
    return f"'{pattern.value}'"


def _syntax_error(
    exc: lark.exceptions.UnexpectedInput, text: str, origin: str | None
) -> ExpressionSyntaxError:
    line, column = exc.line, exc.column
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = text[pos : pos + 1]
        message = f"unexpected character {char!r}"
        if char.isupper():
            message += "; names are lower case ([a-z_][a-z0-9_]*)"
        elif char in ("e", "E") and pos > 0 and text[pos - 1].isdigit():
            message += "; numbers have no exponent, write 50000 rather than 5e4"
    elif isinstance(exc, lark.exceptions.UnexpectedToken):
        token = exc.token
        expected = sorted({_describe_terminal(t) for t in exc.expected})
        if token.type == "$END":
            message = "unexpected end of expression"
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        else:
            message = f"unexpected {token.value!r}"
        if token.type == "NAME" and str(token.value)[:1] in "eE" and _after_digit(text, token):
            message += "; numbers have no exponent, write 50000 rather than 5e4"
            expected = []
        if token.type != "$END" and str(token.value) in _CMP_TOKENS and "'and'" in expected:
            message += "; comparisons do not chain, write `a < b and b < c`"
        elif expected:
            message += f"; expected {', '.join(expected)}"
    else:  # pragma: no cover - other lark errors are subclasses of the two above
        message = str(exc)
    return ExpressionSyntaxError(
        message, text=text, origin=origin, line=line, column=column if column > 0 else 1
    )


def _after_digit(text: str, token: Token) -> bool:
    pos = token.start_pos or 0
    return pos > 0 and text[pos - 1].isdigit()


def _span_of(item: Tree[Token] | Token) -> Span:
    if isinstance(item, Token):
        return Span(
            item.line or 1,
            item.column or 1,
            item.end_line or 1,
            item.end_column or 1,
            item.start_pos or 0,
            item.end_pos or 0,
        )
    m = item.meta
    return Span(m.line, m.column, m.end_line, m.end_column, m.start_pos, m.end_pos)


def _decode_string(raw: str) -> str:
    body = raw[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    chars = iter(body)
    for ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        nxt = next(chars)
        if nxt not in _ESCAPES:
            raise ValueError(f"unknown escape \\{nxt}; use \\\\, \\\", \\', \\n, \\t or \\r")
        out.append(_ESCAPES[nxt])
    return "".join(out)


class _Builder:
    """Turns the lark tree into IR, checking what the grammar does not (functions, arity)."""

    def __init__(self, text: str, origin: str | None) -> None:
        self.text = text
        self.origin = origin

    def error(self, message: str, item: Tree[Token] | Token) -> ExpressionSyntaxError:
        span = _span_of(item)
        return ExpressionSyntaxError(
            message, text=self.text, origin=self.origin, line=span.line, column=span.column
        )

    def build(self, item: Tree[Token] | Token) -> Expr:
        if isinstance(item, Token):  # pragma: no cover - every token sits under a named rule
            raise self.error(f"unexpected {item.value!r}", item)
        span = _span_of(item)
        kind = item.data
        kids = item.children
        if kind == "number":
            return Literal(Fraction(Decimal(str(kids[0]))), span=span)
        if kind == "string":
            return Literal(self.string(kids[0]), span=span)
        if kind == "true":
            return Literal(True, span=span)
        if kind == "false":
            return Literal(False, span=span)
        if kind == "on":
            return On(span=span)
        if kind == "path":
            return self.path(item)
        if kind == "list":
            return ListExpr(tuple(self.build(k) for k in kids), span=span)
        if kind == "neg":
            return Unary("-", self.build(kids[0]), span=span)
        if kind == "not_":
            return Not(self.build(kids[0]), span=span)
        if kind in ("and_", "or_"):
            op = kind[:-1]
            return BoolOp(op, tuple(self.build(k) for k in kids), span=span)
        if kind == "binary":
            left, op_tree, right = kids
            assert isinstance(op_tree, Tree)
            return Binary(self.op(op_tree), self.build(left), self.build(right), span=span)
        if kind == "compare":
            left, op_tree, right = kids
            assert isinstance(op_tree, Tree)
            return Compare(self.op(op_tree), self.build(left), self.build(right), span=span)
        if kind == "call":
            return self.call(item)
        raise AssertionError(f"unhandled grammar rule {kind}")  # pragma: no cover

    @staticmethod
    def op(tree: Tree[Token]) -> str:
        return " ".join(str(t) for t in tree.children)

    def string(self, token: Tree[Token] | Token) -> str:
        assert isinstance(token, Token)
        try:
            return _decode_string(str(token))
        except ValueError as exc:
            raise self.error(str(exc), token) from None

    def path(self, tree: Tree[Token]) -> Path:
        names = tuple(str(t) for t in tree.children)
        for token in tree.children:
            if str(token) in KEYWORDS:
                raise self.error(f"{token!s} is a keyword and cannot be used as a name", token)
        return Path(names, span=_span_of(tree))

    def literal_string_arg(
        self, func: str, args: list[Tree[Token] | Token], call: Tree[Token]
    ) -> str:
        if len(args) != 1:
            raise self.error(f"{func}() takes one string argument, got {len(args)} arguments", call)
        arg = args[0]
        if not (isinstance(arg, Tree) and arg.data == "string"):
            raise self.error(f'{func}() takes a string literal, e.g. {func}("name")', arg)
        return self.string(arg.children[0])

    def call(self, tree: Tree[Token]) -> Expr:
        name_token, *args = tree.children
        assert isinstance(name_token, Token)
        func = str(name_token)
        span = _span_of(tree)
        named = [a for a in args if isinstance(a, Tree) and a.data == "named_arg"]
        if named and func in AGGREGATES:
            return self.aggregate(func, args, tree)
        if named:
            first = named[0]
            raise self.error(
                f"{func}() takes no named arguments (got {first.children[0]!s}=); only the "
                f"aggregates take {FILTER_KEYWORD}=, e.g. count(members, {FILTER_KEYWORD}=is_poor); "
                "to compare two values write ==",
                first,
            )
        if func == "param":
            return Param(self.literal_string_arg(func, args, tree), span=span)
        if func == "catalogue":
            return Catalogue(self.literal_string_arg(func, args, tree), span=span)
        if func == "date":
            value = self.literal_string_arg(func, args, tree)
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                raise self.error(
                    f"date({value!r}) is not a valid date; write YYYY-MM-DD, e.g. "
                    'date("2017-09-01")',
                    args[0],
                ) from None
            if len(value) != 10:
                raise self.error(f"date({value!r}): write the date as YYYY-MM-DD", args[0])
            return DateLiteral(day, span=span)
        if func in AGGREGATES:
            return self.aggregate(func, args, tree)
        if func in CALLS:
            if len(args) != CALLS[func]:
                raise self.error(f"{func}() takes {CALLS[func]} argument(s), got {len(args)}", tree)
            return Call(func, tuple(self.build(a) for a in args), span=span)
        hint = did_you_mean(func, FUNCTIONS, form="; did you mean {}()?") or (
            f"; known: {', '.join(FUNCTIONS)}"
        )
        raise self.error(f"unknown function {func}(){hint}", name_token)

    def aggregate(self, func: str, args: list[Tree[Token] | Token], tree: Tree[Token]) -> Expr:
        needs_value, takes_filter = AGGREGATES[func]
        args, where = self.split_named(func, args, takes_filter=takes_filter)
        if where is not None:
            low = 2 if needs_value else 1
            if len(args) != low:
                before = "collection, value" if needs_value else "collection"
                twice = (
                    "; give the filter once, positionally or as where=" if len(args) > low else ""
                )
                raise self.error(
                    f"{func}() with {FILTER_KEYWORD}= takes {low} positional argument(s) "
                    f"({before}) before it; got {len(args)}{twice}",
                    tree,
                )
            args = [*args, where]
        low = 2 if needs_value else 1
        high = low + (1 if takes_filter else 0)
        if not low <= len(args) <= high:
            usage = {
                "count": "count(collection) or count(collection, filter)",
                "sum": "sum(collection, value) or sum(collection, value, filter)",
                "min": "min(collection, value) or min(collection, value, filter)",
                "max": "max(collection, value) or max(collection, value, filter)",
                "share": "share(collection, condition) or share(collection, condition, filter)",
                "all": "all(collection, condition)",
                "any": "any(collection, condition)",
            }[func]
            raise self.error(f"{func}() takes {usage}; got {len(args)} argument(s)", tree)
        coll = self.build(args[0])
        if not isinstance(coll, Path):
            raise self.error(
                f"the first argument of {func}() must be a collection name, e.g. members",
                args[0],
            )
        rest = [self.build(a) for a in args[1:]]
        value = rest.pop(0) if needs_value else None
        filt = rest.pop(0) if rest else None
        return Aggregate(func, coll, value, filt, span=_span_of(tree))

    def split_named(
        self, func: str, args: list[Tree[Token] | Token], *, takes_filter: bool
    ) -> tuple[list[Tree[Token] | Token], Tree[Token] | Token | None]:
        """Positional arguments and the ``where=`` filter of an aggregate call.

        Named arguments come after the positional ones; the only name is ``where``
        (a misspelt one gets a did-you-mean).
        """
        positional: list[Tree[Token] | Token] = []
        where: Tree[Token] | Token | None = None
        for arg in args:
            if not (isinstance(arg, Tree) and arg.data == "named_arg"):
                if where is not None:
                    raise self.error(
                        f"a positional argument follows {FILTER_KEYWORD}= in {func}(); "
                        f"put {FILTER_KEYWORD}= last",
                        arg,
                    )
                positional.append(arg)
                continue
            name_token, value = arg.children
            name = str(name_token)
            if name != FILTER_KEYWORD:
                close = closest(name, (FILTER_KEYWORD,), cutoff=0.5)
                hint = (
                    f"; did you mean {close}=?"
                    if close is not None and takes_filter
                    else (f"; the only named argument is {FILTER_KEYWORD}=" if takes_filter else "")
                )
                raise self.error(
                    f"{func}() has no argument named {name}={hint} (to compare two values "
                    "write ==)",
                    name_token,
                )
            if not takes_filter:
                raise self.error(
                    f"{func}() takes no filter ({FILTER_KEYWORD}=); filter inside the condition, "
                    f"e.g. {func}(members, not is_student or is_poor)",
                    arg,
                )
            if where is not None:
                raise self.error(f"{FILTER_KEYWORD}= is given twice in {func}()", name_token)
            where = value
        return positional, where
