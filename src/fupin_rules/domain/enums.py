"""Code lists of the poverty-alleviation register (建档立卡) used by the domain types.

Codes are English identifiers; ``LABELS_ZH`` gives the Chinese term officials use, which messages
and reports show beside the code.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "LABELS_ZH",
    "ArchiveKind",
    "DocumentKind",
    "HealthStatus",
    "HouseholdAttribute",
    "HouseholdRelationship",
    "LabourCapacity",
    "PaymentProgram",
    "PovertyCause",
    "PovertyStatus",
    "ProcedureStepKind",
    "SchoolLevel",
    "VillageCategory",
    "label_zh",
]


class PovertyStatus(StrEnum):
    """贫困状态 — a household's standing in the register."""

    REGISTERED_POOR = "registered_poor"  # 建档立卡贫困户(未脱贫)
    PRE_EXIT_2017 = "pre_exit_2017"  # 2017年预脱贫户
    EXITED = "exited"  # 已脱贫户
    STABLE_EXIT = "stable_exit"  # 稳定脱贫户(系统标注 不再享受政策)
    RETURNED_TO_POVERTY = "returned_to_poverty"  # 返贫户
    NEWLY_ADDED = "newly_added"  # 新增贫困户
    NON_POOR = "non_poor"  # 非贫困户


class HouseholdAttribute(StrEnum):
    """贫困户属性."""

    GENERAL = "general"  # 一般贫困户
    LOW_INCOME_GUARANTEE = "low_income_guarantee"  # 低保贫困户
    FIVE_GUARANTEES = "five_guarantees"  # 五保贫困户


class PovertyCause(StrEnum):
    """主要致贫原因 (the register's eleven codes)."""

    ILLNESS = "illness"  # 因病
    DISABILITY = "disability"  # 因残
    EDUCATION = "education"  # 因学
    DISASTER = "disaster"  # 因灾
    LACK_OF_LAND = "lack_of_land"  # 缺土地
    LACK_OF_WATER = "lack_of_water"  # 缺水
    LACK_OF_SKILLS = "lack_of_skills"  # 缺技术
    LACK_OF_LABOUR = "lack_of_labour"  # 缺劳动力
    LACK_OF_CAPITAL = "lack_of_capital"  # 缺资金
    POOR_TRANSPORT = "poor_transport"  # 交通条件落后
    LACK_OF_MOTIVATION = "lack_of_motivation"  # 自身发展动力不足


class SchoolLevel(StrEnum):
    """在校情况 — the school level a person is enrolled in."""

    NOT_IN_SCHOOL = "not_in_school"  # 非在校生
    PRESCHOOL = "preschool"  # 学前教育
    PRIMARY = "primary"  # 小学
    JUNIOR_SECONDARY = "junior_secondary"  # 初中
    SENIOR_SECONDARY = "senior_secondary"  # 普通高中
    SECONDARY_VOCATIONAL = "secondary_vocational"  # 中职
    HIGHER_VOCATIONAL = "higher_vocational"  # 高职
    UNDERGRADUATE = "undergraduate"  # 本科
    POSTGRADUATE = "postgraduate"  # 研究生


class HouseholdRelationship(StrEnum):
    """与户主关系 — a member's relationship to the household head, as the register records it.

    The labels are the register's (户主, 配偶, 之子, 之女, …: “之” reads “the head's”). The list is
    the usual set of the 扶贫开发信息系统 forms; a relationship not listed is ``other`` (其他).
    """

    HEAD = "head"  # 户主
    SPOUSE = "spouse"  # 配偶
    SON = "son"  # 之子
    DAUGHTER = "daughter"  # 之女
    DAUGHTER_IN_LAW = "daughter_in_law"  # 之儿媳
    SON_IN_LAW = "son_in_law"  # 之女婿
    GRANDSON = "grandson"  # 之孙子
    GRANDDAUGHTER = "granddaughter"  # 之孙女
    DAUGHTERS_SON = "daughters_son"  # 之外孙子
    DAUGHTERS_DAUGHTER = "daughters_daughter"  # 之外孙女
    FATHER = "father"  # 之父
    MOTHER = "mother"  # 之母
    WIFES_FATHER = "wifes_father"  # 之岳父
    WIFES_MOTHER = "wifes_mother"  # 之岳母
    HUSBANDS_FATHER = "husbands_father"  # 之公公
    HUSBANDS_MOTHER = "husbands_mother"  # 之婆婆
    GRANDFATHER = "grandfather"  # 之祖父
    GRANDMOTHER = "grandmother"  # 之祖母
    SIBLING = "sibling"  # 之兄弟姐妹
    OTHER = "other"  # 其他


