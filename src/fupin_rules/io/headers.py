"""Table and column names of a ledger (台账), in English or as officials write them in Chinese.

A ledger table may be named by its English table name (``households``) or its Chinese sheet name
(``户``); a column by its field name (``household_id``) or the field's Chinese title (``户编码``,
from :mod:`fupin_rules.domain.models`). Enum cells may hold the code (``secondary_vocational``) or
the Chinese label (``中职``, from :data:`fupin_rules.domain.enums.LABELS_ZH`).

Matching ignores surrounding spaces, full-width/half-width differences (NFKC), letter case and a
trailing unit in brackets (``个人年收入`` matches ``个人年收入(元)``).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import types
import typing
import unicodedata
from decimal import Decimal

import attrs

from fupin_rules.domain.entities import ENTITIES
from fupin_rules.domain.enums import LABELS_ZH
from fupin_rules.domain.models import Record
from fupin_rules.errors import closest

__all__ = [
    "RECORD_CLASSES",
    "TABLE_NAMES",
    "TABLE_TITLES_ZH",
    "FieldKind",
    "FieldSpec",
    "accepted_headers",
    "column_candidates",
    "enum_aliases",
    "field_specs",
    "normalise",
    "resolve_column",
    "resolve_table",
]

#: every ledger table in dependency order, the one-row county table first
TABLE_NAMES: tuple[str, ...] = tuple(e.table for e in ENTITIES)

#: table name -> record class
RECORD_CLASSES: dict[str, type[Record]] = {e.table: e.record for e in ENTITIES}

#: table name -> the Chinese sheet name the writer uses (and the reader accepts)
TABLE_TITLES_ZH: dict[str, str] = ENTITIES.sheet_titles_zh

# Other names officials use for the same sheets.
_TABLE_ALIASES: dict[str, str] = ENTITIES.sheet_aliases

# Codes officials write that are not the register's labels (assumed common variants).
_ENUM_EXTRA_ALIASES: dict[str, str] = {
    "未脱贫": "registered_poor",
    "未脱贫户": "registered_poor",
    "贫困户": "registered_poor",
    "预脱贫": "pre_exit_2017",
    "预脱贫户": "pre_exit_2017",
    "已脱贫": "exited",
    "脱贫户": "exited",
    "稳定脱贫": "stable_exit",
    "稳定脱贫户": "stable_exit",
    "返贫": "returned_to_poverty",
    "新增": "newly_added",
    "非贫困": "non_poor",
    "一般户": "general",
    "低保户": "low_income_guarantee",
    "五保户": "five_guarantees",
    "普通": "ordinary",
    "技能": "skilled",
    "丧失": "lost",
    "丧失劳动能力": "lost",
    "无": "none",
    "慢性病": "chronic_disease",
    "长期慢性病": "chronic_disease",
    "非在校": "not_in_school",
    "学前": "preschool",
    "高中": "senior_secondary",
    "本人": "head",
    "儿子": "son",
    "子": "son",
    "女儿": "daughter",
    "女": "daughter",
    "儿媳": "daughter_in_law",
    "女婿": "son_in_law",
    "孙子": "grandson",
    "孙女": "granddaughter",
    "外孙子": "daughters_son",
    "外孙女": "daughters_daughter",
    "父亲": "father",
    "母亲": "mother",
    "兄弟姐妹": "sibling",
}

# Other headers officials write for a column (beside its field name and Chinese title).
_COLUMN_ALIASES: dict[str, dict[str, str]] = {
    e.table: dict(e.column_aliases) for e in ENTITIES if e.column_aliases
}


class FieldKind(enum.Enum):
    """How a ledger cell of a field is read and written."""

    TEXT = "text"
    INT = "int"
    BOOL = "bool"
    DATE = "date"
    MONEY = "money"  # Decimal yuan, at most 2 decimals (fen)
    RATE = "rate"  # Decimal fraction
    ENUM = "enum"
    TEXT_LIST = "text_list"


@attrs.frozen
class FieldSpec:
    """One column of a ledger table: field name, Chinese title, kind and (for enums) the code list."""

    name: str
    title: str
    kind: FieldKind
    required: bool
    enum: type[enum.Enum] | None = None

    def header(self, language: str) -> str:
        """The column header the writer uses: the title for ``"zh"``, the field name otherwise."""
        return self.title if language == "zh" else self.name


def _kind_of(name: str, annotation: object) -> tuple[FieldKind, type[enum.Enum] | None]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base: object = annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        base = args[0]
    if typing.get_origin(base) is typing.Annotated:
        base = typing.get_args(base)[0]
    if typing.get_origin(base) is tuple:
        return FieldKind.TEXT_LIST, None
    if isinstance(base, type):
        if issubclass(base, enum.Enum):
            return FieldKind.ENUM, base
        if base is bool:
            return FieldKind.BOOL, None
        if base is int:
            return FieldKind.INT, None
        if base is dt.date:
            return FieldKind.DATE, None
        if base is Decimal:
            return (FieldKind.MONEY if name.endswith("_yuan") else FieldKind.RATE), None
        if base is str:
            return FieldKind.TEXT, None
    raise TypeError(f"field {name!r}: no ledger kind for annotation {annotation!r}")


def _build_specs() -> dict[str, tuple[FieldSpec, ...]]:
    out: dict[str, tuple[FieldSpec, ...]] = {}
    for table, cls in RECORD_CLASSES.items():
        specs = []
        for name, info in cls.model_fields.items():
            kind, enum_cls = _kind_of(name, info.annotation)
            specs.append(
                FieldSpec(
                    name=name,
                    title=info.title or name,
                    kind=kind,
                    required=info.is_required(),
                    enum=enum_cls,
                )
            )
        out[table] = tuple(specs)
    return out


_SPECS = _build_specs()


def field_specs(table: str) -> tuple[FieldSpec, ...]:
    """The columns of ``table`` in model order (see :data:`TABLE_NAMES`)."""
    return _SPECS[table]


_BRACKETED_SUFFIX = re.compile(r"\([^()]*\)$")
_QUOTES = str.maketrans("", "", "“”\"'《》「」")


def normalise(text: str) -> str:
    """The form names are compared in: NFKC, no spaces or quotes, lower case."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return re.sub(r"\s+", "", text).lower()


