"""Load a policy folder: read the YAML (with line numbers), validate everything, report all at once.

Validation happens here, never at evaluation time: unknown keys ("did you mean"), bad values,
expressions that do not parse or type-check against the domain schema, rules citing clauses the
package does not list, parameters without a status, cycles between derived variables, cases
naming unknown rules. Every problem is reported as ``file:line:col: message``; all problems of a
package are raised together in one :class:`~fupin_rules.errors.PolicyLoadError`.

This module reads ``policy.yaml`` (meta, ``extends``, clauses) and puts the sections together;
the parts live beside it: ``_loader_yaml`` (YAML reading, positions, problems),
``_loader_values`` (names, kinds, exact numbers), ``_loader_base`` (the builder's shared state),
``_loader_sections`` (parameters, catalogues, variables), ``_loader_rules``, ``_loader_cases``.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from fupin_rules.domain.schema import domain_schema
from fupin_rules.errors import PolicyLoadError
from fupin_rules.expr import Schema, Type, referenced_fields
from fupin_rules.policy._loader_cases import _CasesBuilder
from fupin_rules.policy._loader_rules import _RulesBuilder
from fupin_rules.policy._loader_sections import _SectionsBuilder
from fupin_rules.policy._loader_values import _DOTTED, _ID, _SEMVER, _plain
from fupin_rules.policy._loader_yaml import _Problems, _read_yaml, _Reader
from fupin_rules.policy.model import ClauseInfo, Policy, PolicyMeta, Rule, Text, Variable
from fupin_rules.policy.packages import check_version, folder_for

__all__ = ["load_policy_dir"]

#: The policy folders being loaded in this thread, outermost first (``extends`` chains).
_LOADING: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar(
    "fupin_rules_policy_loading", default=()
)


class _ExtendsCycleError(PolicyLoadError):
    """``extends`` leads back to a package being loaded; raised through every level as is."""


_SECTIONS = ("parameters", "catalogues", "variables", "rules", "cases")


def _iter_files(root: Path, section: str) -> Iterator[Path]:
    folder = root / section
    if folder.is_dir():
        yield from sorted(folder.glob("*.yaml"))
        yield from sorted(folder.glob("*.yml"))


def _pairs(raw: Any, r: _Reader, what: str, second: str) -> tuple[tuple[str, str], ...]:
    """A clause's list of ``{item, <second>}`` mappings: deliberately not encoded items with
    their ``reason``, or items covered only by a ``proxy`` with what stands for them."""
    if raw is None:
        return ()
    out = []
    if not isinstance(raw, list):
        r.p.add(r.at(raw), f"{what}: expected a list of {{item, {second}}}")
        return ()
    for i, it in enumerate(raw):
        if r.mapping(it, f"{what}[{i}]", {"item", second}, {"item", second}):
            out.append((str(it["item"]), str(it[second])))
    return tuple(out)


def content_hash(root: Path) -> str:
    """SHA-256 over every YAML file of the package (relative path + bytes), in sorted order."""
    h = hashlib.sha256()
    files = [root / "policy.yaml"] + [f for s in _SECTIONS for f in _iter_files(root, s)]
    for f in sorted(set(files)):
        if f.exists():
            h.update(str(f.relative_to(root)).encode())
            h.update(b"\0")
            h.update(f.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def _load_parent(ref: str) -> Policy:
    """A parent named by ``extends`` when the caller gave no resolver: an installed name
    (``county_2017@1.0.0``) or a folder, loaded without the cache of
    :func:`fupin_rules.policy.discovery.load_policy` (which passes itself as the resolver)."""
    folder, want_version = folder_for(ref)
    parent = load_policy_dir(folder)
    check_version(parent, ref, folder, want_version)
    return parent


def load_policy_dir(
    root: Path | str,
    *,
    resolve_parent: Callable[[str], Policy] | None = None,
) -> Policy:
    """Load and validate the policy in folder ``root``; raise PolicyLoadError listing every problem."""
    root = Path(root).resolve()
    problems = _Problems(root)
    meta_file = root / "policy.yaml"
    if not meta_file.is_file():
        raise PolicyLoadError(str(root), [f"{root}: no policy.yaml in this folder"])
    raw_meta = _read_yaml(meta_file, problems)
    if raw_meta is None:
        raise PolicyLoadError(str(root), problems.items or [f"{meta_file}: empty file"])
    r = _Reader(problems, meta_file)
    meta_keys = {
        "id",
        "version",
        "title",
        "jurisdiction",
        "source",
        "effective",
        "extends",
        "clauses",
    }
    if not r.mapping(raw_meta, "policy", meta_keys, {"id", "version", "title", "clauses"}):
        raise PolicyLoadError(str(root), problems.items)
    pid = raw_meta.get("id")
    if not isinstance(pid, str) or not _ID.match(pid):
        problems.add(r.at(raw_meta, "id"), f"policy.id: {pid!r} must match [a-z][a-z0-9_]*")
        pid = str(pid)
    version = str(raw_meta.get("version"))
    if not _SEMVER.match(version):
        problems.add(
            r.at(raw_meta, "version"),
            f"policy.version: {version!r} is not a semantic version like 1.0.0",
        )
    effective = raw_meta.get("effective") or {}
    eff_start = eff_end = None
    if effective:
        if r.mapping(effective, "policy.effective", {"start", "end"}, {"start"}):
            eff_start = r.date(effective, "start", "policy.effective")
            if "end" in effective and effective["end"] is not None:
                eff_end = r.date(effective, "end", "policy.effective")
    source = raw_meta.get("source") or {}
    if not isinstance(source, Mapping):
        problems.add(r.at(raw_meta, "source"), "policy.source: expected a mapping")
        source = {}
    extends = raw_meta.get("extends")
    meta = PolicyMeta(
        id=pid,
        version=version,
        title=r.text(raw_meta, "title", "policy"),
        jurisdiction=r.text(raw_meta, "jurisdiction", "policy")
        if "jurisdiction" in raw_meta
        else Text("", ""),
        source={str(k): str(v) for k, v in source.items()},
        effective_start=eff_start,
        effective_end=eff_end,
        extends=str(extends) if extends else None,
    )

    parent: Policy | None = None
    chain = _LOADING.get()
    if root in chain:
        loop = " -> ".join(str(p) for p in (*chain[chain.index(root) :], root))
        raise _ExtendsCycleError(
            f"{pid}@{version} ({root})",
            [f"{root / r.at(raw_meta, 'extends')}: policy.extends: a cycle: {loop} (继承关系循环)"],
        )
    if extends:
        if resolve_parent is None:
            resolve_parent = _load_parent
        token = _LOADING.set((*chain, root))
        try:
            ref = str(extends)
            if "/" in ref or ref.startswith("."):  # a folder path: relative to this package
                ref = str((root / ref).resolve())
            parent = resolve_parent(ref)
        except _ExtendsCycleError:
            raise
        except Exception as exc:  # a broken parent is a problem of this package too
            problems.add(
                r.at(raw_meta, "extends"), f"policy.extends: cannot load {extends!r}: {exc}"
            )
        finally:
            _LOADING.reset(token)

    clauses: dict[str, ClauseInfo] = dict(parent.clauses) if parent else {}
    raw_clauses = raw_meta.get("clauses") or []
    if not isinstance(raw_clauses, list):
        problems.add(r.at(raw_meta, "clauses"), "policy.clauses: expected a list")
        raw_clauses = []
    for i, c in enumerate(raw_clauses):
        what = f"policy.clauses[{i}]"
        if not r.mapping(
            c,
            what,
            {"clause", "title", "text_missing", "note", "uncovered", "proxies"},
            {"clause", "title"},
        ):
            continue
        cid = str(c.get("clause"))
        clauses[cid] = ClauseInfo(
            clause=cid,
            title=r.text(c, "title", what),
            text_missing=bool(c.get("text_missing", False)),
            note=str(c.get("note") or ""),
            uncovered=_pairs(c.get("uncovered"), r, f"{what}.uncovered", "reason"),
            proxies=_pairs(c.get("proxies"), r, f"{what}.proxies", "proxy"),
        )

    schema = domain_schema()
    builder = _Builder(root, problems, clauses, schema, parent)
    for section in _SECTIONS:
        for f in _iter_files(root, section):
            data = _read_yaml(f, problems)
            if data is None:
                continue
            fr = _Reader(problems, f)
            allowed = {section} | ({"fixtures"} if section == "cases" else set())
            if not fr.mapping(data, f.name, allowed, set()):
                continue
            try:
                builder.collect(section, data, fr)
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                # a structure the checks above did not foresee: still a problem of this file
                problems.add(
                    fr.at(data),
                    f"{section}: unexpected structure ({type(exc).__name__}: {exc}); "
                    "see docs/design/policy-format.md for the expected layout",
                )
    try:
        policy = builder.finish(
            meta, content_hash(root) if parent is None else _combined_hash(root, parent)
        )
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        problems.add(
            str(root),
            f"the package could not be assembled ({type(exc).__name__}: {exc}); "
            "fix the problems listed first",
        )
        raise PolicyLoadError(f"{pid}@{version} ({root})", problems.items) from None
    if problems.items:
        raise PolicyLoadError(f"{pid}@{version} ({root})", problems.items)
    return policy


def _combined_hash(root: Path, parent: Policy) -> str:
    return hashlib.sha256((content_hash(root) + parent.content_hash).encode()).hexdigest()


class _Builder(_SectionsBuilder, _RulesBuilder, _CasesBuilder):
    """Turns the YAML sections into model values, then checks them as a whole."""

    def collect(self, section: str, data: Mapping[str, Any], r: _Reader) -> None:
        if "fixtures" in data:
            fx = data["fixtures"]
            if isinstance(fx, Mapping):
                for name, val in fx.items():
                    self.fixtures[str(name)] = _plain(val)
            else:
                self.p.add(r.at(data, "fixtures"), "fixtures: expected a mapping name -> dataset")
        body = data.get(section)
        if body is None:
            return
        if section == "parameters":
            self._parameters(body, r)
        elif section == "catalogues":
            self._catalogues(body, r)
        elif section == "variables":
            self._variables(body, r)
        elif section == "rules":
            if not isinstance(body, list):
                self.p.add(r.at(data, section), "rules: expected a list")
                return
            for i, rule in enumerate(body):
                rid = rule.get("id") if isinstance(rule, Mapping) else None
                if not isinstance(rid, str) or not _DOTTED.match(rid):
                    self.p.add(
                        r.at(body, index=i),
                        f"rules[{i}].id: {rid!r} must be a dotted lower-case id",
                    )
                    continue
                if rid in self.rule_raw:
                    self.p.add(r.at(body, index=i), f"rules[{i}].id: duplicate rule id {rid!r}")
                    continue
                self.rule_raw[rid] = (rule, r)
                if rid not in self.rule_order:
                    self.rule_order.append(rid)
        elif section == "cases":
            if not isinstance(body, list):
                self.p.add(r.at(data, section), "cases: expected a list")
                return
            self.case_raw.extend((c, r) for c in body)

    def finish(self, meta: PolicyMeta, chash: str) -> Policy:
        # 1. schema with every derived variable (declared types), so variables may use each other
        extra: dict[str, dict[str, Type]] = {}
        for entity, name, _t, vtype, *_ in self.var_raw.values():
            extra.setdefault(entity, {})[name] = vtype
        schema = self.base_schema
        for entity, fields in extra.items():
            schema = schema.with_fields(entity, fields)
        # 2. variables: parse, check, dependency order (cycles rejected)
        parsed: dict[str, Variable] = {}
        for qname, raw in self.var_raw.items():
            entity, name, title, vtype, text, clause, origin, status, note = raw
            expr = self._parse_check(text, origin, schema, entity, vtype, f"variables.{qname}")
            if expr is not None:
                parsed[qname] = Variable(
                    entity, name, title, vtype, expr, text, clause, origin, status, note
                )
        ordered = self._order_variables(parsed, schema)
        # 3. rules
        rules: list[Rule] = []
        for rid in self.rule_order:
            if rid in self.rule_raw:
                node, r = self.rule_raw[rid]
                rule = self._rule(node, r, schema)
                if rule is not None:
                    rules.append(rule)
            elif rid in self.parent_rules:
                rules.append(self.parent_rules[rid])
        # 4. cases
        rule_ids = {r.id for r in rules}
        cases = [c for c in (self._case(node, r, rule_ids) for node, r in self.case_raw) if c]
        ids = [c.id for c in cases]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            self.p.add(str(self.root / "cases"), f"cases: duplicate case id {dup!r}")
        # 5. unused parameters and catalogues are reported by `fupin-rules validate`, not here
        return Policy(
            meta=meta,
            clauses=dict(self.clauses),
            parameters=dict(self.parameters),
            catalogues=dict(self.catalogues),
            variables=tuple(ordered),
            rules=tuple(rules),
            cases=tuple(cases),
            schema=schema,
            content_hash=chash,
            path=str(self.root),
        )

    def _order_variables(self, parsed: dict[str, Variable], schema: Schema) -> list[Variable]:
        deps: dict[str, set[str]] = {}
        for qname, var in parsed.items():
            reads = referenced_fields(var.expr, schema, var.entity)
            deps[qname] = {f"{k}.{f}" for k, f in reads if f"{k}.{f}" in parsed}
        order: list[Variable] = []
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(q: str, stack: list[str]) -> None:
            if state.get(q) == 2:
                return
            if state.get(q) == 1:
                cycle = [*stack[stack.index(q) :], q]
                self.p.add(
                    parsed[q].origin,
                    f"variables: cycle between derived variables: {' -> '.join(cycle)}",
                )
                return
            state[q] = 1
            for d in sorted(deps[q]):
                visit(d, [*stack, q])
            state[q] = 2
            order.append(parsed[q])

        for q in parsed:
            visit(q, [])
        return order
