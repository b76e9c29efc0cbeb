"""Policy loader, part 5: rules (applies_if, conditions, amount, outputs).

Moved unchanged out of :mod:`fupin_rules.policy.loader`, which puts the parts together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fupin_rules.errors import did_you_mean as _did_you_mean
from fupin_rules.expr import BOOL, NUMBER, Schema, Type
from fupin_rules.policy._loader_base import _BuilderBase
from fupin_rules.policy._loader_values import _ID, _KINDS, _STATUSES, _expr_text
from fupin_rules.policy._loader_yaml import _Reader
from fupin_rules.policy.model import Condition, Rule, Text


class _RulesBuilder(_BuilderBase):
    """Builds the rules (after the variables, against the extended schema)."""

    def _condition(
        self,
        node: Any,
        r: _Reader,
        schema: Schema,
        entity: str,
        what: str,
        want: Type | None,
        key: str = "expr",
    ) -> Condition | None:
        if isinstance(node, Mapping):
            allowed = {"id", "title", "expr"}
            if not r.mapping(node, what, allowed, {"id", "title", "expr"}):
                return None
            cid = str(node.get("id"))
            if not _ID.match(cid):
                self.p.add(r.at(node, "id"), f"{what}.id: {cid!r} must match [a-z][a-z0-9_]*")
            text = _expr_text(node.get(key))
            title = r.text(node, "title", what)
            origin = r.at(node, key)
        else:
            cid, title, text, origin = (
                what.rsplit(".", 1)[-1],
                Text("", ""),
                _expr_text(node),
                r.at(node),
            )
        if text is None:
            self.p.add(origin, f"{what}: expected an expression")
            return None
        expr = self._parse_check(text, origin, schema, entity, want, what)
        return Condition(cid, title, expr, text, origin) if expr is not None else None

    def _rule(self, node: Any, r: _Reader, schema: Schema) -> Rule | None:
        rid = node["id"]
        what = f"rules.{rid}"
        keys = {
            "id",
            "clause",
            "title",
            "entity",
            "kind",
            "status",
            "note",
            "applies_if",
            "conditions",
            "amount",
            "outputs",
        }
        if not r.mapping(
            node, what, keys, {"id", "clause", "title", "entity", "kind", "status", "conditions"}
        ):
            return None
        entity = str(node.get("entity"))
        if entity not in schema.entities:
            self.p.add(
                r.at(node, "entity"),
                f"{what}.entity: unknown entity {entity!r}{_did_you_mean(entity, schema.entities)}",
            )
            return None
        kind = r.choice(node, "kind", what, _KINDS)
        status = r.choice(node, "status", what, _STATUSES)
        if status == "assumed" and not node.get("note"):
            self.p.add(r.at(node), f"{what}: an assumed rule needs a note saying what is assumed")
        applies = None
        if node.get("applies_if") is not None:
            applies = self._applies(node, r, schema, entity, what)
        conds: list[Condition] = []
        raw_conds = node.get("conditions")
        if not isinstance(raw_conds, list) or not raw_conds:
            self.p.add(r.at(node, "conditions"), f"{what}.conditions: expected a non-empty list")
            raw_conds = []
        for i, c in enumerate(raw_conds):
            cond = self._condition(c, r, schema, entity, f"{what}.conditions[{i}]", BOOL)
            if cond is not None:
                conds.append(cond)
        ids = [c.id for c in conds]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            self.p.add(
                r.at(node, "conditions"), f"{what}.conditions: duplicate condition id {dup!r}"
            )
        amount = None
        if node.get("amount") is not None:
            if kind != "eligibility":
                self.p.add(
                    r.at(node, "amount"), f"{what}.amount: only eligibility rules have an amount"
                )
            amount = self._amount(node, r, schema, entity, what)
        outputs: list[Condition] = []
        raw_out = node.get("outputs") or {}
        if not isinstance(raw_out, Mapping):
            self.p.add(
                r.at(node, "outputs"), f"{what}.outputs: expected a mapping name -> expression"
            )
            raw_out = {}
        for oname, ovalue in raw_out.items():
            owhat = f"{what}.outputs.{oname}"
            titled = self._titled(ovalue, r, owhat, raw_out, oname)
            if titled is None:
                continue
            title, otext, holder, key = titled
            text = _expr_text(otext)
            origin = r.at(holder, key)
            if text is None:
                self.p.add(origin, f"{owhat}: expected an expression")
                continue
            expr = self._parse_check(text, origin, schema, entity, None, owhat)
            if expr is not None:
                outputs.append(
                    Condition(str(oname), title or Text(str(oname), str(oname)), expr, text, origin)
                )
        return Rule(
            id=rid,
            clause=self._clause(node, r, what),
            title=r.text(node, "title", what),
            entity=entity,
            kind=kind,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            note=str(node.get("note") or ""),
            applies_if=applies,
            conditions=tuple(conds),
            amount=amount,
            outputs=tuple(outputs),
            origin=r.at(node),
        )

    def _applies(
        self, node: Any, r: _Reader, schema: Schema, entity: str, what: str
    ) -> Condition | None:
        titled = self._titled(node.get("applies_if"), r, f"{what}.applies_if", node, "applies_if")
        if titled is None:
            return None
        title, raw, holder, key = titled
        text = _expr_text(raw)
        origin = r.at(holder, key)
        if text is None:
            self.p.add(origin, f"{what}.applies_if: expected an expression")
            return None
        expr = self._parse_check(text, origin, schema, entity, BOOL, f"{what}.applies_if")
        return (
            Condition("applies_if", title or Text("适用范围", "applies if"), expr, text, origin)
            if expr
            else None
        )

    def _titled(
        self, value: Any, r: _Reader, what: str, parent: Any = None, key: Any = None
    ) -> tuple[Text | None, Any, Any, Any] | None:
        """An expression written bare or as ``{title: {zh, en}, expr: ...}`` (outputs and
        ``applies_if``): (title or None, the expression, where it is). None after an error."""
        if not isinstance(value, Mapping):
            return None, value, parent, key
        if not r.mapping(value, what, {"title", "expr"}, {"title", "expr"}):
            return None
        return r.text(value, "title", what), value.get("expr"), value, "expr"

    def _amount(
        self, node: Any, r: _Reader, schema: Schema, entity: str, what: str
    ) -> Condition | None:
        text = _expr_text(node.get("amount"))
        origin = r.at(node, "amount")
        if text is None:
            self.p.add(origin, f"{what}.amount: expected an expression")
            return None
        expr = self._parse_check(text, origin, schema, entity, NUMBER, f"{what}.amount")
        return Condition("amount", Text("金额", "amount"), expr, text, origin) if expr else None
