"""Findings: what a rule concluded about one subject, with everything needed to explain it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, Protocol

import attrs

from fupin_rules.domain.entities import ENTITIES
from fupin_rules.expr import UNKNOWN, Interval
from fupin_rules.expr.deadline import DEADLINE_STATES

__all__ = [
    "ConditionResult",
    "DeadlineCheck",
    "DrillDown",
    "Explainer",
    "Explanation",
    "Finding",
    "MissingField",
    "Outcome",
    "ParameterUse",
    "ValueRead",
    "format_value",
    "json_value",
    "kind_en",
    "kind_zh",
]

#: kind -> its Chinese name, from the one declaration of the kinds (人员 / 户 / 村 / 档案资料 ...)
_KIND_ZH: dict[str, str] = ENTITIES.names_zh


def kind_zh(kind: str) -> str:
    """The Chinese name of an entity kind in Chinese text (``document`` -> ``档案资料``); a kind
    not declared (a test's own) keeps its identifier."""
    return _KIND_ZH.get(kind, kind)


#: kind -> its English name, from the same declaration (household member / household ...)
_KIND_EN: dict[str, str] = ENTITIES.names_en


def kind_en(kind: str) -> str:
    """The English name of an entity kind in English text (``procedure_step`` -> ``exit
    procedure step``); a kind not declared (a test's own) keeps its identifier."""
    return _KIND_EN.get(kind, kind)


#: the Chinese word of each verdict (:attr:`Outcome.label_zh`)
_LABELS_ZH = {"pass": "符合", "fail": "不符合", "unknown": "无法判定", "not_applicable": "不适用"}


class Outcome(StrEnum):
    """Three-valued outcome of a condition or finding, plus not-applicable for findings."""

    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"

    @property
    def zh(self) -> str:
        """The Chinese word used in explanations (unknown says why: 数据缺失)."""
        return "无法判定(数据缺失)" if self is Outcome.UNKNOWN else self.label_zh

    @property
    def label_zh(self) -> str:
        """The Chinese word of a report cell or badge (符合, 不符合, 无法判定, 不适用)."""
        return _LABELS_ZH[self.value]

    @classmethod
    def of(cls, value: object) -> Outcome:
        """True/False/UNKNOWN -> PASS/FAIL/UNKNOWN."""
        if value is UNKNOWN or isinstance(value, Interval):
            return cls.UNKNOWN
        return cls.PASS if value is True else cls.FAIL


def _fraction_text(value: Fraction) -> str:
    den = value.denominator
    d2 = den
    for p in (2, 5):
        while d2 % p == 0:
            d2 //= p
    if d2 == 1:  # terminating decimal: exact text
        text = format(Decimal(value.numerator) / Decimal(den), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    approx = format(float(value), ".6g")
    return f"{value.numerator}/{den} (≈{approx})"


def format_value(value: Any) -> str:
    """A value as an official reads it: exact numbers, dates, lists, 未知 for unknown."""
    if value is UNKNOWN or value is None:
        return "unknown/未知"
    if isinstance(value, bool):
        return "true/是" if value else "false/否"
    if isinstance(value, Fraction):
        return _fraction_text(value)
    if isinstance(value, Decimal | int):
        return _fraction_text(Fraction(value))
    if isinstance(value, Interval):
        rng = f"[{_fraction_text(value.lo)}, {_fraction_text(value.hi)}]"
        return f"{rng} ({value.missing} missing/缺失)"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def json_value(value: Any) -> Any:
    """A JSON-ready form: numbers as exact decimal strings (or "n/d"), unknown as null."""
    if value is UNKNOWN or value is None:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, Fraction | Decimal | int):
        f = Fraction(value)
        text = _fraction_text(f)
        return text.split(" ")[0] if "/" not in text else f"{f.numerator}/{f.denominator}"
    if isinstance(value, Interval):
        return {"lo": json_value(value.lo), "hi": json_value(value.hi), "missing": value.missing}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list | frozenset):
        return [json_value(v) for v in value]
    return str(value)


@attrs.frozen
class ValueRead:
    """An input or derived value that a condition read: where, what, and its value."""

    subject_kind: str
    subject_id: str
    path: str
    value: Any
    label_zh: str = ""


