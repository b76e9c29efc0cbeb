"""Who is who in a report: subjects' names and the village and household they belong to.

Findings carry ids only; the reports (Excel, HTML) and the rectification tracking read this
directory, built from the dataset and the entity declaration.
"""

from __future__ import annotations

from functools import cache

import attrs

from fupin_rules.domain.dataset import Dataset
from fupin_rules.domain.entities import ENTITIES, Parent

__all__ = ["KIND_ZH", "SubjectDirectory"]

#: subject kind -> the Chinese word officials use (in report order: level by level)
KIND_ZH: dict[str, str] = ENTITIES.names_zh


@cache
def _placed_by(kind: str, level: str) -> Parent | None:
    """The parent link through which a record of ``kind`` belongs to a village or household:
    a link to one, else the first link to a kind that belongs to one (``None``: neither)."""
    parents = ENTITIES[kind].parents
    direct = next((p for p in parents if p.kind == level), None)
    if direct is not None:
        return direct
    return next((p for p in parents if _placed_by(p.kind, level) is not None), None)


@attrs.frozen
class SubjectDirectory:
    """Names and owners of subjects, taken from the dataset: who is who, and in which village.

    Findings carry ids only; with a directory the reports add names (村名称, 姓名, 户主) and
    group household and person problems by village. Without one (``SubjectDirectory()``),
    only village-level findings can be placed in a village.
    """

    names: dict[tuple[str, str], str] = attrs.field(factory=dict)
    villages: dict[tuple[str, str], str] = attrs.field(factory=dict)
    households: dict[tuple[str, str], str] = attrs.field(factory=dict)

    @classmethod
    def from_dataset(cls, dataset: Dataset | None) -> SubjectDirectory:
        """Index the dataset's names and village/household ownership (empty for ``None``)."""
        if dataset is None:
            return cls()
        names: dict[tuple[str, str], str] = {}
        villages: dict[tuple[str, str], str] = {}
        households: dict[tuple[str, str], str] = {}
        owners = {"village": villages, "household": households}
        for e in ENTITIES:  # parents first: a record's village is its parent's
            rows = (dataset.county,) if e.table == "county" else dataset.table(e.table) or ()
            # where each level is found, worked out once per kind, not once per record
            # (index, how, the parent link's field, the parent's kind)
            links: list[tuple[dict[tuple[str, str], str], str, str, str]] = []
            for level, found in owners.items():
                if e.kind == level:
                    links.append((found, "itself", "", level))
                elif (via := _placed_by(e.kind, level)) is not None:
                    how = "parent" if via.kind == level else "through parent"
                    links.append((found, how, via.field or "", via.kind))
            # a record class has a field or not (extra fields are forbidden): asked once per
            # class, as an attribute a pydantic model lacks costs an exception each time
            named: dict[type, tuple[bool, bool]] = {}
            for r in rows:
                key = r.key()
                for found, how, field, parent_kind in links:
                    if how == "itself":
                        found[e.kind, key] = key
                        continue
                    pid = getattr(r, field) if field else None
                    if how == "parent":
                        if pid:
                            found[e.kind, key] = str(pid)
                    else:
                        found[e.kind, key] = found.get((parent_kind, str(pid)), "")
                has = named.get(type(r))
                if has is None:
                    has = named[type(r)] = (hasattr(r, "name"), hasattr(r, "is_head"))
                name = r.name if has[0] else None  # type: ignore[attr-defined]
                if name:
                    names[e.kind, key] = name
                    if e.kind == "person" and has[1] and r.is_head:  # type: ignore[attr-defined]
                        names.setdefault(("household", r.household_id), f"户主 {name}")  # type: ignore[attr-defined]
        return cls(names, villages, households)

    def name(self, kind: str, subject_id: str) -> str:
        """The subject's name, or ``""``."""
        return self.names.get((kind, subject_id), "")

    def village(self, kind: str, subject_id: str) -> str:
        """The id of the village the subject belongs to, or ``""`` when not known."""
        if kind == "village":
            return subject_id
        return self.villages.get((kind, subject_id), "")

    def household(self, kind: str, subject_id: str) -> str:
        """The id of the household the subject belongs to, or ``""``."""
        return self.households.get((kind, subject_id), "")

    def where(self, kind: str, subject_id: str) -> list[str]:
        """The leading cells of a row about a subject: 所属村, 村名称, 所属户, 对象类型,
        对象编码, 名称."""
        vid = self.village(kind, subject_id)
        return [
            vid,
            self.name("village", vid) if vid else "",
            self.household(kind, subject_id),
            KIND_ZH.get(kind, kind),
            subject_id,
            self.name(kind, subject_id),
        ]
