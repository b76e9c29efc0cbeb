"""Hypothesis strategies for consistent county datasets (public testing API).

Use them to check that engines agree, that reports never lose a record, or that a policy
behaves at its thresholds::

    from hypothesis import given
    from fupin_rules.testing import datasets

    @given(datasets(max_villages=3, near_threshold=True, missing_rate=0.2))
    def test_engines_agree(ds): ...

Every dataset is *consistent*: one county; 1–3 townships; villages in those townships;
households in those villages; persons in those households; optional tables (loans, payments,
projects, documents, procedure steps, relocations, rectification items) that point at existing
records, or are left out altogether (``None``: *not supplied*, which makes aggregates over them
unknown). Any optional field may be ``None`` (unknown) with probability ``missing_rate``.

With ``near_threshold=True`` values are drawn next to the thresholds of the 2017 plan, where an
inexact engine goes wrong: collective income 49 999.99 / 50 000 / 50 000.01 yuan, village income
growth equal to the county average written with another number of decimals (0.0800 vs 0.08),
loans at the 50 000 yuan cap and 36-month term, payments one fen short of the grant, dates on
deadlines, and villages with exactly 50 residents of whom 1 is poor (incidence exactly 2 %),
or 49 / 51 residents around it.

Records are drawn as dicts in the layout of :func:`fupin_rules.domain.dataset.load_dataset`
(money as ``Decimal``); :func:`datasets` validates them into a
:class:`~fupin_rules.domain.dataset.Dataset`, :func:`dataset_dicts` returns the raw layout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import strategies as st

from fupin_rules.domain.dataset import Dataset, load_dataset
from fupin_rules.domain.enums import (
    ArchiveKind,
    DocumentKind,
    HealthStatus,
    HouseholdAttribute,
    HouseholdRelationship,
    LabourCapacity,
    PaymentProgram,
    PovertyCause,
    PovertyStatus,
    ProcedureStepKind,
    SchoolLevel,
    VillageCategory,
)
from fupin_rules.errors import DataError

__all__ = [
    "ALL_STATUSES",
    "dataset_dicts",
    "datasets",
    "households",
    "persons",
    "villages",
]

T = TypeVar("T")

#: every poverty status code (the default of ``statuses=``)
ALL_STATUSES: tuple[str, ...] = tuple(s.value for s in PovertyStatus)

_MONEY_NEAR = ("49999.99", "50000", "50000.00", "50000.01", "0", "120000.5")
_MONEY_ANY = ("0", "800", "3000", "12500.5", "50000", "99999.99")
_GROWTH_NEAR = ("0.08", "0.0800", "0.0799", "0.0801", "0.12")
_GROWTH_ANY = ("0.05", "0.08", "0.1", "0.15")
_LOAN_NEAR = ("49999.99", "50000", "50000.01", "10000")
_PAY_NEAR = ("2999.99", "3000", "4999.99", "5000", "2500")
_DATES_NEAR = (
    dt.date(2016, 9, 1),
    dt.date(2016, 12, 31),
    dt.date(2017, 1, 1),
    dt.date(2017, 8, 31),
    dt.date(2017, 9, 1),
    dt.date(2017, 11, 29),
    dt.date(2017, 11, 30),
    dt.date(2017, 12, 1),
    dt.date(2017, 12, 31),
    dt.date(2018, 1, 1),
)
_DISEASES = ("hypertension", "diabetes", "not_on_the_list")
_DEPARTMENTS = (
    "education",
    "health",
    "human_resources_social_security",
    "civil_affairs",
    "disabled_persons_federation",
)


def _codes(enum_cls: Any) -> tuple[str, ...]:
    return tuple(m.value for m in enum_cls)


def _maybe(draw: st.DrawFn, strategy: st.SearchStrategy[T], missing_rate: float) -> T | None:
    """A value, or ``None`` (unknown) with probability ``missing_rate``."""
    if missing_rate > 0 and draw(st.integers(0, 999)) < int(missing_rate * 1000):
        return None
    return draw(strategy)


def _money(near: bool) -> st.SearchStrategy[Decimal]:
    return st.sampled_from(_MONEY_NEAR if near else _MONEY_ANY).map(Decimal)


def _bool() -> st.SearchStrategy[bool]:
    return st.booleans()


@st.composite
def persons(
    draw: st.DrawFn,
    *,
    person_id: str = "P1",
    household_id: str = "H1",
    missing_rate: float = 0.1,
    near_threshold: bool = True,
) -> dict[str, Any]:
    """One person record (dict) of household ``household_id``."""
    m = missing_rate

    def opt(s: st.SearchStrategy[Any]) -> Any:
        return _maybe(draw, s, m)

    return {
        "person_id": person_id,
        "household_id": household_id,
        "birth_date": opt(st.sampled_from((dt.date(1950, 1, 1), dt.date(2001, 9, 1)))),
        "is_head": opt(_bool()),
        "relationship": opt(st.sampled_from(_codes(HouseholdRelationship))),
        "school_level": opt(st.sampled_from(_codes(SchoolLevel))),
        "studying_outside_area": opt(_bool()),
        "labour_capacity": opt(st.sampled_from(_codes(LabourCapacity))),
        "health_status": opt(st.sampled_from(_codes(HealthStatus))),
        "chronic_diseases": opt(st.lists(st.sampled_from(_DISEASES), max_size=2, unique=True)),
        "basic_medical_insured": opt(_bool()),
        "serious_illness_insured": opt(_bool()),
        "chronic_disease_insured": opt(_bool()),
        "chronic_disease_screened": opt(_bool()),
        "chronic_disease_treated": opt(_bool()),
        "annual_income_yuan": opt(_money(near_threshold)),
    }


@st.composite
def households(
    draw: st.DrawFn,
    *,
    household_id: str = "H1",
    village_id: str = "V1",
    statuses: Sequence[str] = ALL_STATUSES,
    missing_rate: float = 0.1,
) -> dict[str, Any]:
    """One household record (dict) of village ``village_id``, status drawn from ``statuses``."""
    m = missing_rate

    def opt(s: st.SearchStrategy[Any]) -> Any:
        return _maybe(draw, s, m)

    flags = (
        "has_exit_plan",
        "manual_filled",
        "manual_edition_new",
        "filed_for_record",
        "has_ledger",
        "system_ticked",
        "separate_ledger",
        "public_notice_posted",
        "departments_notified",
        "industry_project_ledger",
        "industry_project_implemented",
        "industry_management_in_place",
        "industry_subsidy_paid",
        "industry_income_secured",
        "three_without",
        "asset_income_model",
        "driven_by_market_entity",
        "driven_by_featured_industry",
    )
    rec: dict[str, Any] = {
        "household_id": household_id,
        "village_id": village_id,
        "poverty_status": opt(st.sampled_from(tuple(statuses))),
        "attribute": opt(st.sampled_from(_codes(HouseholdAttribute))),
        "main_cause": opt(st.sampled_from(_codes(PovertyCause))),
        "assistance_measures": opt(
            st.lists(st.sampled_from(("industry", "employment", "education")), max_size=2)
        ),
        "helper_name": opt(st.sampled_from(("", "王芳", "李强"))),
        "exit_year": opt(st.sampled_from((2016, 2017, 2018))),
    }
    for flag in flags:
        rec[flag] = opt(_bool())
    return rec


@st.composite
def villages(
    draw: st.DrawFn,
    *,
    village_id: str = "V1",
    township_id: str = "T1",
    missing_rate: float = 0.1,
    near_threshold: bool = True,
) -> dict[str, Any]:
    """One village record (dict) in township ``township_id``."""
    m = missing_rate

    def opt(s: st.SearchStrategy[Any]) -> Any:
        return _maybe(draw, s, m)

    flags = (
        "has_leading_industry",
        "has_driving_enterprise_or_coop",
        "safe_drinking_water",
        "hardened_road",
        "safe_power_grid",
        "broadband_network",
        "service_center",
        "culture_venue",
        "medical_security",
        "housing_security",
        "clinic_built",
        "clinic_has_qualified_doctor",
    )
    growth = _GROWTH_NEAR if near_threshold else _GROWTH_ANY
    rec: dict[str, Any] = {
        "village_id": village_id,
        "township_id": township_id,
        "category": opt(st.sampled_from(_codes(VillageCategory))),
        "planned_exit_year": opt(st.sampled_from((2016, 2017, 2018))),
        "collective_income_yuan": opt(_money(near_threshold)),
        "income_growth_rate": opt(st.sampled_from(growth).map(Decimal)),
        "new_market_entities_count": opt(st.sampled_from((2, 3, 4))),
        "exited_on": opt(st.sampled_from(_DATES_NEAR)),
    }
    for flag in flags:
        rec[flag] = opt(_bool())
    return rec


def _table(draw: st.DrawFn, optional_tables: bool) -> bool:
    """Whether an optional table is supplied."""
    return not optional_tables or draw(st.integers(0, 4)) > 0


@st.composite
def dataset_dicts(
    draw: st.DrawFn,
    *,
    min_townships: int = 1,
    max_townships: int = 3,
    min_villages: int = 1,
    max_villages: int = 4,
    min_households: int = 1,
    max_households: int = 4,
    max_persons: int = 4,
    near_threshold: bool = True,
    missing_rate: float = 0.1,
    statuses: Sequence[str] = ALL_STATUSES,
    optional_tables: bool = True,
) -> dict[str, Any]:
    """A consistent dataset in the layout of :func:`~fupin_rules.domain.dataset.load_dataset`.

    ``min_households``/``max_households`` are per village and ``max_persons`` per household.
    ``optional_tables``: each optional table is sometimes left out (not supplied); with
    ``False`` every table is supplied. See the module docstring for ``near_threshold``.
    """
    m = missing_rate
    near = near_threshold

    def opt(s: st.SearchStrategy[Any]) -> Any:
        return _maybe(draw, s, m)

    growth = _GROWTH_NEAR if near else _GROWTH_ANY
    county: dict[str, Any] = {
        "county_id": "C1",
        "name": "测试县",
        "avg_income_growth_rate": opt(st.sampled_from(growth[:2]).map(Decimal)),
        "data_exchange_departments": opt(
            st.lists(st.sampled_from(_DEPARTMENTS), unique=True, max_size=len(_DEPARTMENTS))
        ),
    }
    n_town = draw(st.integers(min_townships, max_townships))
    townships = [
        {"township_id": f"T{i}", "county_id": "C1", "has_industry_scale": opt(_bool())}
        for i in range(1, n_town + 1)
    ]
    n_vil = draw(st.integers(min_villages, max_villages))
    vils: list[dict[str, Any]] = []
    hhs: list[dict[str, Any]] = []
    pers: list[dict[str, Any]] = []
    for v in range(1, n_vil + 1):
        vid = f"V{v}"
        tid = f"T{draw(st.integers(1, n_town))}"
        vils.append(
            draw(villages(village_id=vid, township_id=tid, missing_rate=m, near_threshold=near))
        )
        n_hh = draw(st.integers(min_households, max_households))
        for h in range(1, n_hh + 1):
            hid = f"H{v}_{h}"
            hhs.append(
                draw(
                    households(household_id=hid, village_id=vid, statuses=statuses, missing_rate=m)
                )
            )
            for p in range(1, draw(st.integers(1, max_persons)) + 1):
                pers.append(
                    draw(
                        persons(
                            person_id=f"P{v}_{h}_{p}",
                            household_id=hid,
                            missing_rate=m,
                            near_threshold=near,
                        )
                    )
                )
        if near and draw(st.booleans()):
            # 1 poor resident among 50 (exactly 2 %), or among 49 / 51
            total = draw(st.sampled_from((49, 50, 51)))
            poor_id, rest_id = f"H{v}_poor", f"H{v}_rest"
            hhs.append(
                {"household_id": poor_id, "village_id": vid, "poverty_status": "registered_poor"}
            )
            hhs.append({"household_id": rest_id, "village_id": vid, "poverty_status": "non_poor"})
            pers.append({"person_id": f"P{v}_poor", "household_id": poor_id})
            already = sum(1 for p in pers if p["household_id"].startswith(f"H{v}_"))
            for k in range(max(0, total - already)):
                pers.append({"person_id": f"P{v}_r{k}", "household_id": rest_id})
    data: dict[str, Any] = {
        "county": county,
        "townships": townships,
        "villages": vils,
        "households": hhs,
        "persons": pers,
    }
    hh_ids = [h["household_id"] for h in hhs]
    person_ids = [p["person_id"] for p in pers]
    village_of = {h["household_id"]: h["village_id"] for h in hhs}
    pick_hh = st.sampled_from(hh_ids)
    dates = st.sampled_from(_DATES_NEAR)
    if _table(draw, optional_tables):
        data["loans"] = [
            {
                "loan_id": f"L{i}",
                "household_id": draw(pick_hh),
                "amount_yuan": Decimal(
                    draw(st.sampled_from(_LOAN_NEAR if near else _MONEY_ANY[1:]))
                ),
                "issued_on": opt(dates),
                "term_months": opt(st.sampled_from((12, 36, 37))),
                "used_by_household": opt(_bool()),
                "repaid_by_household": opt(_bool()),
                "repaid": opt(_bool()),
            }
            for i in range(draw(st.integers(0, 4)))
        ]
    if _table(draw, optional_tables):
        pays = []
        for i in range(draw(st.integers(0, 5))):
            pid = draw(st.sampled_from(person_ids)) if draw(st.booleans()) else None
            hid = (
                draw(pick_hh)
                if pid is None
                else next(p["household_id"] for p in pers if p["person_id"] == pid)
            )
            pays.append(
                {
                    "payment_id": f"PAY{i}",
                    "household_id": hid,
                    "person_id": pid,
                    "program": draw(st.sampled_from(_codes(PaymentProgram))),
                    "amount_yuan": Decimal(draw(st.sampled_from(_PAY_NEAR))),
                    "paid_on": opt(dates),
                }
            )
        data["payments"] = pays
    if _table(draw, optional_tables):
        projects = []
        for i in range(draw(st.integers(0, 4))):
            proj_hh: str | None = draw(pick_hh) if draw(st.booleans()) else None
            vid = village_of[proj_hh] if proj_hh else f"V{draw(st.integers(1, n_vil))}"
            projects.append(
                {
                    "project_id": f"PR{i}",
                    "village_id": vid,
                    "household_id": proj_hh,
                    "amount_yuan": opt(_money(near)),
                    "disbursed_yuan": opt(_money(near)),
                    "implemented": opt(_bool()),
                    "accepted": opt(_bool()),
                }
            )
        data["projects"] = projects
    if _table(draw, optional_tables):
        docs = []
        for i in range(draw(st.integers(0, 8))):
            archive = draw(st.sampled_from(_codes(ArchiveKind)))
            doc_hh: str | None = (
                draw(pick_hh) if archive != "village_special" or draw(st.booleans()) else None
            )
            vid = village_of[doc_hh] if doc_hh else f"V{draw(st.integers(1, n_vil))}"
            docs.append(
                {
                    "document_id": f"D{i}",
                    "archive": archive,
                    "kind": draw(st.sampled_from(_codes(DocumentKind))),
                    "village_id": vid,
                    "household_id": doc_hh,
                    "up_to_date": opt(_bool()),
                }
            )
        data["documents"] = docs
    if _table(draw, optional_tables):
        data["procedure_steps"] = [
            {
                "step_id": f"S{i}",
                "household_id": draw(pick_hh),
                "step": draw(st.sampled_from(_codes(ProcedureStepKind))),
                "done_on": opt(dates),
            }
            for i in range(draw(st.integers(0, 6)))
        ]
    if _table(draw, optional_tables):
        data["relocations"] = [
            {
                "relocation_id": f"R{i}",
                "household_id": draw(pick_hh),
                "year": opt(st.sampled_from((2016, 2017))),
                "turnkey_on": opt(dates),
                "moved_in_on": opt(dates),
                "exit_measures_delivered": opt(_bool()),
            }
            for i in range(draw(st.integers(0, 3)))
        ]
    if _table(draw, optional_tables):
        data["rectification_items"] = [
            {
                "item_id": f"RI{i}",
                "county_id": "C1",
                "measures": opt(st.sampled_from(("", "补建台账"))),
                "deadline": opt(dates),
                "responsible_leader": opt(st.sampled_from(("", "张三"))),
                "responsible_person": opt(st.sampled_from(("", "李四"))),
                "closed": opt(_bool()),
            }
            for i in range(draw(st.integers(0, 3)))
        ]
    return {k: _drop_none(v) for k, v in data.items()}


def _drop_none(table: Any) -> Any:
    if isinstance(table, list):
        return [{k: v for k, v in r.items() if v is not None} for r in table]
    if isinstance(table, dict):
        return {k: v for k, v in table.items() if v is not None}
    return table


def _validated(data: dict[str, Any]) -> Dataset:
    result = load_dataset(data, source="<hypothesis>")
    if result.issues:  # a strategy bug, not a test failure of the code under test
        raise DataError([i.render() for i in result.issues])
    return result.dataset


def datasets(**knobs: Any) -> st.SearchStrategy[Dataset]:
    """Validated :class:`~fupin_rules.domain.dataset.Dataset` values; knobs as
    :func:`dataset_dicts` (``min_villages``, ``max_villages``, ``min_households``,
    ``max_households``, ``max_persons``, ``near_threshold``, ``missing_rate``, ``statuses``,
    ``min_townships``, ``max_townships``, ``optional_tables``)."""
    return dataset_dicts(**knobs).map(_validated)


_ = PovertyStatus
