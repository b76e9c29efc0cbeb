"""The columnar batch engine: every rule of a policy over whole tables, one pass per entity kind.

Design
------
* **One meaning.** Rules, conditions, amounts, outputs and derived variables are compiled from
  the same IR the reference interpreter runs (:mod:`fupin_rules.batch.compiler`); no rule is
  written twice.
* **Strata.** A derived variable is materialised as columns of its kind's frame the first time it
  is needed, which orders the work by dependency: person and household values first, then
  village aggregates over them (``group_by`` the village index), village variables, and county
  aggregates over villages. This is the stratum order of :mod:`fupin_rules.engine.plan`, found
  from the expressions instead of declared. The subjects of each kind are those the reference
  plan visits (records whose stratum owner exists).
* **Exactness.** Numbers are rationals: ``Int128`` numerators over denominators that are static
  per column (yuan are fen over 100, a rate column of *s* decimals is over ``10**s``, counts
  over 1) or ``Int128`` columns after a division. Every comparison is done by
  cross-multiplication, ``a/b < c/d  <=>  a*d < c*b`` (denominators are kept positive), so
  1 poor person of 50 residents is exactly 2 % and 49 999.99 yuan is below 50 000. No binary
  float is used for any number.
* **Unknown** is ``null``; Kleene logic is polars' own ``&``/``|``/``~`` on nullable Booleans.
  Aggregates over children with unknown parts are intervals ``(lo, hi, missing)`` compared as
  the interpreter compares them.
* **Fused reductions.** Before the rules run, the aggregates they reach are reduced together
  per owner kind and collection (:meth:`~fupin_rules.batch.compiler.Compiler.prefetch`): one
  pass over the documents for all the archive rules' counts.
* **Errors.** A rule that cannot be compiled, evaluated or explained becomes one
  :class:`~fupin_rules.engine.run.SubjectError` row (``rule_id`` set, subject ``*``); the
  other rules run as usual.

Explanations
------------
:func:`evaluate_batch` turns result rows into :class:`~fupin_rules.findings.model.Finding`
objects equal to the reference engine's: verdict, amount, outputs, each condition's outcome,
the values read at the subject's own scope (fields, parent paths, derived variables and
aggregates, in evaluation order, honouring ``and``/``or``/``coalesce`` short-circuits), the
parameters used (with their periods) and the missing input fields behind unknown conditions.
Missing fields are reproduced for fields read directly or through parent paths and derived
variables of the subject's own scope chain; children behind an unknown aggregate are named
in the same order and up to the same limit (see :mod:`fupin_rules.batch.explain`). The
explanation reads what :func:`compile_rule` recorded while compiling the rule
(:attr:`RuleFrame.sites`, :mod:`fupin_rules.batch.sites`): the rule is walked once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
import polars as pl

from fupin_rules.batch.compiler import RULE_ERRORS, Compiler
from fupin_rules.batch.frames import KEY, Tables, tables_from_dataset, tables_from_frames
from fupin_rules.batch.plan import rule_error, subject_mask
from fupin_rules.batch.sites import ExprSites, Recorder, RuleSites
from fupin_rules.batch.values import ConstList, NumV, Value, kleene_all
from fupin_rules.domain.dataset import DataIssue, Dataset, LoadResult
from fupin_rules.engine.run import Evaluation, SubjectError, tallies_from_counts
from fupin_rules.expr.ir import Expr
from fupin_rules.policy.discovery import resolve_policy
from fupin_rules.policy.model import Policy, Rule

#: the public names; ``prepare``, ``compile_rule`` and ``rule_roots`` are internal (the
#: partitioned runner in scale/ and the benchmarks use them)
__all__ = ["OUTCOME", "BatchResult", "RuleFrame", "compute", "evaluate_batch"]

Materialize = Literal["non_pass", "reports", "all", "none"]

VERDICT = "verdict"
SUBJECT = "subject_id"

#: dtype of the verdict and outcome columns: a polars ``Enum`` (a string column read as text
#: by ``to_list``/``==``; built about 10x faster than a ``String`` column, measured)
OUTCOME = pl.Enum(["pass", "fail", "unknown", "not_applicable"])


def _word(text: str) -> pl.Expr:
    return pl.lit(text, dtype=OUTCOME)


def outcome_expr(b: pl.Expr) -> pl.Expr:
    """``pass``/``fail``/``unknown`` of a nullable Boolean (dtype :data:`OUTCOME`)."""
    return (
        pl.when(b.is_null())
        .then(_word("unknown"))
        .when(b)
        .then(_word("pass"))
        .otherwise(_word("fail"))
    )


@attrs.define
class RuleFrame:
    """One rule's results: a frame with a row per subject and how to read its columns.

    Columns: ``subject_id``, ``verdict`` (``pass``/``fail``/``unknown``/``not_applicable``, dtype
    :data:`OUTCOME`),
    ``amount.n``/``amount.d`` (exact amount = n/d, null unless the verdict is pass),
    ``applies_if`` and ``cond.<id>`` (outcome of each condition; null when not evaluated), and
    the columns of each output (``out.<name>...``).
    """

    rule: Rule
    frame: pl.DataFrame
    outputs: dict[str, Value] = attrs.field(factory=dict)
    #: the compiled parts and their read sites, recorded while compiling the rule (what the
    #: explainer reads); None for a rule not in force
    sites: RuleSites | None = None


@attrs.define
class BatchResult:
    """Per-rule frames of one run and the compiler that produced them (for explanations)."""

    policy: Policy
    on: dt.date
    rules: dict[str, RuleFrame]
    compiler: Compiler
    issues: tuple[DataIssue, ...] = ()
    #: rules that could not be evaluated (one row each, ``subject_id="*"``); the others ran
    errors: tuple[SubjectError, ...] = ()

    def frame(self, rule_id: str) -> pl.DataFrame:
        """The result frame of one rule."""
        return self.rules[rule_id].frame

    def counts(self) -> dict[str, dict[str, int]]:
        """Verdict counts per rule."""
        out: dict[str, dict[str, int]] = {}
        for rid, rf in self.rules.items():
            vc = rf.frame[VERDICT].value_counts()
            out[rid] = {str(k): int(n) for k, n in vc.iter_rows()}
        return out


def prepare(policy: Policy, data: Any, bookkeeping: Iterable[str] = ()) -> Tables:
    """Tables from a Dataset, a LoadResult or a dict of polars DataFrames.

    Frames are checked (see :func:`~fupin_rules.batch.frames.tables_from_frames`);
    ``bookkeeping`` names the columns the library itself added to frames it wrote.
    """
    if isinstance(data, LoadResult):
        tables = tables_from_dataset(data.dataset, policy.schema)
        tables.issues = data.issues
        return tables
    if isinstance(data, Dataset):
        return tables_from_dataset(data, policy.schema)
    if isinstance(data, Tables):
        return data
    if isinstance(data, Mapping):
        return tables_from_frames(data, policy.schema, bookkeeping)
    raise TypeError(f"cannot evaluate {type(data).__name__}: pass a Dataset, LoadResult or frames")


def _output_columns(name: str, v: Value, mask: pl.Expr) -> dict[str, pl.Expr]:
    def keep(e: pl.Expr) -> pl.Expr:
        return pl.when(mask).then(e).otherwise(None)

    base = f"out.{name}"
    if isinstance(v, NumV):
        cols = {f"{base}.lo_n": keep(v.lo.num), f"{base}.lo_d": keep(v.lo.den_expr())}
        hi = v.upper
        cols[f"{base}.hi_n"] = keep(hi.num)
        cols[f"{base}.hi_d"] = keep(hi.den_expr())
        cols[f"{base}.m"] = keep(v.missing())
        return cols
    if isinstance(v, ConstList):
        return {}
    return {base: keep(v.e)}


def compile_rule(compiler: Compiler, rule: Rule) -> RuleFrame:
    """The result frame of one rule over every subject of its kind.

    ``applies_if``, each condition and their conjunction are computed once as temporary
    columns (``__rule.*``) that the verdict, the condition outcomes, the amount and the outputs
    read; spelled out inline, each output repeated the whole verdict (measured: most of a
    rule's time).
    """
    kind = rule.entity
    if not compiler.policy.in_force(rule, compiler.on):
        return _not_in_force(compiler, rule)
    exprs: dict[str, pl.Expr] = {SUBJECT: pl.col(KEY)}
    pre: dict[str, pl.Expr] = {}
    applies: pl.Expr | None = None
    applies_sites = amount_sites = None
    if rule.applies_if is not None:
        rec = Recorder()
        pre["__rule.applies"] = compiler.boolean(rule.applies_if.expr, kind, rec)
        applies_sites = rec.done(kind, rule.applies_if.expr)
        applies = pl.col("__rule.applies")
    conds: list[pl.Expr] = []
    cond_sites: list[ExprSites] = []
    for i, c in enumerate(rule.conditions):
        rec = Recorder()
        pre[f"__rule.c{i}"] = compiler.boolean(c.expr, kind, rec)
        cond_sites.append(rec.done(kind, c.expr))
        conds.append(pl.col(f"__rule.c{i}"))
    all_expr = kleene_all(conds)
    all_pass = pl.col("__rule.all")
    cond_verdict = outcome_expr(all_pass)
    if applies is None:
        verdict = cond_verdict
        evaluated: pl.Expr = pl.lit(True)
        applicable: pl.Expr = pl.lit(True)
    else:
        exprs["applies_if"] = outcome_expr(applies)
        evaluated = applies.fill_null(False)
        applicable = applies.is_null() | applies  # verdict != "not_applicable"
        verdict = (
            pl.when(applies.is_null())
            .then(_word("unknown"))
            .when(applies)
            .then(cond_verdict)
            .otherwise(_word("not_applicable"))
        )
    exprs[VERDICT] = verdict
    for c, e in zip(rule.conditions, conds, strict=True):
        exprs[f"cond.{c.id}"] = pl.when(evaluated).then(outcome_expr(e)).otherwise(None)
    passed = evaluated & all_pass.fill_null(False)  # verdict == "pass"
    if rule.amount is not None:
        rec = Recorder()
        amount = compiler.value(rule.amount.expr, kind, rec)
        amount_sites = rec.done(kind, rule.amount.expr)
        if not isinstance(amount, NumV):
            raise TypeError(f"rule {rule.id}: the amount is not a number")
        point = amount.is_point().fill_null(False) if amount.hi is not None else pl.lit(True)
        ok = passed & point & amount.lo.num.is_not_null()
        exprs["amount.n"] = pl.when(ok).then(amount.lo.num).otherwise(None)
        exprs["amount.d"] = pl.when(ok).then(amount.lo.den_expr()).otherwise(None)
        # an amount that is not known (a parameter before its first value) is never a pass
        exprs[VERDICT] = pl.when(passed & ~ok).then(_word("unknown")).otherwise(verdict)
    outputs: dict[str, Value] = {}
    output_sites: list[ExprSites] = []
    for out in rule.outputs:
        rec = Recorder()
        v = compiler.value(out.expr, kind, rec)
        output_sites.append(rec.done(kind, out.expr))
        outputs[out.id] = v
        exprs.update(_output_columns(out.id, v, applicable))
    mask = subject_mask(compiler, kind)
    frame = compiler.frame(kind)
    result = (
        frame.lazy()
        .filter(mask)
        .with_columns([e.alias(n) for n, e in pre.items()])
        .with_columns(all_expr.alias("__rule.all"))
        .select([e.alias(n) for n, e in exprs.items()])
        .collect()
    )
    sites = RuleSites(
        pre.get("__rule.applies"),
        tuple(pre[f"__rule.c{i}"] for i in range(len(rule.conditions))),
        applies_sites,
        tuple(cond_sites),
        amount_sites,
        tuple(output_sites),
    )
    return RuleFrame(rule, result, outputs, sites)


def _not_in_force(compiler: Compiler, rule: Rule) -> RuleFrame:
    """The frame of a rule that does not answer a question dated ``on``: not applicable for
    every subject (see :meth:`~fupin_rules.policy.model.Policy.in_force`)."""
    exprs: dict[str, pl.Expr] = {SUBJECT: pl.col(KEY), VERDICT: _word("not_applicable")}
    if rule.applies_if is not None:
        exprs["applies_if"] = _word("fail")
    for c in rule.conditions:
        exprs[f"cond.{c.id}"] = pl.lit(None, dtype=OUTCOME)
    mask = subject_mask(compiler, rule.entity)  # may add the owner index to the frame
    frame = compiler.frame(rule.entity)
    result = frame.lazy().filter(mask).select([e.alias(n) for n, e in exprs.items()]).collect()
    return RuleFrame(rule, result, {})


def compute(policy: Policy, frames: Any, on: dt.date) -> BatchResult:
    """Evaluate every rule of ``policy`` as of ``on``: one result frame per rule (no objects).

    ``frames``: a dict of polars DataFrames keyed by table name, a Dataset or a LoadResult.
    """
    tables = prepare(policy, frames)
    compiler = Compiler(policy, tables, on)
    rules = list(_rules_in_stratum_order(policy))
    compiler.prefetch(rule_roots(rules))
    results: dict[str, RuleFrame] = {}
    errors: list[SubjectError] = []
    for rule in rules:
        try:
            results[rule.id] = compile_rule(compiler, rule)
        except RULE_ERRORS as exc:
            errors.append(rule_error(compiler, rule, exc))
    return BatchResult(policy, on, results, compiler, tables.issues, tuple(errors))


def rule_roots(rules: Iterable[Rule]) -> Iterator[tuple[str, Expr]]:
    """(kind, expression) of everything :func:`compile_rule` compiles for these rules."""
    for rule in rules:
        for _, e in rule.expressions():
            yield rule.entity, e


def _rules_in_stratum_order(policy: Policy) -> Iterator[Rule]:
    strata = {"household": 0, "village": 1, "county": 2}
    from fupin_rules.engine.plan import OWNER

    yield from sorted(policy.rules, key=lambda r: strata[OWNER[r.entity]])


def evaluate_batch(
    policy: Policy | str | Path,
    data: Dataset | LoadResult | Mapping[str, Any],
    on: dt.date,
    *,
    materialize: Materialize = "non_pass",
    keep_not_applicable: bool = False,
) -> Evaluation:
    """Run ``policy`` over ``data`` as of ``on`` with the batch engine.

    ``materialize``: ``"all"`` builds every applicable finding (equal to the reference
    engine's); ``"non_pass"`` (default) only the failing and unknown ones (the problem list and
    the data to collect); ``"none"`` no finding objects (counts only: use :func:`compute` for
    the frames); ``"reports"`` the failing and unknown ones plus the passing findings of
    village and county rules (what the HTML charts draw: criteria pass rates, target progress).
    Not-applicable findings are counted, and kept only if ``keep_not_applicable``. Whatever
    the mode, ``Evaluation.tallies`` counts every verdict of every rule, so reports show the
    same counts as the other engines'.
    """
    from fupin_rules.batch.explain import materialize_findings

    pol = resolve_policy(policy)
    result = compute(pol, data, on)
    errors = list(result.errors)
    findings, na = materialize_findings(result, materialize, keep_not_applicable, errors)
    failed_rules = {e.rule_id for e in errors if e.subject_id == "*"}
    counts = {rid: c for rid, c in result.counts().items() if rid not in failed_rules}
    return Evaluation.of(
        pol,
        on,
        "batch",
        findings,
        errors=errors,
        data_issues=result.issues,
        not_applicable_count=na,
        tallies=tallies_from_counts(pol, counts),
    )
