"""The entity kinds, each declared once: table, record, key, links, stratum, report level, names.

person ⊂ household ⊂ village ⊂ township ⊂ county, and the records that hang off them (loans,
payments, projects, documents, exit-procedure steps, relocations, rectification items). Every
list the rest of the package needs — the domain schema's links and collections, the dataset's
tables and references, the engines' strata, the report levels, the ledger's sheet titles — is
derived from :data:`ENTITIES`. Adding a kind means adding its record model (in
:mod:`fupin_rules.domain.models`) and one :class:`EntityKind` here; :func:`declare` builds the
derived views from any declaration (the tests use it with an extra kind).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs

from fupin_rules.domain.models import (
    ArchiveDocument,
    County,
    Household,
    MicrocreditLoan,
    Payment,
    Person,
    ProcedureStep,
    ProjectFund,
    Record,
    RectificationItem,
    Relocation,
    Township,
    Village,
)

__all__ = [
    "ENTITIES",
    "REPORT_LEVELS",
    "STRATA",
    "Collection",
    "Entities",
    "EntityKind",
    "Parent",
    "declare",
]

#: the strata the engines evaluate in, in order (a kind's rules run in its owner stratum)
STRATA: tuple[str, ...] = ("household", "village", "county")
#: the report levels, in report order (county targets first, persons last)
REPORT_LEVELS: tuple[str, ...] = ("county", "village", "household", "person")


@attrs.frozen
class Parent:
    """A parent link: ``household.village`` is ``Parent("village", "village", "village_id")``.

    ``field`` is the record's field holding the parent's key; ``None`` for the one county, which
    every record belongs to without naming it.
    """

    link: str
    kind: str
    field: str | None


@attrs.frozen
class Collection:
    """A collection on an owner: the records of ``kind`` that belong to it.

    ``via`` is the path of the member's parent links that leads to the owner (``residents`` of a
    village: ``("household", "village")``); empty for a county collection (every record of the
    kind). ``unlinked``: only the members whose link of that name is empty (a village's own
    ``documents`` are those not attached to a household).
    """

    name: str
    kind: str
    via: tuple[str, ...] = ()
    unlinked: str | None = None


@attrs.frozen
class EntityKind:
    """One entity kind: everything the package needs to know about it, in one place."""

    kind: str
    #: table name in datasets, ledgers and frames (``households``); ``county`` for the county
    table: str
    record: type[Record]
    #: Chinese and English names officials and readers see (户 / household)
    name_zh: str
    name_en: str
    #: the stratum its rules are evaluated in (see :data:`STRATA`)
    stratum: str
    #: the report level its findings are listed under (see :data:`REPORT_LEVELS`)
    level: str
    parents: tuple[Parent, ...] = ()
    collections: tuple[Collection, ...] = ()
    #: the collection of the stratum's owner its records ride along in (``None`` for an owner)
    visited_through: str | None = None
    #: the Chinese sheet title a ledger writer uses, and other sheet names a reader accepts
    sheet_zh: str = ""
    sheet_aliases: tuple[str, ...] = ()
    #: other column headers a ledger reader accepts for a field: (header, field name)
    column_aliases: tuple[tuple[str, str], ...] = ()
    #: a table every dataset has (empty when no rows); ``False``: absent means not supplied
    required: bool = False
    #: the field shown next to a record's id where a report names it (a drill-down's child
    #: records: ``P1 张三``); ``None``: the id alone
    display: str | None = None

    @property
    def key(self) -> str:
        """The name of the record's key field (``household_id``)."""
        return self.record.key_field

    def parent(self, link: str) -> Parent:
        """The parent link of that name."""
        for p in self.parents:
            if p.link == link:
                return p
        raise KeyError(f"{self.kind} has no parent link {link!r}")


