"""Domain records at the data boundary (pydantic v2): validated, immutable, JSON-Schema-able.

Conventions that every record follows:

* ``None`` means *unknown* (the ledger has no value), never false or zero. Rules that need a
  missing value give the verdict *unknown* and name the field.
* Money is ``Decimal`` yuan with at most two decimal places (fen); binary floats are refused.
* Rates are ``Decimal`` fractions (0.02 is 2 %).
* Identifiers are strings; the field names ``id`` and ``sid`` are never used (durable-rules
  reserves them).
* Unknown fields are errors (``extra="forbid"``), with the record id and field in the message.

Each field's ``title`` is the Chinese term officials use; it appears in explanations
("村 V012: 缺少 卫生室医生资质 数据").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

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

__all__ = [
    "ArchiveDocument",
    "County",
    "Household",
    "MicrocreditLoan",
    "Payment",
    "Person",
    "ProcedureStep",
    "ProjectFund",
    "Record",
    "RectificationItem",
    "Relocation",
    "Township",
    "Village",
]


def _exact_from_float(value: Any) -> Any:
    """Money and rates must arrive exact. A JSON number like 3000.5 is read as a float; it is
    accepted only through its shortest repr (so 0.1 -> ``Decimal("0.1")`` exactly)."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return Decimal(repr(value))
    return value


def _exact_money(value: Any) -> Any:
    """Money as :func:`_exact_from_float`, and never in scientific notation: ``1E5`` or
    ``1.23457E+11`` is how Excel shows a long number after dropping digits, so an amount
    written that way is refused rather than guessed (a plain ``100000`` is fine)."""
    if isinstance(value, str):
        if "e" in value or "E" in value:
            raise ValueError(_SCIENTIFIC.format(value=value))
        return value
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:  # only 1E+5-style text gives one
            raise ValueError(_SCIENTIFIC.format(value=value))
        return value
    return _exact_from_float(value)


_SCIENTIFIC = (
    "{value!s} is written in scientific notation (科学计数法); Excel shows long numbers this way "
    "and drops digits, so write the amount in full (e.g. 100000)"
)


# the float check sits on the money and rate types only: a validator on every field ("*") was
# a Python call per field of every record (7.7 million for a 100,000-household county). The
# constraints come before the validator: after it, pydantic checks the digits in Python (three
# Python calls per value, 6x slower); before it, pydantic-core checks them (same messages).
# (The JSON Schema keeps the digits as it had them.)
Yuan = Annotated[
    Decimal,
    Field(
        allow_inf_nan=False,
        decimal_places=2,
        max_digits=15,
        json_schema_extra={"decimal_places": 2, "max_digits": 15},
    ),
    BeforeValidator(_exact_money),
]
Rate = Annotated[
    Decimal,
    Field(allow_inf_nan=False, max_digits=12, json_schema_extra={"max_digits": 12}),
    BeforeValidator(_exact_from_float),
]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class Record(BaseModel):
    """Base of every domain record: strict about unknown fields and binary floats."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        validate_default=False,
        use_enum_values=False,
    )

    #: name of the key field, e.g. ``"household_id"``
    key_field: ClassVar[str] = ""

    def key(self) -> str:
        """The record's identifier."""
        return str(getattr(self, self.key_field))


class County(Record):
    """县 — the county running the plan, with county-wide inputs."""

    key_field: ClassVar[str] = "county_id"
    county_id: Key = Field(title="县编码")
    name: str | None = Field(default=None, title="县名称")
    avg_income_growth_rate: Rate | None = Field(
        default=None, title="全县农村居民人均可支配收入平均增幅"
    )
    data_exchange_departments: tuple[str, ...] | None = Field(
        default=None, title="已对接交换数据的部门"
    )


class Township(Record):
    """乡镇."""

    key_field: ClassVar[str] = "township_id"
    township_id: Key = Field(title="乡镇编码")
    county_id: Key = Field(title="所属县编码")
    name: str | None = Field(default=None, title="乡镇名称")
    has_industry_scale: bool | None = Field(default=None, title="乡有产业规模")


