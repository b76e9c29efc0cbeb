"""The library's exception hierarchy: everything raised on purpose derives from FupinRulesError.

Every message names where the problem is (file:line, record id and field), what was found and
what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "BatchOverflowError",
    "BatchUnsupportedError",
    "DataError",
    "EngineError",
    "EngineUnavailableError",
    "ExpressionError",
    "ExpressionSyntaxError",
    "ExpressionTypeError",
    "FupinRulesError",
    "PolicyError",
    "PolicyLoadError",
    "PolicyNotFoundError",
    "ReportOutputError",
    "RuleEvaluationError",
    "RunStoreError",
    "UnknownRuleError",
    "closest",
    "did_you_mean",
]


def closest(word: object, choices: Iterable[object], cutoff: float = 0.6) -> str | None:
    """The choice closest to ``word`` (``difflib``, compared as text), or None: the one lookup
    behind every "did you mean" of the library."""
    import difflib  # on demand: only an error message needs it

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(
    word: object,
    choices: Iterable[object],
    *,
    cutoff: float = 0.6,
    form: str = "; did you mean {!r}?",
) -> str:
    """``form`` filled with the closest choice (by default ``"; did you mean 'x'?"``), or ``""``."""
    found = closest(word, choices, cutoff)
    return "" if found is None else form.format(found)


class FupinRulesError(Exception):
    """Base class of every error this library raises on purpose."""


class ExpressionError(FupinRulesError):
    """An expression could not be parsed or checked.

    ``origin`` names where the expression came from (``file:line`` of the YAML value), ``line``
    and ``column`` are 1-based positions inside the expression text.
    """

    def __init__(
        self,
        message: str,
        *,
        text: str = "",
        origin: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.text = text
        self.origin = origin
        self.line = line
        self.column = column
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.origin or "<expression>"
        head = f"{where}: {self.message}"
        if not self.text or self.column is None:
            return head
        lines = self.text.splitlines() or [""]
        idx = min(max((self.line or 1) - 1, 0), len(lines) - 1)
        line, at = lines[idx], max(self.column - 1, 0)
        if len(line) > _SHOWN:  # a window around the caret, not a line of 20,000 characters
            start = max(0, min(at - _SHOWN // 2, len(line) - _SHOWN))
            end = start + _SHOWN
            left = "..." if start > 0 else ""
            line = left + line[start:end] + ("..." if end < len(lines[idx]) else "")
            at = at - start + len(left)
        return f"{head}\n    {line}\n    {' ' * at}^"


#: characters of an expression's line shown under an error
_SHOWN = 100


class ExpressionSyntaxError(ExpressionError):
    """The expression text is not valid syntax."""


class ExpressionTypeError(ExpressionError):
    """The expression is well formed but does not type-check against the domain schema."""


class PolicyError(FupinRulesError):
    """Problems with a policy package."""


class PolicyNotFoundError(PolicyError):
    """No installed policy package or directory matches the reference."""


class UnknownRuleError(PolicyError, KeyError):
    """No rule of that id in the policy; the message lists the closest id (did you mean ...).

    Also a ``KeyError`` (a rule looked up by id), whose message it shows as is.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PolicyLoadError(PolicyError):
    """A policy package failed validation; ``problems`` lists every problem found at once."""

    def __init__(self, package: str, problems: Sequence[str]) -> None:
        self.package = package
        self.problems = tuple(problems)
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"policy {package!r} has {len(self.problems)} problem(s):\n{body}")


class DataError(FupinRulesError):
    """Input records failed validation; ``problems`` holds one entry per bad record/field."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        body = "\n".join(f"  - {p}" for p in self.problems[:50])
        more = "" if len(self.problems) <= 50 else f"\n  ... and {len(self.problems) - 50} more"
        super().__init__(f"{len(self.problems)} data problem(s):\n{body}{more}")


class EngineError(FupinRulesError):
    """The inference engine failed for a subject (an action raised, a session broke)."""


class BatchUnsupportedError(EngineError, NotImplementedError):
    """An expression the batch compiler cannot evaluate exactly (use the reference engine)."""


class BatchOverflowError(EngineError, ArithmeticError):
    """A rule's numbers can exceed the batch engine's exact 128-bit integers (about 1.7e38,
    numerators and denominators of exact fractions): the rule is an error row of the batch
    run; the reference and inference engines compute it with unbounded integers."""


class EngineUnavailableError(EngineError):
    """durable-rules is not importable (e.g. on Python 3.13 without the documented build flag)."""


class RunStoreError(FupinRulesError):
    """The run store (an SQLite file) cannot be used: not a run store, damaged, or no such run.

    A file that is not a healthy run store is never written to."""


class ReportOutputError(FupinRulesError):
    """A report cannot be written where asked: a folder, a device, a missing or unwritable
    folder, the input ledger itself, or the disk filled while writing. Nothing was replaced."""


class RuleEvaluationError(EngineError):
    """One rule failed on one subject; the engines turn it into an error row for that rule and
    subject and keep every other finding of the unit.

    ``part`` says what was being evaluated (``applies_if``, ``condition <id>``, ``amount``,
    ``output <id>``); the message names the rule, the subject and the operation, in Chinese and
    English, and says what the failure was.
    """

    def __init__(
        self, rule_id: str, subject_kind: str, subject_id: str, part: str, cause: BaseException
    ) -> None:
        self.rule_id = rule_id
        self.subject_kind = subject_kind
        self.subject_id = subject_id
        self.part = part
        self.cause = cause
        super().__init__(
            f"rule {rule_id}, {subject_kind} {subject_id}: evaluating {part} failed, so this "
            f"finding is missing (规则对该对象的{_part_zh(part)}计算失败，该条结论缺失) — "
            f"{describe_failure(cause)}"
        )


_PART_ZH = {"applies_if": "适用条件", "condition": "条件", "amount": "金额", "output": "输出"}


def _part_zh(part: str) -> str:
    head, _, rest = part.partition(" ")
    zh = _PART_ZH.get(head)
    if zh is None:
        return ""
    return f"{zh} {rest} " if rest else zh


def describe_failure(exc: BaseException) -> str:
    """``exc`` as a readable sentence (decimal signals and empty messages say what happened)."""
    import decimal

    text = str(exc)
    name = type(exc).__name__
    if isinstance(exc, decimal.DecimalException):
        return (
            f"{name}: exact decimal arithmetic failed (a number too large or too precise; "
            "数值超出精确小数运算范围)"
        )
    if isinstance(exc, RecursionError):
        return f"{name}: the expression is nested too deeply (表达式嵌套过深)"
    if isinstance(exc, ZeroDivisionError):
        return f"{name}: division by zero (除数为零){': ' + text if text else ''}"
    if isinstance(exc, OverflowError):
        return f"{name}: a number is too large (数值过大){': ' + text if text else ''}"
    if not text or text.startswith("[<class"):
        return f"{name} (no message)"
    return f"{name}: {text}"