@attrs.frozen
class Entities:
    """A declaration of entity kinds and the views derived from it (county first, parents
    before children: the dependency order of tables)."""

    kinds: tuple[EntityKind, ...]
    _by_kind: dict[str, EntityKind] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems = _problems(self.kinds)
        if problems:
            raise ValueError("entity declaration: " + "; ".join(problems))
        object.__setattr__(self, "_by_kind", {e.kind: e for e in self.kinds})

    def __iter__(self) -> Iterator[EntityKind]:
        return iter(self.kinds)

    def __getitem__(self, kind: str) -> EntityKind:
        return self._by_kind[kind]

    @property
    def by_kind(self) -> dict[str, EntityKind]:
        """kind -> declaration."""
        return dict(self._by_kind)

    @property
    def by_table(self) -> dict[str, EntityKind]:
        """table name -> declaration (``county`` included)."""
        return {e.table: e for e in self.kinds}

    @property
    def records(self) -> dict[str, type[Record]]:
        """kind -> record class."""
        return {e.kind: e.record for e in self.kinds}

    @property
    def links(self) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
        """kind -> (parent link -> kind, collection -> kind), as the expression schema has it."""
        return {
            e.kind: (
                {p.link: p.kind for p in e.parents},
                {c.name: c.kind for c in e.collections},
            )
            for e in self.kinds
        }

    @property
    def tables(self) -> dict[str, type[Record]]:
        """table name -> record class of every table but the county's, parents first."""
        return {e.table: e.record for e in self.kinds if e.table != "county"}

    @property
    def table_kind(self) -> dict[str, str]:
        """table name -> kind, for every table but the county's."""
        return {e.table: e.kind for e in self.kinds if e.table != "county"}

    @property
    def references(self) -> dict[str, tuple[tuple[str, str], ...]]:
        """table -> (field, parent table) references that must resolve."""
        tables = {e.kind: e.table for e in self.kinds}
        return {
            e.table: tuple((p.field, tables[p.kind]) for p in e.parents if p.field is not None)
            for e in self.kinds
            if e.table != "county"
        }

    @property
    def owner(self) -> dict[str, str]:
        """kind -> the stratum its rules are evaluated in."""
        return {e.kind: e.stratum for e in self.kinds}

    def members(self, stratum: str) -> list[tuple[str, str]]:
        """(kind, collection on the owner) of the records that ride along with a stratum's owner."""
        return [
            (e.kind, e.visited_through)
            for e in self.kinds
            if e.stratum == stratum and e.visited_through is not None
        ]

    @property
    def plan_owner(self) -> dict[str, tuple[str, str] | None]:
        """kind -> (owner kind, collection) through which the evaluation plan visits it."""
        return {
            e.kind: None if e.visited_through is None else (e.stratum, e.visited_through)
            for e in self.kinds
        }

    @property
    def level(self) -> dict[str, str]:
        """kind -> report level, in report order (level by level, declaration order within)."""
        ordered = sorted(self.kinds, key=lambda e: REPORT_LEVELS.index(e.level))
        return {e.kind: e.level for e in ordered}

    @property
    def names_zh(self) -> dict[str, str]:
        """kind -> Chinese name, in report order."""
        by_kind = self.by_kind
        return {k: by_kind[k].name_zh for k in self.level}

    @property
    def names_en(self) -> dict[str, str]:
        """kind -> English name, in report order."""
        by_kind = self.by_kind
        return {k: by_kind[k].name_en for k in self.level}

    @property
    def displays(self) -> dict[str, str | None]:
        """kind -> the field shown next to a record's id (``None``: the id alone)."""
        return {e.kind: e.display for e in self.kinds}

    @property
    def sheet_titles_zh(self) -> dict[str, str]:
        """table name -> the Chinese sheet title, the county's first."""
        return {e.table: e.sheet_zh for e in self.kinds}

    @property
    def sheet_aliases(self) -> dict[str, str]:
        """other sheet name -> table name."""
        return {alias: e.table for e in self.kinds for alias in e.sheet_aliases}

    def collections_of(self, kind: str) -> list[tuple[str, Collection]]:
        """(owner kind, collection) of every collection whose members are of ``kind``."""
        return [(e.kind, c) for e in self.kinds for c in e.collections if c.kind == kind]