def _without_unit(text: str) -> str:
    return _BRACKETED_SUFFIX.sub("", text)


def _table_lookup() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in TABLE_NAMES:
        out[normalise(name)] = name
        out[normalise(TABLE_TITLES_ZH[name])] = name
    for alias, name in _TABLE_ALIASES.items():
        out.setdefault(normalise(alias), name)
    return out


_TABLES_BY_NAME = _table_lookup()


def resolve_table(name: str) -> tuple[str | None, str | None]:
    """The table a sheet or file stem names, or ``(None, hint)`` with a "did you mean" hint."""
    key = normalise(name)
    if key in _TABLES_BY_NAME:
        return _TABLES_BY_NAME[key], None
    close = closest(key, _TABLES_BY_NAME, cutoff=0.5)
    hint = None
    if close is not None:
        table = _TABLES_BY_NAME[close]
        hint = f"did you mean {table!r} ({TABLE_TITLES_ZH[table]})?"
    return None, hint


def _column_lookup(table: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for spec in _SPECS[table]:
        out[normalise(spec.name)] = spec.name
        out[normalise(spec.title)] = spec.name
        out.setdefault(normalise(_without_unit(spec.title)), spec.name)
    for alias, name in _COLUMN_ALIASES.get(table, {}).items():
        out.setdefault(normalise(alias), name)
    return out


_COLUMNS = {table: _column_lookup(table) for table in TABLE_NAMES}


def column_candidates(table: str) -> dict[str, str]:
    """Normalised header -> field name, for every accepted header of ``table``."""
    return _COLUMNS[table]


def accepted_headers(table: str, field: str) -> tuple[str, ...]:
    """The column headers a reader takes for a field, as written: the field name, its Chinese
    title, the title without its unit (``个人年收入``) and other names officials use."""
    spec = next(s for s in _SPECS[table] if s.name == field)
    names = [spec.name, spec.title, _without_unit(spec.title)]
    names += [a for a, f in _COLUMN_ALIASES.get(table, {}).items() if f == field]
    return tuple(dict.fromkeys(names))


def resolve_column(table: str, header: str) -> tuple[str | None, str | None]:
    """The field a column header names, or ``(None, hint)`` with a "did you mean" hint."""
    lookup = _COLUMNS[table]
    key = normalise(header)
    if key in lookup:
        return lookup[key], None
    key2 = normalise(_without_unit(unicodedata.normalize("NFKC", header).strip()))
    if key2 in lookup:
        return lookup[key2], None
    close = closest(key, lookup, cutoff=0.5)
    hint = None
    if close is not None:
        field = lookup[close]
        title = next(s.title for s in _SPECS[table] if s.name == field)
        hint = f"did you mean {title!r} ({field})?"
    return None, hint


_GRADE_SUFFIX = re.compile(r"[一二三四五六1-6]年级$")


def _enum_alias_map(enum_cls: type[enum.Enum]) -> dict[str, str]:
    out: dict[str, str] = {}
    codes = {str(m.value) for m in enum_cls}
    for code in codes:
        out[normalise(code)] = code
    for code in codes:
        label = LABELS_ZH.get(code)
        if label:
            out.setdefault(normalise(label), code)
            out.setdefault(normalise(_without_unit(label)), code)
    for alias, code in _ENUM_EXTRA_ALIASES.items():
        if code in codes:
            out.setdefault(normalise(alias), code)
    return out


_ENUM_ALIASES: dict[type[enum.Enum], dict[str, str]] = {}


def enum_aliases(enum_cls: type[enum.Enum]) -> dict[str, str]:
    """Normalised code or Chinese label -> code, for one code list."""
    if enum_cls not in _ENUM_ALIASES:
        _ENUM_ALIASES[enum_cls] = _enum_alias_map(enum_cls)
    return _ENUM_ALIASES[enum_cls]


def enum_code(enum_cls: type[enum.Enum], text: str) -> str | None:
    """The code a cell names (code, Chinese label or a known variant), or ``None``."""
    aliases = enum_aliases(enum_cls)
    key = normalise(text)
    if key in aliases:
        return aliases[key]
    key = _GRADE_SUFFIX.sub("", key)  # 中职一年级 -> 中职 (the register's 在校情况 grades)
    return aliases.get(key) or aliases.get(normalise(_without_unit(text)))
