"""Policy loader, part 4: parameters (with ``add_values``), catalogues (code lists) and derived
variables (schema extensions).

Moved unchanged out of :mod:`fupin_rules.policy.loader`, which puts the parts together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from fupin_rules.domain.dataset import short_repr
from fupin_rules.errors import did_you_mean as _did_you_mean
from fupin_rules.expr import BOOL, DATE, NUMBER, ListType, Type
from fupin_rules.policy._loader_base import _BuilderBase
from fupin_rules.policy._loader_values import (
    _DOTTED,
    _ID,
    _STATUSES,
    _TYPES,
    _UNITS,
    _expr_text,
    _not_a_number,
    _number,
)
from fupin_rules.policy._loader_yaml import _Reader
from fupin_rules.policy.model import Catalogue, CatalogueItem, Parameter, ParameterValue


class _SectionsBuilder(_BuilderBase):
    """Reads the parameters, catalogues and variables sections."""

    def _parameters(self, body: Any, r: _Reader) -> None:
        if not isinstance(body, Mapping):
            self.p.add(r.at(body), "parameters: expected a mapping name -> parameter")
            return
        keys = {"title", "type", "unit", "clause", "status", "note", "values"}
        for name, node in body.items():
            what = f"parameters.{name}"
            if not isinstance(name, str) or not _DOTTED.match(name):
                self.p.add(r.at(body, name), f"{what}: the name must be dotted lower-case")
            if isinstance(node, Mapping) and "add_values" in node:
                self._add_values(str(name), node, r, body)
                continue
            if not r.mapping(
                node, what, keys, {"title", "type", "unit", "clause", "status", "values"}
            ):
                continue
            tname = str(node.get("type"))
            ptype = _TYPES.get(tname)
            if ptype is None:
                self.p.add(
                    r.at(node, "type"),
                    f"{what}.type: {tname!r} is not one of {', '.join(_TYPES)}{_did_you_mean(tname, _TYPES)}",
                )
                ptype = NUMBER
            unit = r.choice(node, "unit", what, _UNITS)
            status = r.choice(node, "status", what, _STATUSES)
            values = []
            raw_values = node.get("values")
            if not isinstance(raw_values, list) or not raw_values:
                self.p.add(
                    r.at(node, "values"),
                    f"{what}.values: expected a non-empty list of {{start, value}}",
                )
                raw_values = []
            for i, v in enumerate(raw_values):
                vw = f"{what}.values[{i}]"
                if not r.mapping(v, vw, {"start", "value", "status", "note"}, {"start", "value"}):
                    continue
                start = r.date(v, "start", vw)
                value = self._param_value(v.get("value"), ptype, r, v, vw)
                vstatus = v.get("status", status)
                if vstatus not in _STATUSES:
                    self.p.add(
                        r.at(v, "status"), f"{vw}.status: {vstatus!r} is not one of seed, assumed"
                    )
                    vstatus = status
                if start is not None:
                    values.append(ParameterValue(start, value, vstatus, str(v.get("note") or "")))
            starts = [pv.start for pv in values]
            if starts != sorted(starts) or len(set(starts)) != len(starts):
                self.p.add(
                    r.at(node, "values"), f"{what}.values: start dates must be strictly increasing"
                )
            if status == "assumed" and not node.get("note"):
                self.p.add(r.at(node), f"{what}: an assumed parameter needs a note saying why")
            self.parameters[str(name)] = Parameter(
                name=str(name),
                title=r.text(node, "title", what),
                type=ptype,
                unit=unit,
                clause=self._clause(node, r, what),
                status=status,  # type: ignore[arg-type]
                note=str(node.get("note") or ""),
                values=tuple(values),
                origin=r.at(body, name),
            )

    def _add_values(self, name: str, node: Any, r: _Reader, body: Any) -> None:
        """``add_values:`` in a package that extends another: the parent's parameter ``name``
        with these dated values appended (追加取值), everything else inherited.

        The added values must start after the parent's last start date: a start date on or
        before it overlaps the parent's periods, which only a whole redefinition may change.
        """
        what = f"parameters.{name}"
        if not r.mapping(node, what, {"add_values"}, {"add_values"}):
            return
        inherited = self.parent.parameters if self.parent else {}
        base = inherited.get(name)
        if base is None:
            where = (
                f"the parent {self.parent.id} has no parameter {name!r}"
                f"{_did_you_mean(name, inherited)}"
                if self.parent
                else "this package extends no other package"
            )
            self.p.add(
                r.at(body, name),
                f"{what}.add_values: adds values to an inherited parameter, but {where}; "
                "define the parameter with values: instead",
            )
            return
        raw_values = node.get("add_values")
        if not isinstance(raw_values, list) or not raw_values:
            self.p.add(
                r.at(node, "add_values"),
                f"{what}.add_values: expected a non-empty list of {{start, value}}",
            )
            return
        values = list(base.values)
        for i, v in enumerate(raw_values):
            vw = f"{what}.add_values[{i}]"
            if not r.mapping(v, vw, {"start", "value", "status", "note"}, {"start", "value"}):
                continue
            start = r.date(v, "start", vw)
            value = self._param_value(v.get("value"), base.type, r, v, vw)
            vstatus = v.get("status", base.status)
            if vstatus not in _STATUSES:
                self.p.add(
                    r.at(v, "status"), f"{vw}.status: {vstatus!r} is not one of seed, assumed"
                )
                vstatus = base.status
            if start is None:
                continue
            if values and start <= values[-1].start:
                last = values[-1]
                pid = self.parent.id if self.parent else "the parent"
                whose = (
                    f"{pid}'s value from {last.start.isoformat()} ({last.value}, defined at "
                    f"{pid}:{base.origin})"
                    if len(values) == len(base.values)
                    else f"the value added before it, from {last.start.isoformat()}"
                )
                self.p.add(
                    r.at(v, "start"),
                    f"{vw}.start: {start.isoformat()} overlaps {whose}: added values must "
                    "start after the last one (参数取值起始日期重叠); to change an earlier "
                    "period, redefine the whole parameter with values:",
                )
                continue
            values.append(ParameterValue(start, value, vstatus, str(v.get("note") or "")))
        self.parameters[name] = attrs.evolve(base, values=tuple(values))

    def _param_value(self, raw: Any, ptype: Type, r: _Reader, node: Any, what: str) -> Any:
        if ptype == NUMBER:
            num = _number(raw)
            if num is None:
                self.p.add(r.at(node, "value"), f"{what}.value: {_not_a_number(raw)}")
            return num
        if ptype == BOOL:
            if not isinstance(raw, bool):
                self.p.add(
                    r.at(node, "value"), f"{what}.value: expected true/false, got {short_repr(raw)}"
                )
            return bool(raw)
        if ptype == DATE:
            return r.date(node, "value", what)
        if isinstance(ptype, ListType):
            if not isinstance(raw, list):
                self.p.add(
                    r.at(node, "value"), f"{what}.value: expected a list, got {short_repr(raw)}"
                )
                return ()
            if ptype.elem == NUMBER:
                numbers = tuple(_number(x) for x in raw)
                for i, (x, num) in enumerate(zip(raw, numbers, strict=True)):
                    if num is None:
                        self.p.add(r.at(raw, index=i), f"{what}.value[{i}]: {_not_a_number(x)}")
                return numbers
            return tuple(str(x) for x in raw)
        if not isinstance(raw, str):
            self.p.add(r.at(node, "value"), f"{what}.value: expected text, got {short_repr(raw)}")
        return str(raw)

    def _catalogues(self, body: Any, r: _Reader) -> None:
        if not isinstance(body, Mapping):
            self.p.add(r.at(body), "catalogues: expected a mapping name -> catalogue")
            return
        for name, node in body.items():
            what = f"catalogues.{name}"
            if not r.mapping(
                node,
                what,
                {"title", "clause", "status", "note", "items"},
                {"title", "clause", "status", "items"},
            ):
                continue
            items = []
            seen: set[str] = set()
            for i, it in enumerate(node.get("items") or []):
                iw = f"{what}.items[{i}]"
                if not r.mapping(it, iw, {"code", "zh", "en"}, {"code", "zh", "en"}):
                    continue
                code = str(it["code"])
                if code in seen:
                    self.p.add(r.at(node["items"], index=i), f"{iw}.code: duplicate code {code!r}")
                seen.add(code)
                items.append(CatalogueItem(code, str(it["zh"]), str(it["en"])))
            status = r.choice(node, "status", what, _STATUSES)
            self.catalogues[str(name)] = Catalogue(
                name=str(name),
                title=r.text(node, "title", what),
                clause=self._clause(node, r, what),
                status=status,  # type: ignore[arg-type]
                note=str(node.get("note") or ""),
                items=tuple(items),
                origin=r.at(body, name),
            )

    def _variables(self, body: Any, r: _Reader) -> None:
        if not isinstance(body, Mapping):
            self.p.add(r.at(body), "variables: expected a mapping entity.name -> variable")
            return
        for qname, node in body.items():
            what = f"variables.{qname}"
            if not r.mapping(
                node,
                what,
                {"title", "type", "expr", "clause", "status", "note"},
                {"title", "type", "expr"},
            ):
                continue
            entity, _, name = str(qname).partition(".")
            if entity not in self.base_schema.entities or not _ID.match(name):
                self.p.add(
                    r.at(body, qname),
                    f"{what}: expected <entity>.<name> with entity one of "
                    f"{', '.join(self.base_schema.entities)}{_did_you_mean(entity, self.base_schema.entities)}",
                )
                continue
            if name in self.base_schema.entities[entity].fields:
                self.p.add(r.at(body, qname), f"{what}: {name!r} is already a field of {entity}")
                continue
            tname = str(node.get("type"))
            vtype = _TYPES.get(tname)
            if vtype is None:
                self.p.add(
                    r.at(node, "type"), f"{what}.type: {tname!r} is not one of {', '.join(_TYPES)}"
                )
                continue
            text = _expr_text(node.get("expr"))
            if text is None:
                self.p.add(r.at(node, "expr"), f"{what}.expr: expected an expression")
                continue
            clause = self._clause(node, r, what, required=False) or None
            status = r.choice(node, "status", what, _STATUSES) if "status" in node else "seed"
            if status == "assumed" and not node.get("note"):
                self.p.add(r.at(node), f"{what}: an assumed variable needs a note saying why")
            self.var_raw[str(qname)] = (
                entity,
                name,
                r.text(node, "title", what),
                vtype,
                text,
                clause,
                r.at(node, "expr"),
                status,
                str(node.get("note") or ""),
            )