def _problems(kinds: tuple[EntityKind, ...]) -> list[str]:
    """What is inconsistent in a declaration (unknown kinds, links without fields, ...)."""
    out: list[str] = []
    seen: dict[str, EntityKind] = {}
    if not kinds or kinds[0].table != "county":
        out.append("the county must be declared first (table 'county')")
    for e in kinds:
        if e.kind in seen:
            out.append(f"kind {e.kind!r} is declared twice")
        if e.stratum not in STRATA:
            out.append(f"{e.kind}: stratum {e.stratum!r} is not one of {list(STRATA)}")
        if e.level not in REPORT_LEVELS:
            out.append(f"{e.kind}: level {e.level!r} is not one of {list(REPORT_LEVELS)}")
        for p in e.parents:
            if p.kind not in seen:
                out.append(f"{e.kind}.{p.link}: parent kind {p.kind!r} is not declared before it")
            if p.field is not None and p.field not in e.record.model_fields:
                out.append(f"{e.kind}.{p.link}: {e.record.__name__} has no field {p.field!r}")
        if e.display is not None and e.display not in e.record.model_fields:
            out.append(f"{e.kind}: display {e.display!r}: {e.record.__name__} has no such field")
        for header, field in e.column_aliases:
            if field not in e.record.model_fields:
                out.append(f"{e.kind}: column {header!r} names no field ({field!r})")
        seen[e.kind] = e
    for e in kinds:
        for c in e.collections:
            member = seen.get(c.kind)
            if member is None:
                out.append(f"{e.kind}.{c.name}: member kind {c.kind!r} is not declared")
                continue
            at = member
            for link in c.via:
                nxt = next((p.kind for p in at.parents if p.link == link), None)
                if nxt is None:
                    out.append(f"{e.kind}.{c.name}: {at.kind} has no parent link {link!r}")
                    break
                at = seen[nxt]
            else:
                if c.via and at.kind != e.kind:
                    out.append(f"{e.kind}.{c.name}: the path {'.'.join(c.via)} leads to {at.kind}")
                if not c.via and e.table != "county":
                    out.append(f"{e.kind}.{c.name}: only the county's collections need no path")
        if e.visited_through is not None:
            owner = seen.get(e.stratum)
            names = {c.name: c.kind for c in owner.collections} if owner else {}
            if names.get(e.visited_through) != e.kind:
                out.append(
                    f"{e.kind}: {e.stratum} has no collection {e.visited_through!r} of {e.kind}"
                )
        elif e.kind != e.stratum:
            out.append(f"{e.kind}: name the {e.stratum} collection its records ride along in")
    return out


def declare(kinds: Iterable[EntityKind]) -> Entities:
    """A checked declaration (raises ``ValueError`` naming every inconsistency)."""
    return Entities(tuple(kinds))


def _county_wide(*pairs: tuple[str, str]) -> tuple[Collection, ...]:
    return tuple(Collection(name, kind) for name, kind in pairs)


_VILLAGE = Parent("village", "village", "village_id")
_HOUSEHOLD = Parent("household", "household", "household_id")