@attrs.frozen
class MissingField:
    """A field a condition needed but the record does not have (the unknown's cause)."""

    subject_kind: str
    subject_id: str
    field: str
    label_zh: str = ""

    def render(self, lang: str = "zh") -> str:
        """``村 V012: 缺少 卫生室医生资质 数据`` / ``administrative village V012: missing clinic_...``."""
        if lang == "zh":
            kind = kind_zh(self.subject_kind)
            return f"{kind} {self.subject_id}: 缺少 {self.label_zh or self.field} 数据"
        return f"{kind_en(self.subject_kind)} {self.subject_id}: missing {self.field}"


@attrs.frozen
class ParameterUse:
    """A parameter a finding used, with the value and the period it holds for."""

    name: str
    value: Any
    start: dt.date | None
    end: dt.date | None
    status: str
    unit: str
    clause: str


@attrs.frozen
class DeadlineCheck:
    """A ``done_by(record, deadline)`` of a condition: the record, the deadline and the state
    (``done``, ``late``, ``overdue`` 逾期未完成, ``not_due`` 未到期 or ``unknown``; see
    :mod:`fupin_rules.expr.deadline`)."""

    subject_kind: str
    subject_id: str
    path: str
    label_zh: str
    record: Any
    deadline: Any
    state: str

    def render(self, lang: str = "zh") -> str:
        """``逾期未完成: 截止 2017-11-30, 未记录 交钥匙日期 (易地搬迁 R1 turnkey_on)``."""
        _, zh, en = DEADLINE_STATES[self.state]
        deadline = format_value(self.deadline)
        kind = kind_zh(self.subject_kind) if lang == "zh" else kind_en(self.subject_kind)
        where = f"{kind} {self.subject_id} {self.path}"
        unrecorded = self.record is UNKNOWN or self.record is None
        after_on = not unrecorded and self.state in ("overdue", "not_due")
        if lang == "zh":
            name = self.label_zh or self.path
            if unrecorded:
                record = f"未记录 {name}"
            elif after_on:
                record = f"{name} {format_value(self.record)} 晚于判定日期, 视为未记录"
            else:
                record = f"{name} {format_value(self.record)}"
            return f"{zh}: 截止 {deadline}, {record} ({where})"
        if unrecorded:
            record = f"no {self.path} recorded"
        elif after_on:
            record = f"{self.path} {format_value(self.record)} is after the as-of date"
        else:
            record = f"{self.path} {format_value(self.record)}"
        return f"{en}: deadline {deadline}, {record} ({where})"


@attrs.frozen
class DrillDown:
    """The child records behind a failing condition over children (see
    :mod:`fupin_rules.engine.drill`): the aggregate, the child kind, ``role`` (``failing``: they
    fail the per-child condition; ``counted``: they are the ones counted), at most
    :data:`~fupin_rules.engine.drill.MAX_CHILDREN_NAMED` ``(id, name)`` pairs in collection
    order, and the total number."""

    source: str
    child_kind: str
    role: str
    records: tuple[tuple[str, str], ...]
    total: int

    def render(self, lang: str = "zh") -> str:
        """``不符合的记录 (share(...)): P1 张三, P2 李四 (共 2 条)``."""
        names = ", ".join(f"{i} {n}".strip() for i, n in self.records)
        more = self.total - len(self.records)
        if lang == "zh":
            role = "不符合的记录" if self.role == "failing" else "计入的记录"
            tail = f" … 另 {more} 条" if more else ""
            return f"{role} ({self.source}): {names}{tail} (共 {self.total} 条)"
        role = "failing records" if self.role == "failing" else "records counted"
        tail = f" … and {more} more" if more else ""
        return f"{role} ({self.source}): {names}{tail} ({self.total} in all)"


@attrs.frozen
class ConditionResult:
    """One named condition: its expression, outcome and the values that decided it."""

    id: str
    title_zh: str
    title_en: str
    expr: str
    outcome: Outcome
    reads: tuple[ValueRead, ...] = ()
    missing: tuple[MissingField, ...] = ()
    deadlines: tuple[DeadlineCheck, ...] = ()
    #: the child records behind a failing condition over children (drill-down)
    children: tuple[DrillDown, ...] = ()


#: what an explanation built on demand gives: conditions, parameters used, applies_if
Explanation = tuple[tuple[ConditionResult, ...], tuple[ParameterUse, ...], ConditionResult | None]


class Explainer(Protocol):
    """Builds a finding's explanation when it is first asked for (see :class:`Finding`).

    It must hold only immutable inputs (the rule, the subject's record, the as-of date, the
    policy and the dataset snapshot the decision read), so that the explanation built later is
    the one the decision had, whatever happens to other data meanwhile.
    """

    def __call__(self) -> Explanation: ...


