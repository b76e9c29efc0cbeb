"""Which subjects the batch engine evaluates, following the reference plan, and the error row
of a rule it could not evaluate (shared by the engine, the explainer and the Dask runner)."""

from __future__ import annotations

import polars as pl

from fupin_rules.batch.compiler import RULE_ERRORS, Compiler
from fupin_rules.domain.entities import ENTITIES
from fupin_rules.engine.plan import OWNER
from fupin_rules.engine.run import SubjectError
from fupin_rules.policy.model import Rule

__all__ = ["CHARTED_KINDS", "PLAN_OWNER", "rule_error", "subject_mask"]

#: kinds whose passing findings the ``reports`` mode lists (few subjects; the charts show them)
CHARTED_KINDS = frozenset({"village", "county"})

#: entity kind -> (owner kind, collection) through which the reference plan visits it
PLAN_OWNER: dict[str, tuple[str, str] | None] = ENTITIES.plan_owner


def subject_mask(compiler: Compiler, kind: str) -> pl.Expr:
    """The subjects of a kind the reference plan visits."""
    owner = PLAN_OWNER.get(kind)
    if owner is None:
        return pl.lit(True)
    _, index = compiler.owner_index(*owner)
    return pl.col(index).is_not_null()


def rule_error(compiler: Compiler, rule: Rule, exc: BaseException) -> SubjectError:
    """The error row of a rule the batch engine could not evaluate (all its subjects)."""
    kind = rule.entity
    try:
        n: int | None = compiler.frame(kind).filter(subject_mask(compiler, kind)).height
    except RULE_ERRORS:
        n = None
    who = f"{n} {kind} subjects" if n is not None else f"the {kind} subjects"
    return SubjectError(
        OWNER[kind],
        kind,
        "*",
        f"rule {rule.id}: the batch engine could not evaluate it; its findings for {who} are "
        f"missing (规则评估失败，该规则的结论缺失) — {type(exc).__name__}: {exc}",
        rule.id,
    )