class Village(Record):
    """行政村, with the exit-standard inputs of clause 三(三)."""

    key_field: ClassVar[str] = "village_id"
    village_id: Key = Field(title="村编码")
    township_id: Key = Field(title="所属乡镇编码")
    name: str | None = Field(default=None, title="村名称")
    category: VillageCategory | None = Field(default=None, title="贫困村类别")
    planned_exit_year: int | None = Field(default=None, ge=2014, le=2030, title="计划出列年度")
    collective_income_yuan: Yuan | None = Field(default=None, title="村集体经济收入(元)")
    income_growth_rate: Rate | None = Field(default=None, title="农村居民人均可支配收入增幅")
    has_leading_industry: bool | None = Field(default=None, title="村有主导产业")
    has_driving_enterprise_or_coop: bool | None = Field(
        default=None, title="有带动贫困户的企业或农民专业合作社"
    )
    new_market_entities_count: int | None = Field(
        default=None, ge=0, title="新培植登记注册的市场主体数"
    )
    safe_drinking_water: bool | None = Field(default=None, title="有入户安全饮水")
    hardened_road: bool | None = Field(default=None, title="有硬化的通村公路")
    safe_power_grid: bool | None = Field(default=None, title="有安全的农村电网")
    broadband_network: bool | None = Field(default=None, title="有入户的广电宽带通讯网络")
    service_center: bool | None = Field(default=None, title="有“多务合一”党员群众服务中心")
    culture_venue: bool | None = Field(default=None, title="有教育文化活动阵地")
    medical_security: bool | None = Field(default=None, title="有医疗保障")
    housing_security: bool | None = Field(default=None, title="有住房保障")
    clinic_built: bool | None = Field(default=None, title="已建标准化村卫生室")
    clinic_has_qualified_doctor: bool | None = Field(default=None, title="卫生室医生资质")
    exited_on: dt.date | None = Field(default=None, title="出列日期")


class Household(Record):
    """户 — a household of the register (poor or not: incidence needs every resident)."""

    key_field: ClassVar[str] = "household_id"
    household_id: Key = Field(title="户编码")
    village_id: Key = Field(title="所属村编码")
    poverty_status: PovertyStatus | None = Field(default=None, title="贫困状态")
    attribute: HouseholdAttribute | None = Field(default=None, title="贫困户属性")
    main_cause: PovertyCause | None = Field(default=None, title="主要致贫原因")
    assistance_measures: tuple[str, ...] | None = Field(default=None, title="帮扶措施")
    helper_name: str | None = Field(default=None, title="帮扶责任人")
    has_exit_plan: bool | None = Field(default=None, title="脱贫计划和方案")
    manual_filled: bool | None = Field(default=None, title="扶贫手册填写")
    manual_edition_new: bool | None = Field(default=None, title="使用新版扶贫手册")
    filed_for_record: bool | None = Field(default=None, title="备案")
    exit_year: int | None = Field(default=None, ge=2014, le=2030, title="脱贫年度")
    has_ledger: bool | None = Field(default=None, title="建立台账")
    system_ticked: bool | None = Field(default=None, title="系统勾选")
    separate_ledger: bool | None = Field(default=None, title="单独建立管理台账")
    public_notice_posted: bool | None = Field(default=None, title="对外公示公告")
    departments_notified: bool | None = Field(default=None, title="抄报相关部门")
    industry_project_ledger: bool | None = Field(default=None, title="产业项目台账")
    industry_project_implemented: bool | None = Field(default=None, title="项目实施")
    industry_management_in_place: bool | None = Field(default=None, title="管理到位")
    industry_subsidy_paid: bool | None = Field(default=None, title="奖补兑现")
    industry_income_secured: bool | None = Field(default=None, title="收益有保障")
    three_without: bool | None = Field(default=None, title="“三无”户")
    asset_income_model: bool | None = Field(default=None, title="资产收益扶贫模式")
    driven_by_market_entity: bool | None = Field(default=None, title="受新培植市场主体带动")
    driven_by_featured_industry: bool | None = Field(default=None, title="受特色产业带动")


class Person(Record):
    """家庭成员."""

    key_field: ClassVar[str] = "person_id"
    person_id: Key = Field(title="人员编码")
    household_id: Key = Field(title="所属户编码")
    name: str | None = Field(default=None, title="姓名")
    birth_date: dt.date | None = Field(default=None, title="出生日期")
    is_head: bool | None = Field(default=None, title="户主")
    relationship: HouseholdRelationship | None = Field(default=None, title="与户主关系")
    school_level: SchoolLevel | None = Field(default=None, title="在校情况")
    studying_outside_area: bool | None = Field(default=None, title="跨区域就读")
    labour_capacity: LabourCapacity | None = Field(default=None, title="劳动能力")
    health_status: HealthStatus | None = Field(default=None, title="健康状况")
    chronic_diseases: tuple[str, ...] | None = Field(default=None, title="门诊慢性病病种")
    basic_medical_insured: bool | None = Field(default=None, title="基本医疗保险参保")
    serious_illness_insured: bool | None = Field(default=None, title="大病补充医疗保险")
    chronic_disease_insured: bool | None = Field(default=None, title="门诊慢性病补充医疗保险")
    chronic_disease_screened: bool | None = Field(default=None, title="门诊慢性病筛查")
    chronic_disease_treated: bool | None = Field(default=None, title="慢性病筛查救治")
    annual_income_yuan: Yuan | None = Field(default=None, title="个人年收入(元)")