@attrs.frozen(eq=False, getstate_setstate=False)
class Finding:
    """What one rule concluded about one subject, as of a date, under one policy version.

    The explanation (``conditions`` with the values read and the missing fields, ``parameters``
    with their periods, ``applies_if``) is either given when the finding is made or built on
    first access by an :class:`Explainer` captured with the decision (the per-case engines
    decide first and explain on demand). Either way the finding is immutable: equality,
    hashing, pickling and the JSON reports see the same explanation.
    """

    rule_id: str
    rule_kind: str
    subject_kind: str
    subject_id: str
    verdict: Outcome
    clause: str
    title_zh: str
    title_en: str
    policy_id: str
    policy_version: str
    policy_hash: str
    engine_version: str
    on: dt.date
    status: str = "seed"
    amount: Decimal | None = None
    outputs: tuple[tuple[str, Any], ...] = ()
    _conditions: tuple[ConditionResult, ...] = ()
    _parameters: tuple[ParameterUse, ...] = ()
    _applies_if: ConditionResult | None = None
    #: what the finding rests on that the document does not state (issue 12): ``rule:<id>`` (an
    #: assumed reading), ``catalogue:<name>``, ``parameter:<name>`` (assumed values it may use)
    assumptions: tuple[str, ...] = ()
    #: the titles the policy gives its outputs: (name, zh, en), only the titled ones
    output_titles: tuple[tuple[str, str, str], ...] = ()
    _explainer: Explainer | None = attrs.field(default=None, repr=False)

    def _explain(self) -> None:
        explainer = self._explainer
        if explainer is None:
            return
        conditions, parameters, applies_if = explainer()
        object.__setattr__(self, "_conditions", conditions)
        object.__setattr__(self, "_parameters", parameters)
        object.__setattr__(self, "_applies_if", applies_if)
        object.__setattr__(self, "_explainer", None)

    @property
    def explained(self) -> bool:
        """True once the explanation is built (always, for a finding made with it)."""
        return self._explainer is None

    @property
    def conditions(self) -> tuple[ConditionResult, ...]:
        """Every named condition with its outcome, the values read and the missing fields."""
        if self._explainer is not None:
            self._explain()
        return self._conditions

    @property
    def parameters(self) -> tuple[ParameterUse, ...]:
        """The parameters the finding used, with values and periods, sorted by name."""
        if self._explainer is not None:
            self._explain()
        return self._parameters

    @property
    def applies_if(self) -> ConditionResult | None:
        """The rule's scope condition, explained (None when the rule has none)."""
        if self._explainer is not None:
            self._explain()
        return self._applies_if

    def _key(self) -> tuple[Any, ...]:
        return (
            self.rule_id,
            self.rule_kind,
            self.subject_kind,
            self.subject_id,
            self.verdict,
            self.clause,
            self.title_zh,
            self.title_en,
            self.policy_id,
            self.policy_version,
            self.policy_hash,
            self.engine_version,
            self.on,
            self.status,
            self.amount,
            self.outputs,
            self.conditions,
            self.parameters,
            self.applies_if,
            self.output_titles,
        )

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if not isinstance(other, Finding):
            return NotImplemented
        return self._key() == other._key()

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Finding):
            return NotImplemented
        return not self == other

    def __hash__(self) -> int:
        return hash(self._key())

    def __getstate__(self) -> tuple[Any, ...]:
        self._explain()  # a pickled finding carries its explanation, not the explainer
        return tuple(getattr(self, name) for name in _state_fields())

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(_state_fields(), state, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_explainer", None)

    @property
    def missing(self) -> tuple[MissingField, ...]:
        """Every missing field behind an unknown, without repeats, in order."""
        seen: dict[tuple[str, str, str], MissingField] = {}
        parts = [*self.conditions, *([self.applies_if] if self.applies_if else [])]
        for c in parts:
            for m in c.missing:
                seen.setdefault((m.subject_kind, m.subject_id, m.field), m)
        return tuple(seen.values())

    @property
    def failing(self) -> tuple[ConditionResult, ...]:
        """The conditions that failed."""
        return tuple(c for c in self.conditions if c.outcome is Outcome.FAIL)

    def sort_key(self) -> tuple[str, str, str]:
        """Stable order for reports: subject kind, subject id, rule id."""
        return (self.subject_kind, self.subject_id, self.rule_id)


def _state_fields() -> tuple[str, ...]:
    """The attribute names a pickled :class:`Finding` carries (all but the explainer)."""
    names: tuple[str, ...] = tuple(a.name for a in attrs.fields(Finding))
    return names[:-1]