class LabourCapacity(StrEnum):
    """劳动能力."""

    ORDINARY = "ordinary"  # 普通劳动力
    SKILLED = "skilled"  # 技能劳动力
    LOST = "lost"  # 丧失劳动力
    NONE = "none"  # 无劳动力


class HealthStatus(StrEnum):
    """健康状况."""

    HEALTHY = "healthy"  # 健康
    CHRONIC_DISEASE = "chronic_disease"  # 长期慢性病
    SERIOUS_ILLNESS = "serious_illness"  # 大病
    DISABLED = "disabled"  # 残疾


class VillageCategory(StrEnum):
    """贫困村类别."""

    PROVINCE_KEY = "province_key"  # 省定重点贫困村
    COUNTY_DESIGNATED = "county_designated"  # 县定出列村
    NON_POOR_VILLAGE = "non_poor_village"  # 非贫困村


class ProcedureStepKind(StrEnum):
    """脱贫退出程序 steps, in their required order."""

    APPLICATION = "application"  # 申请
    VERIFICATION = "verification"  # 核查测算
    PUBLIC_NOTICE = "public_notice"  # 公示
    NOTIFICATION = "notification"  # 告知


class ArchiveKind(StrEnum):
    """Where a document is filed."""

    HOUSEHOLD_POUCH = "household_pouch"  # 户明白袋
    VILLAGE_HOUSEHOLD_FILE = "village_household_file"  # 村“一户一档”
    VILLAGE_SPECIAL = "village_special"  # 村级专项工作档案


class DocumentKind(StrEnum):
    """Kinds of archive documents (扶贫档案资料)."""

    # 户明白袋 (allowed)
    POVERTY_MANUAL = "poverty_manual"  # 《扶贫手册》
    AGREEMENT = "agreement"  # 有关协议书
    POLICY_LEAFLET = "policy_leaflet"  # 政策宣传资料
    INCOME_EXPENDITURE_CALC = "income_expenditure_calc"  # 脱贫收支测算表
    # cancelled (一律取消)
    PLEDGE = "pledge"  # 承诺书
    CLARITY_CARD = "clarity_card"  # 明白卡
    GROUP_PHOTO = "group_photo"  # 合影
    # 一户一档: 精准识别
    APPLICATION_FORM = "application_form"  # 贫困户申请书
    INFO_COLLECTION_FORM = "info_collection_form"  # 入户信息采集表
    FIVE_ASSESSMENT_FORM = "five_assessment_form"  # “五评”量化表
    # 一户一档: 精准帮扶
    EXIT_PLAN = "exit_plan"  # 脱贫方案
    PROJECT_APPLICATION = "project_application"  # 项目申请(含易地搬迁申请)
    PROJECT_APPROVAL = "project_approval"  # 项目批复
    VILLAGE_HOUSEHOLD_AGREEMENT = "village_household_agreement"  # 村户协议
    # 一户一档: 精准退出
    INCOME_ACCOUNT = "income_account"  # 收支算账表
    POLICY_BENEFIT_LIST = "policy_benefit_list"  # 到户享受政策项目清单
    # village special archives (不得分户建档)
    POLICY_DOCUMENT = "policy_document"  # 政策文件
    EXIT_LEDGER = "exit_ledger"  # 脱贫台账
    VILLAGE_PROJECT_PLAN = "village_project_plan"  # 到村项目规划
    PROJECT_ACCEPTANCE = "project_acceptance"  # 项目验收
    FUND_DISBURSEMENT = "fund_disbursement"  # 资金拨付
    DELIBERATION_RECORD = "deliberation_record"  # 对象识别退出评议记录
    PUBLIC_NOTICE = "public_notice"  # 公示公告
    RELOCATION_SPECIAL = "relocation_special"  # 易地扶贫搬迁等“六个一批”专项资料
    MICROCREDIT_FILE = "microcredit_file"  # 小额信贷资料
    OTHER = "other"  # 其他资料


class PaymentProgram(StrEnum):
    """Programs a subsidy or grant payment belongs to."""

    RAIN_AND_DEW = "rain_and_dew"  # 雨露计划
    INDUSTRY_SUBSIDY = "industry_subsidy"  # 产业奖补
    EDUCATION_AID = "education_aid"  # 教育资助
    MEDICAL_AID = "medical_aid"  # 医疗救助
    ASSET_INCOME = "asset_income"  # 资产收益分红
    OTHER = "other"  # 其他


