"""Policy loader, part 3: the state shared by the section readers (clauses, parameters,
what was read), clause citations and expression checks.

Moved unchanged out of :mod:`fupin_rules.policy.loader`, which puts the parts together.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fupin_rules.errors import ExpressionError
from fupin_rules.errors import did_you_mean as _did_you_mean
from fupin_rules.expr import Expr, Schema, Type, check, parse
from fupin_rules.policy._loader_values import _VarRaw
from fupin_rules.policy._loader_yaml import _Problems, _Reader
from fupin_rules.policy.model import Catalogue, ClauseInfo, Parameter, Policy, Rule


class _BuilderBase:
    """The state the section readers share: clauses, what was read so far, problems."""

    def __init__(
        self,
        root: Path,
        problems: _Problems,
        clauses: dict[str, ClauseInfo],
        schema: Schema,
        parent: Policy | None,
    ) -> None:
        self.root = root
        self.p = problems
        self.clauses = clauses
        self.base_schema = schema
        self.parent = parent
        self.parameters: dict[str, Parameter] = dict(parent.parameters) if parent else {}
        self.catalogues: dict[str, Catalogue] = dict(parent.catalogues) if parent else {}
        self.var_raw: dict[str, _VarRaw] = {}
        if parent:
            for v in parent.variables:
                self.var_raw[v.qualified_name] = (
                    v.entity,
                    v.name,
                    v.title,
                    v.type,
                    v.text,
                    v.clause,
                    v.origin,
                    v.status,
                    v.note,
                )
        self.rule_raw: dict[str, tuple[Any, _Reader]] = {}
        self.parent_rules: dict[str, Rule] = {r.id: r for r in parent.rules} if parent else {}
        self.rule_order: list[str] = [r.id for r in parent.rules] if parent else []
        self.fixtures: dict[str, Any] = {}
        self.case_raw: list[tuple[Any, _Reader]] = []

    def _clause(self, node: Mapping[str, Any], r: _Reader, what: str, required: bool = True) -> str:
        val = node.get("clause")
        if val is None and not required:
            return ""
        cid = str(val)
        if cid not in self.clauses:
            self.p.add(
                r.at(node, "clause"),
                f"{what}.clause: {cid!r} is not listed in policy.yaml clauses"
                f"{_did_you_mean(cid, [c for c, info in self.clauses.items() if not info.text_missing])}",
            )
        elif self.clauses[cid].text_missing:
            self.p.add(
                r.at(node, "clause"),
                f"{what}.clause: {cid!r} has no source text (text_missing); nothing can cite it",
            )
        return cid

    def _parse_check(
        self, text: str, origin: str, schema: Schema, entity: str, want: Type | None, what: str
    ) -> Expr | None:
        try:
            expr = parse(text, origin=origin)
            got = check(
                expr,
                schema,
                entity,
                params={n: p.type for n, p in self.parameters.items()},
                catalogues=set(self.catalogues),
                origin=origin,
                text=text,
            )
        except ExpressionError as exc:
            self.p.items.append(f"{what}: {exc}")
            return None
        if want is not None and got != want:
            self.p.add(origin, f"{what}: expression has type {got}, expected {want}: {text}")
        return expr
