"""The author's field reference (字段参考): every entity kind's fields, generated.

Built from the entity declaration (:mod:`fupin_rules.domain.entities`), the record models and
the ledger headers (:mod:`fupin_rules.io.headers`), so it cannot drift from what the loader
accepts and the expression checker knows. ``fupin-rules fields [ENTITY]`` prints it;
``docs/fields.md`` is :func:`fields_markdown` (a test keeps the page equal to it).
"""

from __future__ import annotations

import enum
from typing import Any

import annotated_types
import attrs

from fupin_rules.domain.entities import ENTITIES, EntityKind
from fupin_rules.domain.enums import LABELS_ZH
from fupin_rules.domain.schema import domain_schema
from fupin_rules.errors import FupinRulesError, closest
from fupin_rules.io.headers import (
    FieldKind,
    accepted_headers,
    enum_aliases,
    field_specs,
    normalise,
)

__all__ = [
    "FieldEntry",
    "UnknownEntityError",
    "entity_fields",
    "fields_json",
    "fields_markdown",
    "fields_text",
    "find_entity",
]

#: how a field's values are written, in words (ledger kind -> English, Chinese)
_KIND_WORDS: dict[FieldKind, tuple[str, str]] = {
    FieldKind.TEXT: ("text", "文本"),
    FieldKind.INT: ("integer", "整数"),
    FieldKind.BOOL: ("yes/no", "是/否"),
    FieldKind.DATE: ("date YYYY-MM-DD", "日期"),
    FieldKind.MONEY: ("money: yuan, at most 2 decimals", "金额(元)"),
    FieldKind.RATE: ("rate: a fraction, 0.02 is 2%", "比率"),
    FieldKind.ENUM: ("code", "代码"),
    FieldKind.TEXT_LIST: ("list of text", "文本列表"),
}


class UnknownEntityError(FupinRulesError, LookupError):
    """No entity kind of that name (kind, table, or Chinese name)."""


@attrs.frozen
class Code:
    """One allowed code of a code field: the code, its Chinese label, other accepted spellings."""

    code: str
    label_zh: str
    also: tuple[str, ...] = ()


@attrs.frozen
class FieldEntry:
    """One field of an entity kind, as an author and a ledger keeper see it."""

    name: str
    title_zh: str
    #: the type the expression language gives it (number, bool, string, date, enum, list)
    expr_type: str
    #: how a ledger cell holds it
    kind: FieldKind
    required: bool
    #: the key of the record, or the key of a parent it links to
    role: str = ""
    #: bounds such as ``>= 2014``
    bounds: tuple[str, ...] = ()
    #: ledger headers accepted besides the field name and the Chinese title
    headers: tuple[str, ...] = ()
    codes: tuple[Code, ...] = ()

    def type_words(self) -> str:
        """``money: yuan, at most 2 decimals; >= 0`` and the like."""
        words = _KIND_WORDS[self.kind][0]
        return "; ".join((words, *self.bounds))


def _bounds(metadata: list[Any]) -> tuple[str, ...]:
    out = []
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            out.append(f">= {m.ge}")
        elif isinstance(m, annotated_types.Gt):
            out.append(f"> {m.gt}")
        elif isinstance(m, annotated_types.Le):
            out.append(f"<= {m.le}")
        elif isinstance(m, annotated_types.Lt):
            out.append(f"< {m.lt}")
    return tuple(out)


def _codes(enum_cls: type[enum.Enum]) -> tuple[Code, ...]:
    aliases = enum_aliases(enum_cls)
    out = []
    for member in enum_cls:
        code = str(member.value)
        label = LABELS_ZH.get(code, "")
        plain = {normalise(code), normalise(label)}
        also = tuple(sorted(a for a, c in aliases.items() if c == code and a not in plain))
        out.append(Code(code, label, also))
    return tuple(out)


def entity_fields(entity: EntityKind) -> tuple[FieldEntry, ...]:
    """The fields of one entity kind, in record order."""
    schema = domain_schema().entities[entity.kind]
    links = {p.field: p for p in entity.parents if p.field is not None}
    out = []
    for spec in field_specs(entity.table):
        info = entity.record.model_fields[spec.name]
        role = ""
        if spec.name == entity.key:
            role = "key"
        elif spec.name in links:
            role = f"parent {links[spec.name].link}"
        headers = tuple(
            h for h in accepted_headers(entity.table, spec.name) if h not in (spec.name, spec.title)
        )
        out.append(
            FieldEntry(
                name=spec.name,
                title_zh=spec.title,
                expr_type=str(schema.fields[spec.name]),
                kind=spec.kind,
                required=spec.required,
                role=role,
                bounds=_bounds(list(info.metadata)),
                headers=headers,
                codes=_codes(spec.enum) if spec.enum is not None else (),
            )
        )
    return tuple(out)


