"""Load a policy folder: read the YAML (with line numbers), validate everything, report all at once.

Validation happens here, never at evaluation time: unknown keys ("did you mean"), bad values,
expressions that do not parse or type-check against the domain schema, rules citing clauses the
package does not list, parameters without a status, cycles between derived variables, cases
naming unknown rules. Every problem is reported as ``file:line:col: message``; all problems of a
package are raised together in one :class:`~fupin_rules.errors.PolicyLoadError`.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from fupin_rules.domain.dataset import TABLES, short_repr
from fupin_rules.domain.schema import domain_schema
from fupin_rules.errors import ExpressionError, PolicyLoadError
from fupin_rules.expr import (
    BOOL,
    DATE,
    NUMBER,
    STRING,
    Expr,
    ListType,
    Schema,
    Type,
    check,
    parse,
    referenced_fields,
)
from fupin_rules.policy._limits import MAX_NUMBER_DIGITS
from fupin_rules.policy.model import (
    Case,
    Catalogue,
    CatalogueItem,
    ClauseInfo,
    Condition,
    Expectation,
    Parameter,
    ParameterValue,
    Policy,
    PolicyMeta,
    Rule,
    Text,
    Variable,
)
from fupin_rules.policy.packages import check_version, folder_for

__all__ = ["load_policy_dir"]

#: The policy folders being loaded in this thread, outermost first (``extends`` chains).
_LOADING: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar(
    "fupin_rules_policy_loading", default=()
)


class _ExtendsCycleError(PolicyLoadError):
    """``extends`` leads back to a package being loaded; raised through every level as is."""


_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_DOTTED = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$")
_TYPES: dict[str, Type] = {
    "number": NUMBER,
    "bool": BOOL,
    "string": STRING,
    "date": DATE,
    "list": ListType(STRING),
    "list[string]": ListType(STRING),
    "list[number]": ListType(NUMBER),
}
_UNITS = ("yuan", "rate", "count", "days", "months", "year", "persons", "villages", "none")
_STATUSES = ("seed", "assumed")
#: a derived variable as read: entity, name, title, type, expression text, clause, origin,
#: status, note
_VarRaw = tuple[str, str, Text, Type, str, str | None, str, Any, str]
_KINDS = ("eligibility", "compliance", "target")
_VERDICTS = ("pass", "fail", "unknown", "not_applicable")
_SECTIONS = ("parameters", "catalogues", "variables", "rules", "cases")
#: How many values YAML aliases may add to a file beyond the values written in it (each use of
#: ``*anchor`` adds the anchored value's size): a "billion laughs" file of a few hundred bytes
#: expands to billions of values. The largest file of county_2017 has ~2,900 values, no alias.
MAX_ALIAS_EXPANSION = 100_000
_INT_TAG = "tag:yaml.org,2002:int"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_TYPED_TAGS = frozenset({_INT_TAG, "tag:yaml.org,2002:float", _BOOL_TAG, "tag:yaml.org,2002:null"})


class _Problems:
    """Collects problems with their file:line:col."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.items: list[str] = []

    def where(self, file: Path, node: Any = None, key: Any = None, index: int | None = None) -> str:
        rel = file.relative_to(self.root) if file.is_relative_to(self.root) else file
        line = col = None
        try:
            if isinstance(node, CommentedMap) and key is not None and key in node:
                line, col = node.lc.value(key) if node.lc.data.get(key) else node.lc.key(key)
            elif isinstance(node, CommentedSeq) and index is not None:
                line, col = node.lc.item(index)
            elif isinstance(node, CommentedMap | CommentedSeq):
                line, col = node.lc.line, node.lc.col
        except (AttributeError, KeyError, IndexError, TypeError):
            pass
        if line is None:
            return str(rel)
        return f"{rel}:{line + 1}:{(col or 0) + 1}"

    def add(self, where: str, message: str) -> None:
        if len(message) > _MAX_PROBLEM_CHARS:  # a hostile value quoted whole (any message)
            cut = len(message) - _MAX_PROBLEM_CHARS
            message = f"{message[:1500]} … ({cut} characters left out) … {message[-300:]}"
        self.items.append(f"{where}: {message}")


