"""Policy loader, part 1: reading the YAML safely, positions (file:line:col) and problems.

Moved unchanged out of :mod:`fupin_rules.policy.loader`, which puts the parts together.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError

from fupin_rules.domain.dataset import short_repr
from fupin_rules.errors import did_you_mean as _did_you_mean
from fupin_rules.policy._limits import MAX_NUMBER_DIGITS
from fupin_rules.policy.model import Text

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


def _reused_anchor(rel: str, text: str) -> tuple[str, str]:
    """(location, message) of ruamel's duplicate-anchor warning (its marks are in its text)."""
    name = re.search(r"duplicate anchor '([^']*)'", text)
    places = re.findall(r"line (\d+), column (\d+)", text)
    loc = f"{rel}:{places[1][0]}:{places[1][1]}" if len(places) > 1 else rel
    first = f" (first at line {places[0][0]})" if places else ""
    anchor = f"&{name.group(1)}" if name else "an anchor"
    return loc, (
        f"invalid YAML: the anchor {anchor[:60]} is defined twice{first}; give each anchor "
        "its own name (锚点重名)"
    )


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
        with warnings.catch_warnings():
            # an anchor defined twice: ruamel only warns and lets later aliases take the
            # second value; a policy file refuses it (which value an alias meant is a guess)
            warnings.simplefilter("error", ReusedAnchorWarning)
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
    except ReusedAnchorWarning as exc:
        problems.add(*_reused_anchor(str(rel), str(exc)))
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