def find_entity(name: str) -> EntityKind:
    """The entity kind a name means: its kind (``household``), table (``households``), Chinese
    name (``户``) or a ledger sheet name (``贫困户``)."""
    names: dict[str, EntityKind] = {}
    for e in ENTITIES:
        for n in (e.kind, e.table, e.name_zh, e.sheet_zh, *e.sheet_aliases):
            names.setdefault(normalise(n), e)
    found = names.get(normalise(name))
    if found is not None:
        return found
    close = closest(normalise(name), names, cutoff=0.5)
    hint = f"; did you mean {names[close].kind!r}?" if close is not None else ""
    kinds = ", ".join(e.kind for e in ENTITIES)
    raise UnknownEntityError(f"unknown entity {name!r}{hint} (entities: {kinds})")


def _entity_lines(e: EntityKind) -> list[str]:
    parents = ", ".join(f"{p.link} -> {p.kind}" for p in e.parents) or "none"
    colls = ", ".join(f"{c.name} ({c.kind})" for c in e.collections) or "none"
    sheets = "、".join((e.sheet_zh, *e.sheet_aliases))
    return [
        f"{e.kind} — {e.name_zh} ({e.name_en})",
        f"  table {e.table}; key {e.key}; ledger sheet {sheets}",
        f"  parent links: {parents}",
        f"  collections: {colls}",
        f"  rules run in the {e.stratum} stratum; findings listed at the {e.level} level",
    ]


def fields_text(entity: EntityKind | None = None) -> str:
    """The reference as plain text: one entity's fields, or a line per entity without one."""
    if entity is None:
        lines = ["entities (fupin-rules fields ENTITY lists one's fields):"]
        for e in ENTITIES:
            n = len(e.record.model_fields)
            lines.append(f"  {e.kind:<20} {e.name_zh:<6} table {e.table}, {n} fields")
        return "\n".join(lines)
    lines = _entity_lines(entity)
    lines.append("  fields:")
    for f in entity_fields(entity):
        need = "required" if f.required else "optional (empty = unknown)"
        role = f" [{f.role}]" if f.role else ""
        lines.append(f"    {f.name}{role}: {f.title_zh} — {f.type_words()}; {need}")
        if f.headers:
            lines.append(f"      also accepted as header: {'、'.join(f.headers)}")
        for c in f.codes:
            also = f" (also: {'、'.join(c.also)})" if c.also else ""
            lines.append(f"      {c.code}: {c.label_zh}{also}")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def fields_markdown() -> str:
    """The docs page ``docs/fields.md``: every entity kind and its fields."""
    out = [
        "# Field reference (字段参考)",
        "",
        "Every entity kind a policy can be written about, with its fields: the name an",
        "expression uses, the Chinese title a ledger header may use instead, the type, the other",
        "headers and codes a ledger may hold. A field left empty is *unknown*, never false or",
        "zero. The page is generated from the entity declaration",
        "(`fupin_rules.domain.entities`) and the record models; `fupin-rules fields ENTITY`",
        "prints the same for one entity, and a test keeps this page equal to the code.",
        "",
    ]
    for e in ENTITIES:
        head, *rest = _entity_lines(e)
        out += [f"## {head}", ""]
        out += [f"- {line.strip()}" for line in rest]
        out += [
            "",
            "| field | 中文 (ledger header) | type | required | other headers | codes |",
            "|---|---|---|---|---|---|",
        ]
        for f in entity_fields(e):
            role = f" ({f.role})" if f.role else ""
            codes = "<br>".join(
                f"`{c.code}` {c.label_zh}" + (f" (also {'、'.join(c.also)})" if c.also else "")
                for c in f.codes
            )
            cells = [
                f"`{f.name}`{role}",
                f.title_zh,
                f"`{f.expr_type}` — {f.type_words()}",
                "yes" if f.required else "",
                "、".join(f.headers),
                codes,
            ]
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out.append("")
    return "\n".join(out)


def fields_json(entity: EntityKind | None = None) -> list[dict[str, Any]]:
    """The reference as JSON-ready data (one entity, or all)."""
    kinds = [entity] if entity is not None else list(ENTITIES)
    return [
        {
            "entity": e.kind,
            "table": e.table,
            "name_zh": e.name_zh,
            "name_en": e.name_en,
            "key": e.key,
            "parents": {p.link: p.kind for p in e.parents},
            "collections": {c.name: c.kind for c in e.collections},
            "stratum": e.stratum,
            "level": e.level,
            "sheets": [e.sheet_zh, *e.sheet_aliases],
            "fields": [
                {
                    "name": f.name,
                    "title_zh": f.title_zh,
                    "type": f.expr_type,
                    "ledger_kind": f.kind.value,
                    "required": f.required,
                    "role": f.role or None,
                    "bounds": list(f.bounds),
                    "headers": list(f.headers),
                    "codes": [
                        {"code": c.code, "label_zh": c.label_zh, "also": list(c.also)}
                        for c in f.codes
                    ],
                }
                for f in entity_fields(e)
            ],
        }
        for e in kinds
    ]