#: a problem's message is cut in the middle beyond this length: messages quote the author's
#: values, and a hostile file can hold megabytes in one (the YAML fuzzer found 20 KB ones)
_MAX_PROBLEM_CHARS = 2000


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Reader:
    """Typed access to YAML mappings that records problems instead of raising."""

    def __init__(self, problems: _Problems, file: Path) -> None:
        self.p = problems
        self.file = file

    def at(self, node: Any, key: Any = None, index: int | None = None) -> str:
        return self.p.where(self.file, node, key, index)

    def mapping(self, node: Any, what: str, allowed: set[str], required: set[str]) -> bool:
        if not isinstance(node, Mapping):
            self.p.add(self.at(node), f"{what}: expected a mapping, got {type(node).__name__}")
            return False
        for key in node:
            if key not in allowed:
                self.p.add(
                    self.at(node, key),
                    f"{what}: unknown key {key!r}{_did_you_mean(key, allowed)} "
                    f"(allowed: {', '.join(sorted(allowed))})",
                )
        missing = sorted(required - set(node))
        for key in missing:
            self.p.add(self.at(node), f"{what}: missing required key {key!r}")
        return not missing

    def text(self, node: Any, key: str, what: str) -> Text:
        val = node.get(key) if isinstance(node, Mapping) else None
        if (
            isinstance(val, Mapping)
            and isinstance(val.get("zh"), str)
            and isinstance(val.get("en"), str)
        ):
            extra = set(val) - {"zh", "en"}
            if extra:
                self.p.add(self.at(val), f"{what}.{key}: unknown key(s) {sorted(extra)}")
            return Text(zh=val["zh"], en=val["en"])
        self.p.add(
            self.at(node, key), f"{what}.{key}: expected {{zh: ..., en: ...}} with both texts"
        )
        return Text("", "")

    def string(
        self, node: Mapping[str, Any], key: str, what: str, default: str | None = None
    ) -> str:
        val = node.get(key, default)
        if isinstance(val, str):
            return val
        if val is None and default is not None:
            return default
        self.p.add(self.at(node, key), f"{what}.{key}: expected text, got {short_repr(val)}")
        return ""

    def choice(self, node: Mapping[str, Any], key: str, what: str, choices: tuple[str, ...]) -> str:
        val = node.get(key)
        if val in choices:
            return str(val)
        self.p.add(
            self.at(node, key),
            f"{what}.{key}: {short_repr(val)} is not one of {', '.join(choices)}{_did_you_mean(str(val), choices)}",
        )
        return choices[0]

    def date(self, node: Mapping[str, Any], key: str, what: str) -> dt.date | None:
        val = node.get(key)
        if isinstance(val, dt.datetime):
            return val.date()
        if isinstance(val, dt.date):
            return val
        if isinstance(val, str):
            try:
                return dt.date.fromisoformat(val)
            except ValueError:
                pass
        self.p.add(
            self.at(node, key), f"{what}.{key}: expected a date YYYY-MM-DD, got {short_repr(val)}"
        )
        return None


