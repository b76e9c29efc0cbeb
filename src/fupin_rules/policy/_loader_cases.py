"""Policy loader, part 6: cases (fixtures, data, changes, expectations).

Moved unchanged out of :mod:`fupin_rules.policy.loader`, which puts the parts together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fupin_rules.domain.dataset import TABLES, short_repr
from fupin_rules.errors import did_you_mean as _did_you_mean
from fupin_rules.policy._loader_base import _BuilderBase
from fupin_rules.policy._loader_values import (
    _VERDICTS,
    _expected_value,
    _not_a_number,
    _number,
    _plain,
)
from fupin_rules.policy._loader_yaml import _Reader
from fupin_rules.policy.model import Case, Expectation


class _CasesBuilder(_BuilderBase):
    """Builds the cases (after the rules, whose ids they name)."""

    def _merged(self, base: Any, node: Any, r: _Reader, what: str) -> dict[str, Any]:
        """The case's data: ``base`` with the case's ``changes`` applied (problems recorded)."""
        changes = _plain(node.get("changes") or {})
        if not isinstance(base, Mapping) or not isinstance(changes, Mapping):
            self.p.add(r.at(node), f"{what}: data, fixtures and changes must be mappings of tables")
            return {}
        try:
            return _merge_changes(base, changes)
        except (ValueError, TypeError) as exc:
            self.p.add(r.at(node, "changes"), f"{what}.changes: {exc}")
            return dict(base)

    def _case(self, node: Any, r: _Reader, rule_ids: set[str]) -> Case | None:
        keys = {"id", "title", "on", "data", "fixture", "changes", "expect", "note"}
        what = f"cases.{node.get('id') if isinstance(node, Mapping) else '?'}"
        if not r.mapping(node, what, keys, {"id", "on", "expect"}):
            return None
        on = r.date(node, "on", what)
        if "data" in node and "fixture" in node:
            self.p.add(r.at(node), f"{what}: give either data or fixture, not both")
        if "fixture" in node:
            fx = str(node["fixture"])
            if fx not in self.fixtures:
                self.p.add(
                    r.at(node, "fixture"),
                    f"{what}.fixture: unknown fixture {fx!r}{_did_you_mean(fx, self.fixtures)}",
                )
                return None
            data = self._merged(self.fixtures[fx], node, r, what)
        elif "data" in node:
            data = self._merged(_plain(node["data"]), node, r, what)
        else:
            self.p.add(r.at(node), f"{what}: needs data or fixture")
            return None
        expects: list[Expectation] = []
        for i, e in enumerate(node.get("expect") or []):
            ew = f"{what}.expect[{i}]"
            if not r.mapping(
                e,
                ew,
                {"rule", "subject", "verdict", "amount", "conditions", "outputs"},
                {"rule", "subject"},
            ):
                continue
            rule = str(e["rule"])
            if rule not in rule_ids:
                self.p.add(
                    r.at(e, "rule"),
                    f"{ew}.rule: unknown rule {rule!r}{_did_you_mean(rule, rule_ids)}",
                )
            verdict = e.get("verdict")
            if verdict is not None and verdict not in _VERDICTS:
                self.p.add(
                    r.at(e, "verdict"),
                    f"{ew}.verdict: {verdict!r} is not one of {', '.join(_VERDICTS)}",
                )
            amount = _number(e["amount"]) if e.get("amount") is not None else None
            if e.get("amount") is not None and amount is None:
                self.p.add(r.at(e, "amount"), f"{ew}.amount: {_not_a_number(e['amount'])}")
            conds = e.get("conditions") or {}
            for cid, cv in conds.items():
                if cv not in _VERDICTS:
                    self.p.add(
                        r.at(conds, cid),
                        f"{ew}.conditions.{cid}: {cv!r} is not one of {', '.join(_VERDICTS)}",
                    )
            outs = e.get("outputs") or {}
            if not isinstance(outs, Mapping):
                self.p.add(r.at(e, "outputs"), f"{ew}.outputs: expected a mapping name -> value")
                outs = {}
            expects.append(
                Expectation(
                    rule,
                    str(e["subject"]),
                    verdict,
                    amount,
                    {str(k): str(v) for k, v in conds.items()},
                    r.at(e),
                    {str(k): _expected_value(v) for k, v in outs.items()},
                )
            )
        if on is None:
            return None
        return Case(
            str(node["id"]), str(node.get("title") or ""), on, data, tuple(expects), r.at(node)
        )


#: table -> the key field that case ``changes`` match records by
_KEYS = {table: cls.key_field for table, cls in TABLES.items()}


def _merge_changes(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Apply case ``changes`` to a fixture: records matched by id are updated, others added.

    A table given as ``null`` in changes removes the table (not supplied -> unknown); a record
    with ``_remove: true`` is deleted.
    """
    out = {
        k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, Mapping) else v)
        for k, v in base.items()
    }
    for table, rows in changes.items():
        if rows is None:
            out.pop(table, None)
            continue
        if table == "county":
            if not isinstance(rows, Mapping):
                raise ValueError("changes.county: expected one record (a mapping)")
            out["county"] = {**dict(out.get("county") or {}), **dict(rows)}
            continue
        key = _KEYS.get(table)
        existing = out.get(table) or []
        if not isinstance(existing, list) or not isinstance(rows, list):
            raise ValueError(f"changes.{table}: expected a list of records")
        current = [dict(x) for x in existing if isinstance(x, Mapping)]
        for row in rows:
            if not isinstance(row, Mapping):
                raise ValueError(
                    f"changes.{table}: expected records (mappings), got {short_repr(row)}"
                )
            rid = row.get(key) if key else None
            match = next((c for c in current if key and c.get(key) == rid), None)
            if row.get("_remove"):
                if match is not None:
                    current.remove(match)
                continue
            if match is not None:
                match.update(row)
            else:
                current.append(dict(row))
        out[table] = current
    return out
