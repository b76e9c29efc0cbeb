"""Findings from the batch result frames, explained like the reference engine explains them.

The reference engine traces every leaf its interpreter reads. Here the same leaves are found
statically (*read sites*: paths and aggregates at the subject's scope, parameters anywhere) and
each gets a *reach* column: whether the interpreter would evaluate it for that subject, given
the short-circuits of ``and``/``or`` and ``coalesce``, the rule's own order (conditions only when
``applies_if`` passes, the amount only on a pass, outputs unless not applicable), and, for
parameters inside an aggregate, whether any child evaluates them. A finding's reads are its
reached sites in source order, first occurrence of each path; its parameters are the reached
parameter sites.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs
import polars as pl

from fupin_rules._gc import gc_paused
from fupin_rules.batch.compiler import RULE_ERRORS, Compiler
from fupin_rules.batch.explain_drill import drill_finder
from fupin_rules.batch.explain_missing import MissingFinder
from fupin_rules.batch.explain_sites import expand
from fupin_rules.batch.frames import KEY
from fupin_rules.batch.plan import CHARTED_KINDS, rule_error, subject_mask
from fupin_rules.batch.sites import ExprSites, RuleSites, Site, not_false
from fupin_rules.batch.values import BoolV, ConstList, DateV, ListV, NumV, StrV, Value
from fupin_rules.engine.evaluate import build_finding, not_in_force, to_decimal_yuan
from fupin_rules.expr.deadline import deadline_state
from fupin_rules.expr.ir import Call, Path
from fupin_rules.expr.values import UNKNOWN, Interval
from fupin_rules.findings.model import (
    ConditionResult,
    DeadlineCheck,
    DrillDown,
    Finding,
    MissingField,
    Outcome,
    ParameterUse,
    ValueRead,
)
from fupin_rules.policy.model import Condition, Rule
from fupin_rules.policy.reads import read_info

__all__ = ["decode", "encode", "materialize_findings"]


# --- encoding values as columns and back ---------------------------------------------------


def encode(prefix: str, v: Value) -> dict[str, pl.Expr]:
    """Columns that hold a value (decoded by :func:`decode`)."""
    if isinstance(v, NumV):
        hi = v.upper
        return {
            f"{prefix}.ln": v.lo.num,
            f"{prefix}.ld": v.lo.den_expr(),
            f"{prefix}.hn": hi.num,
            f"{prefix}.hd": hi.den_expr(),
            f"{prefix}.m": v.missing(),
        }
    if isinstance(v, ConstList):
        return {}
    return {prefix: v.e}


def decode(prefix: str, v: Value, row: dict[str, Any]) -> Any:
    """The interpreter's runtime value from a row's columns."""
    if isinstance(v, NumV):
        ln = row[f"{prefix}.ln"]
        if ln is None:
            return UNKNOWN
        lo = Fraction(ln, row[f"{prefix}.ld"])
        hi = Fraction(row[f"{prefix}.hn"], row[f"{prefix}.hd"])
        if lo == hi:
            return lo
        return Interval(lo, hi, int(row[f"{prefix}.m"]))
    if isinstance(v, ConstList):
        return tuple(v.items)
    raw = row[prefix]
    if raw is None:
        return UNKNOWN
    if isinstance(v, ListV):
        return tuple(raw)
    if isinstance(v, BoolV):
        return bool(raw)
    if isinstance(v, DateV):
        assert isinstance(raw, dt.date)
        return raw
    assert isinstance(v, StrV)
    return raw


def _decoder(prefix: str, v: Value) -> Any:
    """:func:`decode` of one prefix and value as a function of the row (column names bound once)."""
    if isinstance(v, NumV):
        ln, ld, hn, hd, m = (f"{prefix}.{t}" for t in ("ln", "ld", "hn", "hd", "m"))

        def num(row: dict[str, Any]) -> Any:
            n = row[ln]
            if n is None:
                return UNKNOWN
            d, hn_, hd_ = row[ld], row[hn], row[hd]
            if n * hd_ == hn_ * d:  # lo == hi (denominators are positive)
                return Fraction(n, d)
            return Interval(Fraction(n, d), Fraction(hn_, hd_), int(row[m]))

        return num
    if isinstance(v, ConstList):
        items = tuple(v.items)
        return lambda row: items
    if isinstance(v, ListV):
        return lambda row: UNKNOWN if (raw := row[prefix]) is None else tuple(raw)
    if isinstance(v, BoolV):
        return lambda row: UNKNOWN if (raw := row[prefix]) is None else bool(raw)
    if isinstance(v, DateV | StrV):
        return lambda row: UNKNOWN if (raw := row[prefix]) is None else raw
    return lambda row: decode(prefix, v, row)


# --- findings ----------------------------------------------------------------------------------

_OUTCOME = {o.value: o for o in Outcome}


@attrs.define
class _Part:
    """A condition (or applies_if / amount / output) with its sites and column prefixes."""

    cond: Condition | None
    #: the sites as the compiler recorded them (what the missing-data finder reads)
    recorded: ExprSites
    sites: list[tuple[Site, str, str]]  # (site, reach column, value prefix)
    #: per site: (reach column, parameter?, key, decoder, label, parameters behind); built once
    plan: list[tuple[str, str, str, Any, str, tuple[str, ...]]] | None = None


def _amount(n: int | None, d: int | None) -> Decimal | None:
    if n is None or d is None:
        return None
    return to_decimal_yuan(Fraction(n, d))


def materialize_findings(
    result: Any, mode: str, keep_not_applicable: bool, errors: list[Any] | None = None
) -> tuple[list[Finding], int]:
    """Finding objects of a :class:`~fupin_rules.batch.engine.BatchResult`; and the number of
    not-applicable findings.

    ``errors``: if given, a rule whose findings cannot be built (an explanation the batch
    engine cannot compile) adds an error row there and the other rules go on; otherwise the
    error is raised.
    """
    c: Compiler = result.compiler
    findings: list[Finding] = []
    na_total = 0
    missing_finder = MissingFinder(c)
    # hundreds of thousands of small acyclic objects: the cyclic collector's passes over them
    # were a large share of the time (measured)
    with gc_paused():
        na_total = _all_findings(
            c, result, mode, keep_not_applicable, missing_finder, findings, errors
        )
        findings.sort(key=Finding.sort_key)
    return findings, na_total


def _all_findings(
    c: Compiler,
    result: Any,
    mode: str,
    keep_not_applicable: bool,
    missing_finder: MissingFinder,
    findings: list[Finding],
    errors: list[Any] | None,
) -> int:

    na_total = 0
    for _rid, rf in result.rules.items():
        frame: pl.DataFrame = rf.frame
        na = int((frame["verdict"] == "not_applicable").sum())
        na_total += na
        if mode == "none":
            continue
        lean = mode == "non_pass" or (mode == "reports" and rf.rule.entity not in CHARTED_KINDS)
        wanted = ["fail", "unknown"] if lean else ["pass", "fail", "unknown"]
        if keep_not_applicable:
            wanted.append("not_applicable")
        try:
            found = _rule_findings(c, rf.rule, frame, wanted, rf.outputs, rf.sites, missing_finder)
        except RULE_ERRORS as exc:
            if errors is None:
                raise
            errors.append(rule_error(c, rf.rule, exc))
            continue
        findings.extend(found)
    return na_total


def _rule_findings(
    c: Compiler,
    rule: Rule,
    frame: pl.DataFrame,
    wanted: list[str],
    outputs: dict[str, Value],
    recorded: RuleSites | None,
    missing_finder: MissingFinder,
) -> list[Finding]:
    """The findings of one rule from its result frame and what compiling it recorded."""
    kind = rule.entity
    selected = frame.filter(pl.col("verdict").is_in(wanted))
    if selected.height == 0:
        return []
    nif = not_in_force(c.policy, rule, c.on)
    if nif is not None:
        na = Outcome.NOT_APPLICABLE
        return [
            build_finding(rule, c.policy, kind, sid, c.on, na, None, (), (), {}, nif)
            for sid in selected["subject_id"].to_list()
        ]
    # reach of each part of the rule, from the parts and sites compile_rule recorded
    assert recorded is not None  # a rule in force was compiled
    applies = recorded.applies
    evaluated = pl.lit(True) if applies is None else applies.fill_null(False)
    all_pass = pl.lit(True)
    for e in recorded.conditions:
        all_pass = all_pass & e
    passed = evaluated & all_pass.fill_null(False)
    not_na = pl.lit(True) if applies is None else not_false(applies)
    cols: dict[str, pl.Expr] = {"_subject": pl.col(KEY)}
    value_prefix: dict[tuple[str, str], str] = {}
    counter = [0]

    def part(cond: Condition | None, at: ExprSites, reach: pl.Expr) -> _Part:
        entries: list[tuple[Site, str, str]] = []
        for s in expand(c, at, reach):
            assert s.reach is not None
            counter[0] += 1
            rcol = f"_r{counter[0]}"
            cols[rcol] = s.reach
            prefix = ""
            if s.value is not None:
                vk = (s.tag, s.key)
                prefix = value_prefix.get(vk, "")
                if not prefix:
                    prefix = f"_v{len(value_prefix)}"
                    value_prefix[vk] = prefix
                    cols.update(encode(prefix, s.value))
                    if s.deadline is not None:
                        cols.update(encode(f"{prefix}.dl", s.deadline))
            entries.append((s, rcol, prefix))
        return _Part(cond, at, entries)

    applies_part = None
    if rule.applies_if is not None:
        assert recorded.applies_sites is not None
        applies_part = part(rule.applies_if, recorded.applies_sites, pl.lit(True))
    cond_parts = [
        part(x, at, evaluated)
        for x, at in zip(rule.conditions, recorded.condition_sites, strict=True)
    ]
    extra_parts: list[_Part] = []
    if recorded.amount_sites is not None:
        extra_parts.append(part(None, recorded.amount_sites, passed))
    for at in recorded.output_sites:
        extra_parts.append(part(None, at, not_na))
    out_cols: dict[str, pl.Expr] = {}
    for name, v in outputs.items():
        out_cols.update(encode(f"_o.{name}", v))
    cols.update(out_cols)
    mask = subject_mask(c, kind)
    detail = c.frame(kind).lazy().filter(mask).select([e.alias(n) for n, e in cols.items()])
    detail_df = detail.collect()
    # rows of the result frame and of the detail frame are in the same order (same mask)
    keep = frame["verdict"].is_in(wanted)
    detail_df = detail_df.filter(keep)
    policy = c.policy
    found: list[Finding] = []
    for res_row, row in zip(
        selected.iter_rows(named=True), detail_df.iter_rows(named=True), strict=True
    ):
        sid = res_row["subject_id"]
        verdict = _OUTCOME[res_row["verdict"]]
        params: dict[str, ParameterUse] = {}

        applies_result = None
        if applies_part is not None:
            applies_result = _condition_result(
                c,
                kind,
                sid,
                row,
                params,
                missing_finder,
                applies_part,
                _OUTCOME[res_row["applies_if"]],
            )
        results = []
        if applies_result is None or applies_result.outcome is Outcome.PASS:
            for p in cond_parts:
                assert p.cond is not None
                outcome = _OUTCOME[res_row[f"cond.{p.cond.id}"]]
                results.append(
                    _condition_result(c, kind, sid, row, params, missing_finder, p, outcome)
                )
        for p in extra_parts:
            for s, rcol, _ in p.sites:
                if s.tag == "param" and row[rcol] and s.key not in params:
                    params[s.key] = _param_use(c, s.key)
        amount = None
        if rule.amount is not None:
            amount = _amount(res_row.get("amount.n"), res_row.get("amount.d"))
        outs: list[tuple[str, Any]] = []
        if verdict is not Outcome.NOT_APPLICABLE:
            for name, v in outputs.items():
                outs.append((name, decode(f"_o.{name}", v, row)))
        found.append(
            build_finding(
                rule,
                policy,
                kind,
                sid,
                c.on,
                verdict,
                amount,
                outs,
                results,
                params,
                applies_result,
            )
        )
    return found


def _condition_result(
    c: Compiler,
    kind: str,
    sid: str,
    row: dict[str, Any],
    params: dict[str, ParameterUse],
    missing_finder: MissingFinder,
    p: _Part,
    outcome: Outcome,
) -> ConditionResult:
    reads: dict[str, ValueRead] = {}
    deadlines: list[DeadlineCheck] = []
    plan = p.plan if p.plan is not None else _plan(c, kind, p)
    for rcol, tag, key, dec, label, behind in plan:
        if not row[rcol]:
            continue
        if tag == "param":
            if key not in params:
                params[key] = _param_use(c, key)
            continue
        if tag == "deadline":
            record, deadline = dec(row)
            deadlines.append(
                DeadlineCheck(
                    kind,
                    sid,
                    key,
                    label,
                    None if record is UNKNOWN else record,
                    None if deadline is UNKNOWN else deadline,
                    deadline_state(record, deadline, c.on),
                )
            )
            continue
        if key in reads:
            continue
        value = dec(row)
        for name in behind:
            if name not in params:
                params[name] = _param_use(c, name)
        reads[key] = ValueRead(kind, sid, key, value, label)
    missing: tuple[MissingField, ...] = ()
    if outcome is Outcome.UNKNOWN:
        missing = missing_finder.find(kind, sid, p, row)
    children: tuple[DrillDown, ...] = ()
    if outcome is Outcome.FAIL and p.cond is not None:
        children = drill_finder(c).find(kind, sid, p.cond)
    assert p.cond is not None
    return ConditionResult(
        id=p.cond.id,
        title_zh=p.cond.title.zh,
        title_en=p.cond.title.en,
        expr=p.cond.text,
        outcome=outcome,
        reads=tuple(reads.values()),
        missing=missing,
        deadlines=tuple(dict.fromkeys(deadlines)),
        children=children,
    )


def _plan(
    c: Compiler, kind: str, p: _Part
) -> list[tuple[str, str, str, Any, str, tuple[str, ...]]]:
    """What :func:`_condition_result` does per site, with everything row-independent bound."""
    plan: list[tuple[str, str, str, Any, str, tuple[str, ...]]] = []
    for s, rcol, prefix in p.sites:
        if s.tag == "param":
            plan.append((rcol, "param", s.key, None, "", ()))
            continue
        assert s.value is not None
        if s.tag == "deadline":
            assert isinstance(s.node, Call) and isinstance(s.node.args[0], Path)
            path = s.node.args[0].names
            label, _ = read_info(c.policy, kind, path)
            record_of = _decoder(prefix, s.value)
            assert s.deadline is not None
            deadline_of = _decoder(f"{prefix}.dl", s.deadline)
            plan.append(
                (
                    rcol,
                    "deadline",
                    ".".join(path),
                    lambda row, r=record_of, d=deadline_of: (r(row), d(row)),
                    label,
                    (),
                )
            )
            continue
        label = ""
        behind: tuple[str, ...] = ()
        if s.tag == "field":
            label, behind = read_info(c.policy, kind, tuple(s.key.split(".")))
        plan.append((rcol, s.tag, s.key, _decoder(prefix, s.value), label, behind))
    p.plan = plan
    return plan


def _param_use(c: Compiler, name: str) -> ParameterUse:
    """The parameter's use record (immutable; built once per compiler)."""
    key = ("param_use", name)
    found = c.extra.get(key)
    if found is None:
        from fupin_rules.expr.values import to_value

        rp = c.param(name)
        found = ParameterUse(
            name, to_value(rp.value), rp.start, rp.end, rp.status, rp.unit, rp.clause
        )
        c.extra[key] = found
    return found