class MicrocreditLoan(Record):
    """扶贫小额信贷 — one loan to a household."""

    key_field: ClassVar[str] = "loan_id"
    loan_id: Key = Field(title="贷款编号")
    household_id: Key = Field(title="借款户编码")
    amount_yuan: Yuan = Field(gt=0, title="贷款金额(元)")
    issued_on: dt.date | None = Field(default=None, title="放款日期")
    term_months: int | None = Field(default=None, gt=0, le=120, title="贷款期限(月)")
    used_by_household: bool | None = Field(default=None, title="户用")
    repaid_by_household: bool | None = Field(default=None, title="户还")
    repaid: bool | None = Field(default=None, title="已还清")


class Payment(Record):
    """补助/奖补资金发放 — a subsidy or grant paid to a household or person."""

    key_field: ClassVar[str] = "payment_id"
    payment_id: Key = Field(title="发放编号")
    household_id: Key = Field(title="户编码")
    person_id: Key | None = Field(default=None, title="人员编码")
    program: PaymentProgram = Field(title="项目")
    amount_yuan: Yuan = Field(ge=0, title="金额(元)")
    paid_on: dt.date | None = Field(default=None, title="发放日期")


class ProjectFund(Record):
    """扶贫项目资金 — a project (village or household level) and its funds."""

    key_field: ClassVar[str] = "project_id"
    project_id: Key = Field(title="项目编号")
    village_id: Key = Field(title="村编码")
    household_id: Key | None = Field(default=None, title="到户户编码")
    name: str | None = Field(default=None, title="项目名称")
    amount_yuan: Yuan | None = Field(default=None, ge=0, title="项目资金(元)")
    disbursed_yuan: Yuan | None = Field(default=None, ge=0, title="已拨付资金(元)")
    implemented: bool | None = Field(default=None, title="已实施")
    accepted: bool | None = Field(default=None, title="已验收")


class ArchiveDocument(Record):
    """A document in an archive: 户明白袋, 村“一户一档” or 村级专项档案."""

    key_field: ClassVar[str] = "document_id"
    document_id: Key = Field(title="资料编号")
    archive: ArchiveKind = Field(title="档案类别")
    kind: DocumentKind = Field(title="资料种类")
    village_id: Key = Field(title="村编码")
    household_id: Key | None = Field(default=None, title="户编码")
    up_to_date: bool | None = Field(default=None, title="及时更新")

    @field_validator("household_id")
    @classmethod
    def _household_needed(cls, value: str | None, info: Any) -> str | None:
        archive = info.data.get("archive")
        if (
            archive in (ArchiveKind.HOUSEHOLD_POUCH, ArchiveKind.VILLAGE_HOUSEHOLD_FILE)
            and not value
        ):
            raise ValueError(f"a document in archive {archive.value!r} needs household_id")
        return value


class ProcedureStep(Record):
    """One step of the exit procedure (申请 → 核查测算 → 公示 → 告知) with its date."""

    key_field: ClassVar[str] = "step_id"
    step_id: Key = Field(title="步骤编号")
    household_id: Key = Field(title="户编码")
    step: ProcedureStepKind = Field(title="程序环节")
    done_on: dt.date | None = Field(default=None, title="完成日期")


class Relocation(Record):
    """易地扶贫搬迁 — a relocated household's record."""

    key_field: ClassVar[str] = "relocation_id"
    relocation_id: Key = Field(title="搬迁编号")
    household_id: Key = Field(title="户编码")
    year: int | None = Field(default=None, ge=2014, le=2030, title="搬迁年度")
    site: str | None = Field(default=None, title="安置点")
    turnkey_on: dt.date | None = Field(default=None, title="达到交钥匙条件日期")
    moved_in_on: dt.date | None = Field(default=None, title="入住日期")
    exit_measures_delivered: bool | None = Field(default=None, title="帮扶措施和扶持项目兑现")


class RectificationItem(Record):
    """易迁问题整改 — one item of the province's problem list for relocation."""

    key_field: ClassVar[str] = "item_id"
    item_id: Key = Field(title="问题编号")
    county_id: Key = Field(title="县编码")
    description: str | None = Field(default=None, title="问题描述")
    measures: str | None = Field(default=None, title="整改措施")
    deadline: dt.date | None = Field(default=None, title="时间节点")
    responsible_leader: str | None = Field(default=None, title="责任领导")
    responsible_person: str | None = Field(default=None, title="责任人")
    closed: bool | None = Field(default=None, title="已整改完成")