#: every entity kind, county first and parents before children
ENTITIES: Entities = declare(
    (
        EntityKind(
            "county",
            "county",
            County,
            name_zh="县",
            name_en="county",
            stratum="county",
            level="county",
            collections=_county_wide(
                ("townships", "township"),
                ("villages", "village"),
                ("households", "household"),
                ("persons", "person"),
                ("loans", "loan"),
                ("relocations", "relocation"),
                ("rectification_items", "rectification_item"),
            ),
            sheet_zh="县",
            sheet_aliases=("县基本情况",),
            required=True,
            display="name",
        ),
        EntityKind(
            "township",
            "townships",
            Township,
            name_zh="乡镇",
            name_en="township",
            stratum="county",
            level="county",
            parents=(Parent("county", "county", "county_id"),),
            collections=(Collection("villages", "village", ("township",)),),
            visited_through="townships",
            sheet_zh="乡镇",
            sheet_aliases=("乡", "乡镇基本情况"),
            display="name",
        ),
        EntityKind(
            "village",
            "villages",
            Village,
            name_zh="村",
            name_en="administrative village",
            stratum="village",
            level="village",
            parents=(
                Parent("township", "township", "township_id"),
                Parent("county", "county", None),
            ),
            collections=(
                Collection("households", "household", ("village",)),
                Collection("residents", "person", ("household", "village")),
                Collection("documents", "document", ("village",), unlinked="household"),
                Collection("all_documents", "document", ("village",)),
                Collection("projects", "project", ("village",)),
            ),
            sheet_zh="村",
            sheet_aliases=("行政村", "贫困村", "村基本情况"),
            required=True,
            display="name",
        ),
        EntityKind(
            "household",
            "households",
            Household,
            name_zh="户",
            name_en="household",
            stratum="household",
            level="household",
            parents=(_VILLAGE,),
            collections=(
                Collection("members", "person", ("household",)),
                Collection("loans", "loan", ("household",)),
                Collection("payments", "payment", ("household",)),
                Collection("documents", "document", ("household",)),
                Collection("procedure_steps", "procedure_step", ("household",)),
                Collection("relocations", "relocation", ("household",)),
                Collection("projects", "project", ("household",)),
            ),
            sheet_zh="户",
            sheet_aliases=("贫困户", "农户"),
            required=True,
            display="helper_name",
        ),
        EntityKind(
            "person",
            "persons",
            Person,
            name_zh="人员",
            name_en="household member",
            stratum="household",
            level="person",
            parents=(_HOUSEHOLD,),
            collections=(Collection("payments", "payment", ("person",)),),
            visited_through="members",
            sheet_zh="人员",
            sheet_aliases=("家庭成员", "人口"),
            column_aliases=(
                ("家庭关系", "relationship"),
                ("与户主的关系", "relationship"),
                ("关系", "relationship"),
            ),
            required=True,
            display="name",
        ),
        EntityKind(
            "loan",
            "loans",
            MicrocreditLoan,
            name_zh="小额贷款",
            name_en="microcredit loan",
            stratum="household",
            level="household",
            parents=(_HOUSEHOLD,),
            visited_through="loans",
            sheet_zh="小额信贷",
            sheet_aliases=("扶贫小额信贷", "贷款"),
        ),
        EntityKind(
            "payment",
            "payments",
            Payment,
            name_zh="资金发放",
            name_en="payment",
            stratum="household",
            level="household",
            parents=(_HOUSEHOLD, Parent("person", "person", "person_id")),
            visited_through="payments",
            sheet_zh="资金发放",
            sheet_aliases=("补助发放", "资金发放记录"),
            display="program",
        ),
        EntityKind(
            "project",
            "projects",
            ProjectFund,
            name_zh="项目",
            name_en="project fund",
            stratum="village",
            level="village",
            parents=(_VILLAGE, _HOUSEHOLD),
            visited_through="projects",
            sheet_zh="项目资金",
            sheet_aliases=("项目", "扶贫项目资金"),
            display="name",
        ),
        EntityKind(
            "document",
            "documents",
            ArchiveDocument,
            name_zh="档案资料",
            name_en="archive document",
            stratum="village",
            level="village",
            parents=(_VILLAGE, _HOUSEHOLD),
            visited_through="all_documents",
            sheet_zh="档案资料",
            sheet_aliases=("档案", "扶贫档案资料"),
            display="kind",
        ),
        EntityKind(
            "procedure_step",
            "procedure_steps",
            ProcedureStep,
            name_zh="退出程序",
            name_en="exit procedure step",
            stratum="household",
            level="household",
            parents=(_HOUSEHOLD,),
            visited_through="procedure_steps",
            sheet_zh="退出程序",
            sheet_aliases=("退出程序痕迹", "脱贫退出程序"),
            display="step",
        ),
        EntityKind(
            "relocation",
            "relocations",
            Relocation,
            name_zh="易地搬迁",
            name_en="relocation",
            stratum="household",
            level="household",
            parents=(_HOUSEHOLD,),
            visited_through="relocations",
            sheet_zh="易地搬迁",
            sheet_aliases=("易地扶贫搬迁", "搬迁"),
            display="site",
        ),
        EntityKind(
            "rectification_item",
            "rectification_items",
            RectificationItem,
            name_zh="整改问题",
            name_en="rectification item",
            stratum="county",
            level="county",
            parents=(Parent("county", "county", "county_id"),),
            visited_through="rectification_items",
            sheet_zh="整改问题",
            sheet_aliases=("易迁问题整改", "问题整改"),
            display="description",
        ),
    )
)
