"""Compare two policies: what their YAML says differently, and which findings change on data.

Two questions an author asks before publishing a new package version:

* *What did I change?* :func:`diff_policies` lists the parameters, rules, catalogues, derived
  variables and clauses added, removed or changed (values with their start dates, expressions,
  titles, clause, status).
* *Whom does it affect?* :func:`diff_findings` runs both policies over the same dataset on the
  same date with the reference engine and lists every (rule, subject) whose verdict or amount
  differs.

Expressions are compared in their canonical form (:func:`fupin_rules.expr.to_source`), so
re-wrapping a long condition over several lines is not a change.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, TypeVar

import attrs

from fupin_rules.domain.dataset import Dataset
from fupin_rules.engine.run import run_policy
from fupin_rules.expr import to_source
from fupin_rules.findings.model import Finding, format_value
from fupin_rules.policy.model import (
    Catalogue,
    ClauseInfo,
    Condition,
    Parameter,
    Policy,
    Rule,
    Text,
    Variable,
)

__all__ = [
    "FindingChange",
    "FindingsDiff",
    "ItemChange",
    "PolicyDiff",
    "diff_findings",
    "diff_policies",
    "diff_to_json",
    "later_parameter_changes",
    "render_diff",
]

ItemKind = Literal["policy", "clause", "parameter", "catalogue", "variable", "rule"]
Change = Literal["added", "removed", "changed"]
KINDS: tuple[ItemKind, ...] = ("policy", "clause", "parameter", "catalogue", "variable", "rule")
_HEADINGS = {
    "policy": "policy metadata",
    "clause": "clauses",
    "parameter": "parameters",
    "catalogue": "catalogues",
    "variable": "variables",
    "rule": "rules",
}
T = TypeVar("T")
_ARROW = " → "
_NONE = "—"


@attrs.frozen
class ItemChange:
    """One parameter, rule, catalogue, variable or clause that differs between two policies."""

    kind: ItemKind
    name: str
    change: Change
    #: what changed, one line each (``values from 2018-09-01: — → 6000``); empty for add/remove
    details: tuple[str, ...] = ()

    def render(self) -> str:
        """``~ parameter rain_and_dew.grant_yuan`` followed by its indented details."""
        mark = {"added": "+", "removed": "-", "changed": "~"}[self.change]
        head = f"{mark} {self.kind} {self.name}"
        if self.change != "changed" and self.details:
            head += f"  ({self.details[0]})"
            return head
        return "\n".join([head, *(f"    {d}" for d in self.details)])


@attrs.frozen
class PolicyDiff:
    """Everything that differs between policy ``before`` and policy ``after``."""

    before: str  # policy ref: id@version#hash12
    after: str
    items: tuple[ItemChange, ...]

    @property
    def identical(self) -> bool:
        """True when no item differs."""
        return not self.items

    def of(self, kind: ItemKind, change: Change | None = None) -> tuple[ItemChange, ...]:
        """The changes of one kind (and optionally one sort: added, removed, changed)."""
        return tuple(
            i for i in self.items if i.kind == kind and (change is None or i.change == change)
        )

    def names(self, kind: ItemKind, change: Change | None = None) -> list[str]:
        """The names of :meth:`of`."""
        return [i.name for i in self.of(kind, change)]


@attrs.frozen
class FindingChange:
    """A (rule, subject) whose verdict or amount differs; ``None`` = no finding on that side."""

    rule_id: str
    subject_kind: str
    subject_id: str
    before_verdict: str | None
    after_verdict: str | None
    before_amount: Decimal | None = None
    after_amount: Decimal | None = None

    @property
    def before(self) -> str:
        """``pass 5000``, ``fail``, or ``—`` when the rule gave no finding."""
        return _outcome_text(self.before_verdict, self.before_amount)

    @property
    def after(self) -> str:
        """As :attr:`before`, for the second policy."""
        return _outcome_text(self.after_verdict, self.after_amount)

    @property
    def transition(self) -> str:
        """``pass → fail``, or ``pass 5000 → pass 6000`` when only the amount changed."""
        return f"{self.before}{_ARROW}{self.after}"


@attrs.frozen
class FindingsDiff:
    """The findings that change when the same data is run through two policies."""

    before: str
    after: str
    on: dt.date
    engine: str
    compared: int  # (rule, subject) pairs seen on either side
    changes: tuple[FindingChange, ...]
    #: parameters whose values differ only from a date after ``on``: (name, first such date)
    later: tuple[tuple[str, dt.date], ...] = ()
    #: the policies (refs) not in force on ``on``: every finding of theirs is not applicable
    out_of_period: tuple[str, ...] = ()

    def by_rule(self) -> dict[str, Counter[str]]:
        """Rule id -> count of each transition (``pass → fail``: 12)."""
        out: dict[str, Counter[str]] = {}
        for c in self.changes:
            out.setdefault(c.rule_id, Counter())[c.transition] += 1
        return out


def _outcome_text(verdict: str | None, amount: Decimal | None) -> str:
    if verdict is None:
        return _NONE
    return f"{verdict} {format_value(amount)}" if amount is not None else verdict


# --------------------------------------------------------------------------- policy diff
def _was(label: str, before: object, after: object) -> str:
    return f"{label}: {before}{_ARROW}{after}"


def _text_changes(label: str, a: Text, b: Text) -> list[str]:
    out = []
    if a.zh != b.zh:
        out.append(_was(f"{label}.zh", a.zh or _NONE, b.zh or _NONE))
    if a.en != b.en:
        out.append(_was(f"{label}.en", a.en or _NONE, b.en or _NONE))
    return out


def _field_changes(a: object, b: object, fields: Sequence[str]) -> list[str]:
    out = []
    for name in fields:
        va, vb = getattr(a, name), getattr(b, name)
        if va != vb:
            out.append(_was(name, va if va not in (None, "") else _NONE, vb or _NONE))
    return out


def _note_change(a: str, b: str) -> list[str]:
    return ["note: changed"] if a.strip() != b.strip() else []


def _param_changes(a: Parameter, b: Parameter) -> list[str]:
    out = _text_changes("title", a.title, b.title)
    if str(a.type) != str(b.type):
        out.append(_was("type", a.type, b.type))
    out += _field_changes(a, b, ("unit", "clause", "status"))
    va = {v.start: v for v in a.values}
    vb = {v.start: v for v in b.values}
    for start in sorted(set(va) | set(vb)):
        x, y = va.get(start), vb.get(start)
        if x is not None and y is not None and (x.value, x.status) == (y.value, y.status):
            continue
        left = f"{format_value(x.value)} ({x.status})" if x else _NONE
        right = f"{format_value(y.value)} ({y.status})" if y else _NONE
        out.append(_was(f"value from {start.isoformat()}", left, right))
    return out + _note_change(a.note, b.note)


def _catalogue_changes(a: Catalogue, b: Catalogue) -> list[str]:
    out = _text_changes("title", a.title, b.title)
    out += _field_changes(a, b, ("clause", "status"))
    ia = {i.code: i for i in a.items}
    ib = {i.code: i for i in b.items}
    added = [c for c in ib if c not in ia]
    removed = [c for c in ia if c not in ib]
    if added:
        out.append("items added: " + ", ".join(added))
    if removed:
        out.append("items removed: " + ", ".join(removed))
    for code in ia.keys() & ib.keys():
        if (ia[code].zh, ia[code].en) != (ib[code].zh, ib[code].en):
            out.append(
                _was(
                    f"item {code}",
                    f"{ia[code].zh} / {ia[code].en}",
                    f"{ib[code].zh} / {ib[code].en}",
                )
            )
    if not added and not removed and list(ia) != list(ib):
        out.append("items reordered")
    return out + _note_change(a.note, b.note)


def _canonical(c: Condition | None) -> str | None:
    return None if c is None else to_source(c.expr)


def _expr_change(label: str, a: Condition | None, b: Condition | None) -> list[str]:
    if _canonical(a) == _canonical(b):
        return []
    return [_was(label, a.text.strip() if a else _NONE, b.text.strip() if b else _NONE)]


def _conditions_changes(
    label: str, a: Iterable[Condition], b: Iterable[Condition], titles: bool
) -> list[str]:
    ca = {c.id: c for c in a}
    cb = {c.id: c for c in b}
    out: list[str] = []
    for cid in [*ca, *(k for k in cb if k not in ca)]:
        x, y = ca.get(cid), cb.get(cid)
        if x is None and y is not None:
            out.append(f"{label} {cid} added: {y.text.strip()}")
        elif y is None and x is not None:
            out.append(f"{label} {cid} removed")
        elif x is not None and y is not None:
            out += _expr_change(f"{label} {cid}", x, y)
            if titles:
                out += _text_changes(f"{label} {cid} title", x.title, y.title)
    return out


def _rule_changes(a: Rule, b: Rule) -> list[str]:
    out = _text_changes("title", a.title, b.title)
    out += _field_changes(a, b, ("clause", "entity", "kind", "status"))
    out += _expr_change("applies_if", a.applies_if, b.applies_if)
    if a.applies_if is not None and b.applies_if is not None:
        out += _text_changes("applies_if title", a.applies_if.title, b.applies_if.title)
    out += _conditions_changes("condition", a.conditions, b.conditions, titles=True)
    out += _expr_change("amount", a.amount, b.amount)
    # an untitled output is titled by its name on both sides, so only real titles differ
    out += _conditions_changes("output", a.outputs, b.outputs, titles=True)
    return out + _note_change(a.note, b.note)


def _variable_changes(a: Variable, b: Variable) -> list[str]:
    out = _text_changes("title", a.title, b.title)
    if str(a.type) != str(b.type):
        out.append(_was("type", a.type, b.type))
    if to_source(a.expr) != to_source(b.expr):
        out.append(_was("expr", a.text.strip(), b.text.strip()))
    return out + _field_changes(a, b, ("clause", "status")) + _note_change(a.note, b.note)


def _clause_changes(a: ClauseInfo, b: ClauseInfo) -> list[str]:
    out = _text_changes("title", a.title, b.title)
    out += _field_changes(a, b, ("text_missing",))
    if a.uncovered != b.uncovered:
        out.append("uncovered items: changed")
    if a.proxies != b.proxies:
        out.append("items covered by a proxy: changed")
    return out + _note_change(a.note, b.note)


def _meta_changes(a: Policy, b: Policy) -> list[str]:
    out = _field_changes(a.meta, b.meta, ("id", "version", "extends"))
    out += _text_changes("title", a.meta.title, b.meta.title)
    out += _field_changes(a.meta, b.meta, ("effective_start", "effective_end"))
    return out


def _compare(
    kind: ItemKind,
    a: Mapping[str, T],
    b: Mapping[str, T],
    changes: Callable[[T, T], list[str]],
    describe: Callable[[T], str],
) -> list[ItemChange]:
    out: list[ItemChange] = []
    for name in a:
        if name not in b:
            out.append(ItemChange(kind, name, "removed", (describe(a[name]),)))
        elif a[name] != b[name]:
            details = changes(a[name], b[name])
            if details:
                out.append(ItemChange(kind, name, "changed", tuple(details)))
    out.extend(ItemChange(kind, name, "added", (describe(b[name]),)) for name in b if name not in a)
    return out


def diff_policies(before: Policy, after: Policy) -> PolicyDiff:
    """What differs between two loaded policies, item by item, in a stable order.

    >>> d = diff_policies(load_policy("county_2017"), load_policy("examples/county_2018"))  # doctest: +SKIP
    >>> d.names("parameter", "changed")                                                    # doctest: +SKIP
    ['rain_and_dew.grant_yuan']
    """
    items: list[ItemChange] = []
    meta = _meta_changes(before, after)
    if meta:
        items.append(ItemChange("policy", after.id, "changed", tuple(meta)))
    items += _compare(
        "clause", before.clauses, after.clauses, _clause_changes, lambda c: c.title.zh
    )
    items += _compare(
        "parameter", before.parameters, after.parameters, _param_changes, lambda p: p.title.zh
    )
    items += _compare(
        "catalogue", before.catalogues, after.catalogues, _catalogue_changes, lambda c: c.title.zh
    )
    items += _compare(
        "variable",
        {v.qualified_name: v for v in before.variables},
        {v.qualified_name: v for v in after.variables},
        _variable_changes,
        lambda v: v.text.strip(),
    )
    items += _compare(
        "rule",
        {r.id: r for r in before.rules},
        {r.id: r for r in after.rules},
        _rule_changes,
        lambda r: f"{r.clause} {r.title.zh}",
    )
    return PolicyDiff(before.ref, after.ref, tuple(items))


# --------------------------------------------------------------------------- findings diff
def later_parameter_changes(
    before: Policy, after: Policy, on: dt.date
) -> tuple[tuple[str, dt.date], ...]:
    """Parameters whose value differs between the policies on some date after ``on``: each
    with the first such date (a diff of findings as of ``on`` cannot show those changes)."""
    out: list[tuple[str, dt.date]] = []
    for name in sorted(before.parameters.keys() | after.parameters.keys()):
        a, b = before.parameters.get(name), after.parameters.get(name)
        starts = {v.start for p in (a, b) if p is not None for v in p.values if v.start > on}
        for d in sorted(starts):
            va, vb = (None if p is None else p.at(d) for p in (a, b))
            if (va and va.value) != (vb and vb.value) or (va is None) != (vb is None):
                out.append((name, d))
                break
    return tuple(out)


def _outcomes(
    findings: Iterable[Finding],
) -> dict[tuple[str, str, str], tuple[str, Decimal | None]]:
    return {
        (f.rule_id, f.subject_kind, f.subject_id): (f.verdict.value, f.amount) for f in findings
    }


def diff_findings(
    before: Policy,
    after: Policy,
    dataset: Dataset,
    on: dt.date,
    *,
    engine: str = "reference",
    ignore_period: bool = False,
) -> FindingsDiff:
    """Run ``dataset`` through both policies as of ``on``; list the findings that differ.

    Not-applicable findings are kept, so a subject that a changed ``applies_if`` brings into (or
    out of) a rule shows as ``not_applicable → pass``. A rule present in one policy only shows
    ``— → ...`` for each of its subjects. ``engine`` defaults to ``reference`` (the plain
    interpreter) so a diff never depends on the inference engine being importable.
    ``ignore_period``: run both as if in force on ``on`` (their ``effective`` periods cleared),
    to compare the content of a package with its successor of another year; otherwise a policy
    outside its own period gives not-applicable findings (issue 12).
    """
    from fupin_rules.api import get_engine

    def in_force(p: Policy) -> Policy:
        if not ignore_period:
            return p
        meta = attrs.evolve(p.meta, effective_start=None, effective_end=None)
        return attrs.evolve(p, meta=meta)

    runs = [
        run_policy(in_force(p), dataset, on, engine=get_engine(engine), keep_not_applicable=True)
        for p in (before, after)
    ]
    a, b = _outcomes(runs[0].findings), _outcomes(runs[1].findings)
    changes: list[FindingChange] = []
    for key in sorted(a.keys() | b.keys()):
        x, y = a.get(key), b.get(key)
        if x == y:
            continue
        changes.append(
            FindingChange(
                rule_id=key[0],
                subject_kind=key[1],
                subject_id=key[2],
                before_verdict=x[0] if x else None,
                after_verdict=y[0] if y else None,
                before_amount=x[1] if x else None,
                after_amount=y[1] if y else None,
            )
        )
    return FindingsDiff(
        before=before.ref,
        after=after.ref,
        on=on,
        engine=runs[0].engine,
        compared=len(a.keys() | b.keys()),
        changes=tuple(changes),
        later=later_parameter_changes(before, after, on),
        out_of_period=tuple(
            p.ref for p in (before, after) if not ignore_period and not _in_period(p, on)
        ),
    )


def _in_period(policy: Policy, on: dt.date) -> bool:
    start, end = policy.effective
    return (start is None or start <= on) and (end is None or on <= end)


# --------------------------------------------------------------------------- rendering
def render_diff(
    policy_diff: PolicyDiff, findings: FindingsDiff | None = None, *, limit: int = 20
) -> str:
    """A plain-text report: item changes by kind, then (with data) changed findings.

    ``limit`` caps the individual findings listed (0 = all); the per-rule summary is complete.
    """
    lines = [f"--- {policy_diff.before}", f"+++ {policy_diff.after}"]
    if policy_diff.identical:
        lines.append("no differences in parameters, rules, catalogues, variables or clauses")
    for kind in KINDS:
        group = policy_diff.of(kind)
        if not group:
            continue
        counts = Counter(i.change for i in group)
        summary = ", ".join(
            f"{counts[c]} {c}" for c in ("added", "removed", "changed") if counts[c]
        )
        lines.append("")
        lines.append(f"{_HEADINGS[kind]}: {summary}")
        lines.extend(i.render() for i in group)
    if findings is not None:
        lines.append("")
        lines.append(
            f"findings as of {findings.on.isoformat()} ({findings.engine} engine): "
            f"{len(findings.changes)} of {findings.compared} changed"
        )
        for rule_id, counter in findings.by_rule().items():
            moves = ", ".join(f"{t}: {n}" for t, n in sorted(counter.items()))
            lines.append(f"  {rule_id}  {moves}")
        shown = findings.changes if limit <= 0 else findings.changes[:limit]
        if shown:
            lines.append("")
            lines.append("rule | subject | before → after")
        for c in shown:
            lines.append(
                f"{c.rule_id} | {c.subject_kind} {c.subject_id} | {c.before}{_ARROW}{c.after}"
            )
        hidden = len(findings.changes) - len(shown)
        if hidden > 0:
            lines.append(f"... {hidden} more (use --limit 0 or --format json)")
        lines.extend(_hints(findings))
    return "\n".join(lines)


def _hints(findings: FindingsDiff) -> list[str]:
    """Why a diff of findings on one date may show less (or other) change than expected."""
    on = findings.on.isoformat()
    out = [
        f"note: {ref} is not in force on {on} (outside its effective period): its findings are "
        "not applicable; pass --on within its period, or --ignore-period to compare content"
        for ref in findings.out_of_period
    ]
    out.extend(
        f"note: parameter {name} differs only from {d.isoformat()}, after {on}: "
        f"rerun with --on {d.isoformat()} to see the findings it changes"
        for name, d in findings.later
    )
    return ([""] if out else []) + out


def _json_amount(value: Decimal | None) -> str | None:
    return None if value is None else format_value(value)


def diff_to_json(policy_diff: PolicyDiff, findings: FindingsDiff | None = None) -> dict[str, Any]:
    """The diff as JSON-ready data (amounts as exact decimal strings)."""
    doc: dict[str, Any] = {
        "before": policy_diff.before,
        "after": policy_diff.after,
        "items": [
            {"kind": i.kind, "name": i.name, "change": i.change, "details": list(i.details)}
            for i in policy_diff.items
        ],
    }
    if findings is not None:
        doc["findings"] = {
            "on": findings.on.isoformat(),
            "engine": findings.engine,
            "compared": findings.compared,
            "changes": [
                {
                    "rule": c.rule_id,
                    "subject_kind": c.subject_kind,
                    "subject": c.subject_id,
                    "before": {
                        "verdict": c.before_verdict,
                        "amount": _json_amount(c.before_amount),
                    },
                    "after": {"verdict": c.after_verdict, "amount": _json_amount(c.after_amount)},
                }
                for c in findings.changes
            ],
        }
        if findings.later:  # changes this date cannot show (see render_diff's notes)
            doc["findings"]["later_parameter_changes"] = [
                {"parameter": name, "from": d.isoformat()} for name, d in findings.later
            ]
        if findings.out_of_period:
            doc["findings"]["not_in_force"] = list(findings.out_of_period)
    return doc
