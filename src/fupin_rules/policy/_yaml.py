"""Read a policy YAML file fast, into the same containers ruamel's round-trip loader builds.

The loader reports problems as ``file:line:col`` and records each rule's and case's origin, so
it reads ruamel's :class:`~ruamel.yaml.comments.CommentedMap`/``CommentedSeq`` with their
line/column marks (``.lc``). ruamel's round-trip parser is pure Python and was most of the
time of loading a policy (county_2017: ~2 s of a ~6 s ``check`` on the sample county,
measured). Here libyaml's C parser (through PyYAML) builds the node tree, scalars are resolved
with ruamel's own YAML 1.2 rules (``on``/``yes`` stay text, as ruamel reads them), and the
containers get the same marks.

Anything this fast path does not reproduce exactly (a syntax error, anchors and aliases, merge
keys, explicit or unusual tags, duplicate keys, non-decimal or very long numbers, times of day) is read by
ruamel instead, so its messages and behaviour stay the reference.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import yaml
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.resolver import implicit_resolvers
from yaml._yaml import CParser

from fupin_rules.policy._limits import MAX_NUMBER_DIGITS

__all__ = ["Unsupported", "load_fast"]

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_DECIMAL_INT = re.compile(r"[-+]?[0-9]+\Z")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


class Unsupported(Exception):
    """The file uses something the fast path does not reproduce: read it with ruamel."""


class _Resolver12(yaml.resolver.BaseResolver):
    """Implicit tags as ruamel resolves them for YAML 1.2 (its own regular expressions)."""


for _versions, _tag, _regexp, _first in implicit_resolvers:
    if (1, 2) in _versions:
        _Resolver12.add_implicit_resolver(_tag, _regexp, _first)


class _Loader(CParser, _Resolver12):
    """libyaml's parser and composer with the YAML 1.2 resolver (no construction here)."""

    def __init__(self, stream: str) -> None:
        CParser.__init__(self, stream)
        _Resolver12.__init__(self)


def load_fast(text: str) -> Any:
    """The document of ``text`` as ruamel's round-trip loader gives it (containers with
    ``.lc`` marks); :class:`Unsupported` (or a PyYAML error) when ruamel must read it."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is None:
        return None
    return _Builder().build(node)


class _Builder:
    def __init__(self) -> None:
        self.seen: set[int] = set()

    def build(self, node: yaml.Node) -> Any:
        if id(node) in self.seen:  # an alias: ruamel shares or merges it
            raise Unsupported("alias")
        self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node)
        return _scalar(node)

    def _mapping(self, node: yaml.MappingNode) -> CommentedMap:
        if node.tag != _MAP:
            raise Unsupported(node.tag)
        out = CommentedMap()
        out._yaml_set_line_col(node.start_mark.line, node.start_mark.column)
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _KEY_TAGS:
                raise Unsupported("a key that is not plain text, a number or a date")
            key = self.build(key_node)
            if key in out:
                raise Unsupported("duplicate key")  # ruamel reports it
            out[key] = self.build(value_node)
            k, v = key_node.start_mark, value_node.start_mark
            out._yaml_set_kv_line_col(key, [k.line, k.column, v.line, v.column])
        return out

    def _sequence(self, node: yaml.SequenceNode) -> CommentedSeq:
        if node.tag != _SEQ:
            raise Unsupported(node.tag)
        out = CommentedSeq()
        out._yaml_set_line_col(node.start_mark.line, node.start_mark.column)
        for i, item in enumerate(node.value):
            out.append(self.build(item))
            out._yaml_set_idx_line_col(i, [item.start_mark.line, item.start_mark.column])
        return out


_KEY_TAGS = {_STR, _INT, _NULL, _BOOL, _FLOAT, _TIMESTAMP}
_BOOLS = frozenset({"true", "True", "TRUE", "false", "False", "FALSE"})


def _scalar(node: yaml.Node) -> Any:
    tag, value = node.tag, node.value
    if tag == _STR:
        return value
    if tag == _NULL:
        return None
    if tag == _BOOL and value in _BOOLS:  # other text only under an explicit !!bool tag
        return value in ("true", "True", "TRUE")
    if tag == _INT and _DECIMAL_INT.match(value) and len(value) <= MAX_NUMBER_DIGITS:
        return int(value)  # longer ones: the loader's own check names them
    if tag == _FLOAT and "_" not in value and value.lower().lstrip("+-") not in (".inf", ".nan"):
        return float(value)
    if tag == _TIMESTAMP and _DATE.match(value):
        return dt.date.fromisoformat(value)
    raise Unsupported(f"{tag} {value!r}")
