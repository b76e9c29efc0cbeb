"""The synthetic county's parameters and small helpers, and the state one run shares."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import polars as pl

from fupin_rules.io._prng import Streams

#: The 31 outpatient chronic-disease codes, the same as the county_2017 policy catalogue
#: ``outpatient_chronic_diseases`` (whose disease names are assumed there, too).
CHRONIC_DISEASE_CODES: tuple[str, ...] = (
    "hypertension",
    "diabetes",
    "coronary_heart_disease",
    "chronic_heart_failure",
    "rheumatic_heart_disease",
    "pulmonary_heart_disease",
    "cerebrovascular_sequelae",
    "copd",
    "bronchial_asthma",
    "pulmonary_tuberculosis",
    "chronic_viral_hepatitis",
    "liver_cirrhosis",
    "chronic_renal_failure",
    "chronic_glomerulonephritis",
    "rheumatoid_arthritis",
    "systemic_lupus_erythematosus",
    "ankylosing_spondylitis",
    "hyperthyroidism",
    "hypothyroidism",
    "epilepsy",
    "parkinsons_disease",
    "alzheimers_disease",
    "myasthenia_gravis",
    "schizophrenia",
    "bipolar_disorder",
    "major_depression",
    "aplastic_anemia",
    "hemophilia",
    "malignant_tumour_outpatient",
    "organ_transplant_anti_rejection",
    "gout",
)
# relative frequency of each code among chronic patients (assumed: hypertension and diabetes lead)
_DISEASE_WEIGHTS = (
    35,
    15,
    8,
    3,
    1,
    2,
    5,
    6,
    3,
    1,
    2,
    1,
    1,
    1,
    4,
    0.3,
    0.5,
    1,
    1,
    1,
    1,
    1,
    0.3,
    1,
    0.3,
    0.5,
    0.2,
    0.1,
    1,
    0.1,
    2,
)
_OUT_OF_CATALOGUE = "cervical_spondylosis"  # 颈椎病: not one of the 31 (an imperfection)

# sourced: the 17 township-level units and their 2010 census populations (domain-facts §2(j))
_TOWNSHIPS: tuple[tuple[str, int], ...] = (
    ("城关镇", 64251), ("溢水镇", 31298), ("麻家渡镇", 28655), ("宝丰镇", 55401),
    ("擂鼓镇", 25034), ("秦古镇", 23500), ("得胜镇", 24723), ("上庸镇", 14884),
    ("官渡镇", 15200), ("潘口乡", 17789), ("竹坪乡", 24730), ("大庙乡", 12028),
    ("双台乡", 16108), ("楼台乡", 24249), ("文峰乡", 14021), ("深河乡", 10987),
    ("柳林乡", 13391),
)  # fmt: skip
_SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰国建文德志红春林海云山成家兴福金荣贵祥安庆顺宏学军友发富"
)
_PLACE = tuple("红旗新茶桥沟河坪岭湾口坝园溪湖山峪垭堰庙田关寨台坡")
_STATUSES = (
    "non_poor",
    "registered_poor",
    "pre_exit_2017",
    "exited",
    "stable_exit",
    "newly_added",
    "returned_to_poverty",
)
_POOR = (
    "registered_poor",
    "pre_exit_2017",
    "newly_added",
    "returned_to_poverty",
)  # counts in incidence
_REGISTERED = (*_POOR, "exited")  # still under policy
# household status shares by village group: cohort 2017, exited 2014-16, exiting 2018-19, never poor
_STATUS_BY_GROUP = (
    (0.700, 0.008, 0.010, 0.200, 0.075, 0.004, 0.003),
    (0.700, 0.010, 0.008, 0.160, 0.110, 0.006, 0.006),
    (0.600, 0.130, 0.150, 0.080, 0.020, 0.012, 0.008),
    (0.880, 0.030, 0.030, 0.040, 0.015, 0.003, 0.002),
)
_GROUP_SHARES = (0.28, 0.22, 0.42, 0.08)
_ATTRIBUTES = ("general", "low_income_guarantee", "five_guarantees")
_ATTRIBUTE_SHARES = (0.674, 0.292, 0.034)
_SIZE_SHARES = {  # sizes 1..6
    "general": (0.10, 0.21, 0.25, 0.23, 0.13, 0.08),
    "low_income_guarantee": (0.18, 0.24, 0.22, 0.19, 0.11, 0.06),
    "five_guarantees": (0.78, 0.18, 0.04, 0.0, 0.0, 0.0),
    "non_poor": (0.08, 0.20, 0.24, 0.24, 0.14, 0.10),
}
_CAUSES = (
    "illness",
    "disability",
    "lack_of_capital",
    "lack_of_skills",
    "lack_of_labour",
    "education",
    "poor_transport",
    "lack_of_land",
    "disaster",
    "lack_of_motivation",
    "lack_of_water",
)
_CAUSE_SHARES = (42, 8, 14, 11, 10, 6, 3, 2, 2, 1.5, 0.5)
_MEASURES = (
    "industry",
    "employment",
    "education",
    "health",
    "microcredit",
    "social_security",
    "ecological_compensation",
    "asset_income",
)
_INCOME = {  # per-capita yuan: (median, sigma)
    "non_poor": (7740.0, 0.55),
    "registered_poor": (2900.0, 0.40),
    "newly_added": (2900.0, 0.40),
    "returned_to_poverty": (2900.0, 0.40),
    "pre_exit_2017": (4300.0, 0.30),
    "exited": (5200.0, 0.35),
    "stable_exit": (5200.0, 0.35),
}
_CHRONIC_BY_AGE = (
    (15, 0.0),
    (25, 0.0144),
    (35, 0.0383),
    (45, 0.115),
    (55, 0.235),
    (65, 0.389),
    (200, 0.54),
)
_REF = dt.date(2017, 9, 1)  # ages and school levels are as of the 2017 autumn term
_EPOCH = dt.date(1970, 1, 1)
_FLAWS = {
    "missing_value": 0.015,
    "rain_and_dew_unpaid": 0.12,
    "rain_and_dew_old_rate": 0.15,
    "pledge": 0.03,
    "clarity_card": 0.02,
    "group_photo": 0.02,
    "step_missing": 0.03,
    "step_out_of_order": 0.02,
    "loan_enterprise_use": 0.02,
    "loan_over_cap": 0.005,
    "loan_over_term": 0.01,
    "disease_out_of_catalogue": 0.01,
    "special_filed_per_household": 0.03,
    "household_project_missing": 0.05,
    "document_missing": 0.04,
    "education_aid_missing": 0.03,
    "not_screened": 0.05,
}
# 教育资助 per academic year by school level (yuan; assumed, for the synthetic data only)
_EDUCATION_AID_YUAN = {
    "preschool": 1000,
    "primary": 1000,
    "junior_secondary": 1250,
    "senior_secondary": 2500,
    "undergraduate": 3000,
    "postgraduate": 6000,
}


def _days(date: dt.date) -> int:
    return (date - _EPOCH).days


def _date(days: pl.Expr) -> pl.Expr:
    return days.cast(pl.Int32).cast(pl.Date)


def _yuan(fen: pl.Expr) -> pl.Expr:
    """Integer fen to exact Decimal(15, 2) yuan."""
    return (fen.cast(pl.Int64).cast(pl.Decimal(18, 2)) / 100).cast(pl.Decimal(15, 2))


def _ids(prefix: str, width: int, n: int) -> pl.Series:
    return pl.select(
        pl.format(f"{prefix}{{}}", (pl.int_range(1, n + 1)).cast(pl.String).str.zfill(width))
    ).to_series()


def _apportion(total: int, weights: Sequence[float], minimum: int = 1) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights``, each at least ``minimum``."""
    n = len(weights)
    rest = total - minimum * n
    s = float(sum(weights))
    raw = [rest * w / s for w in weights]
    parts = [math.floor(r) for r in raw]
    order = sorted(range(n), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[: rest - sum(parts)]:
        parts[i] += 1
    return [p + minimum for p in parts]


def _cum(shares: Sequence[float]) -> list[float]:
    total = float(sum(shares))
    acc, out = 0.0, []
    for s in shares[:-1]:
        acc += s / total
        out.append(acc)
    return out


class State:
    """What one generation run knows: its streams and size, and what earlier tables decided
    that later ones need (the village groups, the heads' ages, ...)."""

    rng: Streams
    n_h: int
    n_v: int
    flaw: dict[str, float]
    imperfect: bool
    county_id: str
    # set by the places
    villages_per_township: list[int]
    township_names: list[str]
    households_per_village: list[int]
    incidence_village: int
    avg_growth: int
    group: list[int]
    category: list[str]
    planned: list[int | None]
    village_names: list[str]
    entity_share: pl.Series
    featured_share: pl.Series
    poor_factor: pl.Series
    # set by the persons
    head_age: pl.Series