def _number(value: Any) -> Fraction | None:
    """An exact number from a YAML scalar (floats through their shortest text).

    None for anything else, and for a number with more than :data:`MAX_NUMBER_DIGITS`
    significant digits or a decimal exponent beyond ±:data:`MAX_NUMBER_DIGITS` (``'1e999999999'``
    would take the exact conversion hours and gigabytes); see :func:`_not_a_number`.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Fraction(int(value)) if _within_bounds(Decimal(value)) else None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        exact = Decimal(repr(float(value)))
        return Fraction(exact) if _within_bounds(exact) else None
    if isinstance(value, str):
        try:
            exact = Decimal(value.strip())
        except (InvalidOperation, ValueError):
            return None
        return Fraction(exact) if exact.is_finite() and _within_bounds(exact) else None
    return None


def _within_bounds(value: Decimal) -> bool:
    digits = len(value.as_tuple().digits)
    return digits <= MAX_NUMBER_DIGITS and abs(value.adjusted()) <= MAX_NUMBER_DIGITS


def _not_a_number(raw: Any) -> str:
    """Why :func:`_number` refused ``raw`` (its text shortened)."""
    shown = repr(raw) if len(repr(raw)) <= 60 else repr(raw)[:40] + f"... ({len(repr(raw))} chars)"
    try:
        exact = Decimal(str(raw).strip()) if not isinstance(raw, bool) else None
    except (InvalidOperation, ValueError):
        exact = None
    if exact is not None and exact.is_finite():
        return (
            f"expected a number of at most {MAX_NUMBER_DIGITS} digits with a decimal exponent "
            f"within ±{MAX_NUMBER_DIGITS}, got {shown} (数值超出范围)"
        )
    return f"expected a number, got {shown}"


def _expected_value(value: Any) -> Any:
    """An expected output in a case: numbers exact, null = unknown, the rest as written."""
    if value is None:
        return None
    num = _number(value) if not isinstance(value, str) else None
    if num is not None:
        return num
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _expr_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return value.strip()
    return None


def _plain(value: Any) -> Any:
    """ruamel containers -> plain dicts/lists (for case data)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not isinstance(value, bool):
        return Decimal(repr(float(value)))
    if isinstance(value, dt.datetime):
        return value.date()
    return value


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


def _children(node: Any) -> list[Any]:
    value = node.value
    if not isinstance(value, list):
        return []
    out: list[Any] = []
    for item in value:
        if isinstance(item, tuple):
            out.extend(item)
        else:
            out.append(item)
    return out


def _scalar_problem(node: Any, construct: Callable[[Any], Any]) -> str | None:
    """What is wrong with a scalar the YAML constructor would fail on (or take minutes on).

    ``construct`` builds one scalar node (the round-trip constructor): a typed scalar whose
    text is not of its type (``!!float 'x'``, ``!!int 'ten'``) is reported, not a traceback.
    """
    tag = str(node.tag)
    text = str(node.value)
    if tag == _INT_TAG:
        digits = sum(ch.isalnum() for ch in text.lstrip("+-").removeprefix("0x").removeprefix("0o"))
        if digits > MAX_NUMBER_DIGITS:
            return (
                f"an integer of {digits} digits; a number in a policy has at most "
                f"{MAX_NUMBER_DIGITS} digits (数值位数过多)"
            )
    if tag == _BOOL_TAG and text not in ("true", "True", "TRUE", "false", "False", "FALSE"):
        # ruamel reads any other text under !!bool as false
        return f"{text[:40]!r} is not a valid bool; write true or false (布尔值无效)"
    if tag in _TYPED_TAGS:
        try:
            construct(node)
        except (ValueError, TypeError, OverflowError, ArithmeticError, YAMLError) as exc:
            shown = text if len(text) <= 40 else text[:40] + "..."
            return f"{shown!r} is not a valid {tag.rpartition(':')[2]} ({exc}) (数值无效)"
    if tag == _TIMESTAMP_TAG:
        from ruamel.yaml.util import create_timestamp, timestamp_regexp

        match = timestamp_regexp.match(text)
        try:
            if match is None:
                raise ValueError("not of the form YYYY-MM-DD")
            create_timestamp(**match.groupdict())
        except (ValueError, OverflowError, TypeError) as exc:
            return f"{text!r} is not a valid date ({exc}); expected YYYY-MM-DD (日期无效)"
    return None