LABELS_ZH: dict[str, str] = {
    # PovertyStatus
    "registered_poor": "建档立卡贫困户",
    "pre_exit_2017": "2017年预脱贫户",
    "exited": "已脱贫户",
    "stable_exit": "稳定脱贫户(不再享受政策)",
    "returned_to_poverty": "返贫户",
    "newly_added": "新增贫困户",
    "non_poor": "非贫困户",
    # HouseholdAttribute
    "general": "一般贫困户",
    "low_income_guarantee": "低保贫困户",
    "five_guarantees": "五保贫困户",
    # PovertyCause
    "illness": "因病",
    "disability": "因残",
    "education": "因学",
    "disaster": "因灾",
    "lack_of_land": "缺土地",
    "lack_of_water": "缺水",
    "lack_of_skills": "缺技术",
    "lack_of_labour": "缺劳动力",
    "lack_of_capital": "缺资金",
    "poor_transport": "交通条件落后",
    "lack_of_motivation": "自身发展动力不足",
    # SchoolLevel
    "not_in_school": "非在校生",
    "preschool": "学前教育",
    "primary": "小学",
    "junior_secondary": "初中",
    "senior_secondary": "普通高中",
    "secondary_vocational": "中职",
    "higher_vocational": "高职",
    "undergraduate": "本科",
    "postgraduate": "研究生",
    # HouseholdRelationship ("other" is shared: 其他)
    "head": "户主",
    "spouse": "配偶",
    "son": "之子",
    "daughter": "之女",
    "daughter_in_law": "之儿媳",
    "son_in_law": "之女婿",
    "grandson": "之孙子",
    "granddaughter": "之孙女",
    "daughters_son": "之外孙子",
    "daughters_daughter": "之外孙女",
    "father": "之父",
    "mother": "之母",
    "wifes_father": "之岳父",
    "wifes_mother": "之岳母",
    "husbands_father": "之公公",
    "husbands_mother": "之婆婆",
    "grandfather": "之祖父",
    "grandmother": "之祖母",
    "sibling": "之兄弟姐妹",
    # LabourCapacity
    "ordinary": "普通劳动力",
    "skilled": "技能劳动力",
    "lost": "丧失劳动力",
    "none": "无劳动力",
    # HealthStatus
    "healthy": "健康",
    "chronic_disease": "长期慢性病",
    "serious_illness": "大病",
    "disabled": "残疾",
    # VillageCategory
    "province_key": "省定重点贫困村",
    "county_designated": "县定出列村",
    "non_poor_village": "非贫困村",
    # ProcedureStepKind
    "application": "申请",
    "verification": "核查测算",
    "public_notice": "公示",
    "notification": "告知",
    # ArchiveKind
    "household_pouch": "户明白袋",
    "village_household_file": "村“一户一档”",
    "village_special": "村级专项工作档案",
    # DocumentKind
    "poverty_manual": "扶贫手册",
    "agreement": "有关协议书",
    "policy_leaflet": "政策宣传资料",
    "income_expenditure_calc": "脱贫收支测算表",
    "pledge": "承诺书",
    "clarity_card": "明白卡",
    "group_photo": "合影",
    "application_form": "贫困户申请书",
    "info_collection_form": "入户信息采集表",
    "five_assessment_form": "“五评”量化表",
    "exit_plan": "脱贫方案",
    "project_application": "项目申请",
    "project_approval": "项目批复",
    "village_household_agreement": "村户协议",
    "income_account": "收支算账表",
    "policy_benefit_list": "到户享受政策项目清单",
    "policy_document": "政策文件",
    "exit_ledger": "脱贫台账",
    "village_project_plan": "到村项目规划",
    "project_acceptance": "项目验收",
    "fund_disbursement": "资金拨付",
    "deliberation_record": "对象识别退出评议记录",
    "relocation_special": "易地扶贫搬迁等“六个一批”专项资料",
    "microcredit_file": "小额信贷资料",
    "other": "其他",
    # PaymentProgram
    "rain_and_dew": "雨露计划",
    "industry_subsidy": "产业奖补",
    "education_aid": "教育资助",
    "medical_aid": "医疗救助",
    "asset_income": "资产收益分红",
}


def label_zh(code: str) -> str:
    """The Chinese label of a code, or the code itself when it has none."""
    return LABELS_ZH.get(code, code)