def _node_problems(root: Any, construct: Callable[[Any], Any]) -> list[tuple[Any, str]]:
    """(node, message) for a YAML graph the loader must not construct: aliases that expand too
    much or refer to themselves, integers too long, impossible dates. Iterative: a deep file
    cannot exhaust the stack here, and each node is visited once however often it is aliased."""
    size: dict[int, int] = {}
    unique = 0
    problems: list[tuple[Any, str]] = []
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            size[key] = 1 + sum(size.get(id(c), 1) for c in _children(node))
            continue
        if key in size:
            continue
        if key in open_nodes:
            problems.append((node, "an alias refers to the value that contains it (递归引用)"))
            size[key] = 1
            continue
        unique += 1
        children = _children(node)
        if not children and not isinstance(node.value, list):
            size[key] = 1
            message = _scalar_problem(node, construct)
            if message:
                problems.append((node, message))
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                problems.append((child, "an alias refers to the value that contains it (递归引用)"))
            elif id(child) not in size:
                stack.append((child, False))
    if problems:
        return problems
    added = size[id(root)] - unique
    if added > MAX_ALIAS_EXPANSION:
        repeated = _most_aliased(root)
        problems.append(
            (
                repeated,
                f"YAML aliases (*name) expand this file by {added:,} values, more than "
                f"{MAX_ALIAS_EXPANSION:,} (a 'billion laughs'?); write the values out or use "
                "fewer aliases (别名展开过大)",
            )
        )
    return problems


def _most_aliased(root: Any) -> Any:
    """The node referenced most often (where the anchor of an alias bomb is)."""
    seen: dict[int, int] = {}
    nodes: dict[int, Any] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        for child in _children(node):
            k = id(child)
            seen[k] = seen.get(k, 0) + 1
            if k not in nodes:
                nodes[k] = child
                stack.append(child)
    return nodes[max(seen, key=lambda k: seen[k])] if seen else root


def _read_yaml(path: Path, problems: _Problems) -> Any:
    import yaml as pyyaml

    from fupin_rules.policy._yaml import Unsupported, load_fast

    try:  # libyaml, marks as ruamel's; ruamel below reads what it does not reproduce
        return load_fast(path.read_text(encoding="utf-8"))
    except (Unsupported, pyyaml.YAMLError, UnicodeDecodeError, OSError, ValueError, RecursionError):
        pass  # aliases, long integers and impossible dates among them: checked below
    # the reference reader: its messages for what the fast one refuses, and the checks of
    # aliases and scalars before anything is built
    rel = path.relative_to(problems.root) if path.is_relative_to(problems.root) else path
    yaml = YAML(typ="rt")
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text)
        if node is None:
            return None
        bad = _node_problems(node, yaml.constructor.construct_object)
        if bad:
            for where, message in bad:
                mark = where.start_mark
                problems.add(f"{rel}:{mark.line + 1}:{mark.column + 1}", message)
            return None
        return yaml.constructor.construct_document(node)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = f"{rel}:{mark.line + 1}:{mark.column + 1}" if mark else str(rel)
        problems.add(loc, f"invalid YAML: {exc.problem or exc}")
    except (YAMLError, UnicodeDecodeError, OSError) as exc:
        problems.add(str(path), f"cannot read YAML: {exc}")
    except RecursionError:
        problems.add(str(rel), "invalid YAML: nested too deeply (嵌套过深)")
    except TypeError as exc:  # ruamel: a complex ('? ') key that is a mapping or list
        problems.add(
            str(rel),
            f"invalid YAML: a mapping key must be a plain value, not a mapping or a list "
            f"(a '? ' key?): {exc}",
        )
    except (ValueError, OverflowError, ArithmeticError) as exc:  # a value no check above foresaw
        problems.add(str(rel), f"invalid YAML value: {type(exc).__name__}: {exc}")
    return None


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


class _Builder:
    """Turns the YAML sections into model values, then checks them as a whole."""

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

    # ------------------------------------------------------------------ collect
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

    # ------------------------------------------------------------------ finish
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
