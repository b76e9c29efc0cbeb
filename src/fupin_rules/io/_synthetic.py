"""The synthetic county's model: parameters and table builders (see :mod:`fupin_rules.io.generate`)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import polars as pl

from fupin_rules.io._prng import Streams, pick

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


class Generator:
    """One generation run; methods build the tables in dependency order."""

    def __init__(self, rng: Streams, households: int, villages: int, imperfect: bool) -> None:
        self.rng = rng
        self.n_h = households
        self.n_v = villages
        self.flaw = {k: (v if imperfect else 0.0) for k, v in _FLAWS.items()}
        self.imperfect = imperfect
        self.county_id = "420323"

    # ----------------------------------------------------------------- places

    def townships(self) -> pl.DataFrame:
        n_t = min(self.n_v, math.ceil(math.sqrt(self.n_v)))
        names = [_TOWNSHIPS[i][0] if i < len(_TOWNSHIPS) else f"第{i + 1}乡镇" for i in range(n_t)]
        mean_pop = sum(p for _, p in _TOWNSHIPS) / len(_TOWNSHIPS)
        weights = [_TOWNSHIPS[i][1] if i < len(_TOWNSHIPS) else mean_pop for i in range(n_t)]
        self.villages_per_township = _apportion(self.n_v, weights)
        self.township_names = names
        return pl.DataFrame(
            {
                "township_id": _ids("T", 3, n_t),
                "county_id": [self.county_id] * n_t,
                "name": names,
                "has_industry_scale": self.rng.bernoulli(n_t, "township.industry", 0.88),
            }
        )

    def villages(self, townships: pl.DataFrame) -> pl.DataFrame:
        r, n = self.rng, self.n_v
        township_index = [t for t, k in enumerate(self.villages_per_township) for _ in range(k)]
        group = r.categorical(n, "village.group", _GROUP_SHARES).to_list()
        for i in range(min(3, n)):  # the near-threshold villages need a 2017 cohort
            if group.count(0) >= min(3, n):
                break
            group[i] = 0
        key = r.bernoulli(n, "village.key", 33 / 73).to_list()
        category = [
            "non_poor_village" if g == 3 else ("province_key" if k else "county_designated")
            for g, k in zip(group, key, strict=True)
        ]
        earlier = r.integers(n, "village.exit_earlier", 2014, 2016).to_list()
        later = r.categorical(n, "village.exit_later", (0.6, 0.4)).to_list()
        planned = [
            (2017, e, 2018 + lt, None)[g] for g, e, lt in zip(group, earlier, later, strict=True)
        ]
        exit_day = r.integers(n, "village.exit_day", 0, 57).to_list()
        exited_now = r.bernoulli(n, "village.exited_2017", 0.4).to_list()
        exited_on: list[dt.date | None] = []
        for g, y, d, now in zip(group, planned, exit_day, exited_now, strict=True):
            if g == 1 and y is not None:
                exited_on.append(dt.date(y, 11, 1) + dt.timedelta(days=d))
            elif g == 0 and now:
                exited_on.append(dt.date(2017, 11, 1) + dt.timedelta(days=d))
            else:
                exited_on.append(None)
        # collective income (fen): mixture for poor villages, plus photovoltaics; richer non-poor
        part = r.categorical(n, "village.collective.part", (0.25, 0.35, 0.40)).to_list()
        u = r.uniform(n, "village.collective.amount").to_list()
        pv = r.bernoulli(n, "village.pv", 0.88).to_list()
        collective = []
        for g, p, x, has_pv in zip(group, part, u, pv, strict=True):
            if g == 3:
                fen = round((50_000 + 250_000 * x) * 100)
            else:
                fen = (0, round((5_000 + 45_000 * x) * 100), round((50_000 + 100_000 * x) * 100))[p]
                fen += 5_000_000 if has_pv else 0
            collective.append(fen)
        growth = [round(v * 10_000) for v in r.normal(n, "village.growth", 0.095, 0.025).to_list()]
        size = r.lognormal(n, "village.size", 1.0, 0.45).clip(400 / 1500, 5000 / 1500)
        self.households_per_village = _apportion(self.n_h, size.to_list())
        # the county average: household-weighted mean of the villages' growth (basis points of %)
        weights = self.households_per_village
        avg = round(sum(g * w for g, w in zip(growth, weights, strict=True)) / sum(weights))
        cohort = [i for i, g in enumerate(group) if g == 0]
        self.incidence_village = cohort[0]
        collective[cohort[min(1, len(cohort) - 1)]] = 5_000_000  # exactly 50,000.00
        growth[cohort[min(2, len(cohort) - 1)]] = avg  # exactly the county average
        self.avg_growth = avg
        self.group = group
        self.category = category
        self.planned = planned
        clinic = r.bernoulli(n, "village.clinic_built", 0.90)
        doctor = r.bernoulli(n, "village.clinic_doctor", 0.90)
        place = r.integers(n, "village.name.1", 0, len(_PLACE) - 1).to_list()
        place2 = r.integers(n, "village.name.2", 0, len(_PLACE) - 1).to_list()
        names = [f"{_PLACE[a]}{_PLACE[b]}村" for a, b in zip(place, place2, strict=True)]
        self.village_names = names
        self.entity_share = r.beta(n, "village.entity_share", 5, 4)
        self.featured_share = r.beta(n, "village.featured_share", 7, 3)
        self.poor_factor = r.uniform(n, "village.poor_factor") * 1.3 + 0.3
        frame = pl.DataFrame(
            {
                "village_id": _ids("V", 5, n),
                "township_id": townships["township_id"].gather(township_index),
                "name": names,
                "category": category,
                "planned_exit_year": pl.Series(planned, dtype=pl.Int64),
                "collective_income_fen": pl.Series(collective, dtype=pl.Int64),
                "growth_bp": pl.Series(growth, dtype=pl.Int64),
                "has_leading_industry": r.bernoulli(n, "village.leading", 0.88),
                "has_driving_enterprise_or_coop": r.bernoulli(n, "village.enterprise", 0.85),
                "new_market_entities_count": r.poisson(n, "village.entities", 2.8).cast(pl.Int64),
                "safe_drinking_water": r.bernoulli(n, "village.water", 0.92),
                "hardened_road": r.bernoulli(n, "village.road", 0.95),
                "safe_power_grid": r.bernoulli(n, "village.grid", 0.97),
                "broadband_network": r.bernoulli(n, "village.broadband", 0.85),
                "service_center": r.bernoulli(n, "village.service", 0.90),
                "culture_venue": r.bernoulli(n, "village.culture", 0.85),
                "medical_security": r.bernoulli(n, "village.medical", 0.95),
                "housing_security": r.bernoulli(n, "village.housing", 0.93),
                "clinic_built": clinic,
                "clinic_has_qualified_doctor": pl.select(
                    pl.when(pl.lit(clinic)).then(pl.lit(doctor)).otherwise(None)
                ).to_series(),
                "exited_on": pl.Series(exited_on, dtype=pl.Date),
            }
        )
        return frame.select(
            "village_id",
            "township_id",
            "name",
            "category",
            "planned_exit_year",
            _yuan(pl.col("collective_income_fen")).alias("collective_income_yuan"),
            (pl.col("growth_bp").cast(pl.Decimal(18, 4)) / 10_000)
            .cast(pl.Decimal(12, 4))
            .alias("income_growth_rate"),
            pl.exclude(
                "village_id",
                "township_id",
                "name",
                "category",
                "planned_exit_year",
                "collective_income_fen",
                "growth_bp",
            ),
        )

    # ----------------------------------------------------------------- households

    def household_core(self) -> pl.DataFrame:
        """Village, status, attribute and size of every household (before the 2 % village)."""
        r, n = self.rng, self.n_h
        village = (
            pl.Series("village_idx", range(self.n_v), dtype=pl.Int32)
            .repeat_by(pl.Series(self.households_per_village))
            .explode()
        )
        # per-village cumulative thresholds: poor statuses scaled by the village factor
        cum_rows = []
        for v in range(self.n_v):
            shares = list(_STATUS_BY_GROUP[self.group[v]])
            f = self.poor_factor[v]
            for k, s in enumerate(_STATUSES):
                if s in _POOR:
                    shares[k] *= f
            shares[0] = 1.0 - sum(shares[1:])
            acc, cum = 0.0, []
            for p in shares[:-1]:
                acc += p
                cum.append(acc)
            cum_rows.append(cum)
        thresholds = [
            pl.Series([row[k] for row in cum_rows]).gather(village)
            for k in range(len(_STATUSES) - 1)
        ]
        status_idx = pick(r.uniform(n, "household.status"), thresholds)
        status = pl.Series(_STATUSES).gather(status_idx)
        attribute_idx = r.categorical(n, "household.attribute", _ATTRIBUTE_SHARES)
        attribute = pl.select(
            pl.when(pl.lit(status) == "non_poor")
            .then(None)
            .otherwise(pl.lit(pl.Series(_ATTRIBUTES).gather(attribute_idx)))
        ).to_series()
        u_size = r.uniform(n, "household.size")
        size_by_kind = {
            kind: pick(u_size, _cum(shares)) + 1 for kind, shares in _SIZE_SHARES.items()
        }
        size = pl.select(
            pl.when(pl.lit(attribute) == "general")
            .then(pl.lit(size_by_kind["general"]))
            .when(pl.lit(attribute) == "low_income_guarantee")
            .then(pl.lit(size_by_kind["low_income_guarantee"]))
            .when(pl.lit(attribute) == "five_guarantees")
            .then(pl.lit(size_by_kind["five_guarantees"]))
            .otherwise(pl.lit(size_by_kind["non_poor"]))
        ).to_series()
        core = pl.DataFrame(
            {
                "village_idx": village,
                "poverty_status": status,
                "attribute": attribute,
                "size": size.cast(pl.Int32),
            }
        )
        return self._exact_incidence(core)

    def _exact_incidence(self, core: pl.DataFrame) -> pl.DataFrame:
        """Make one cohort village's poverty incidence exactly 2 % (poor persons / persons)."""
        v = self.incidence_village
        start = sum(self.households_per_village[:v])
        count = self.households_per_village[v]
        part = core.slice(start, count)
        status = part["poverty_status"].to_list()
        attribute = part["attribute"].to_list()
        size = part["size"].to_list()
        target = max(1, round(sum(size) / 50))
        order = sorted(range(count), key=lambda i: (status[i] == "non_poor", i))
        chosen: set[int] = set()
        remaining = target
        for i in order:
            if remaining == 0:
                break
            if size[i] <= remaining:
                chosen.add(i)
                remaining -= size[i]
        if remaining:  # no household small enough: shrink or grow the last chosen one
            spare = [i for i in order if i not in chosen]
            if not spare:
                return core
            size[spare[0]] = remaining
            chosen.add(spare[0])
        for i in range(count):
            if i in chosen and status[i] not in _POOR:
                status[i] = "registered_poor"
                attribute[i] = attribute[i] or "general"
            elif i not in chosen and status[i] in _POOR:
                status[i] = "exited"
        # the others' sizes so that all persons are exactly 50 x poor persons
        others = [i for i in range(count) if i not in chosen]
        diff = 49 * target - sum(size[i] for i in others)
        k = 0
        while diff != 0 and others and k < 20 * len(others):
            i = others[k % len(others)]
            if diff > 0 and size[i] < 8:
                size[i] += 1
                diff -= 1
            elif diff < 0 and size[i] > 1:
                size[i] -= 1
                diff += 1
            k += 1
        if diff != 0:
            return core
        fixed = pl.DataFrame(
            {
                "village_idx": part["village_idx"],
                "poverty_status": status,
                "attribute": pl.Series(attribute, dtype=pl.String),
                "size": pl.Series(size, dtype=pl.Int32),
            }
        )
        return pl.concat([core.slice(0, start), fixed, core.slice(start + count)])

    def households(self, core: pl.DataFrame, villages: pl.DataFrame) -> pl.DataFrame:
        r, n, f = self.rng, self.n_h, self.flaw
        st = pl.col("poverty_status")
        in_register = st != "non_poor"
        registered = st.is_in(_REGISTERED)
        poor = st.is_in(_POOR)
        exited = st.is_in(["exited", "stable_exit"])
        pre_exit = st == "pre_exit_2017"
        newly = st == "newly_added"
        stable = st == "stable_exit"
        v_idx = core["village_idx"]
        frame = core.with_columns(
            household_id=_ids("H", 7, n),
            village_id=villages["village_id"].gather(v_idx),
            u_cause=r.categorical(n, "household.cause", _CAUSE_SHARES),
            n_measures=r.integers(n, "household.n_measures", 1, 3),
            m1=r.integers(n, "household.measure1", 0, len(_MEASURES) - 1),
            m2=r.integers(n, "household.measure2", 0, len(_MEASURES) - 1),
            m3=r.integers(n, "household.measure3", 0, len(_MEASURES) - 1),
            helper_s=r.integers(n, "household.helper.s", 0, len(_SURNAMES) - 1),
            helper_g=r.integers(n, "household.helper.g", 0, len(_GIVEN) - 1),
            exit_before=r.categorical(n, "household.exit_year", (0.2, 0.25, 0.3, 0.25)) + 2014,
            exit_cohort=r.bernoulli(n, "household.exit_2017", 0.6),
            **{f"b{k}": r.uniform(n, f"household.flag{k}") for k in range(18)},
            entity_p=self.entity_share.gather(v_idx),
            featured_p=self.featured_share.gather(v_idx),
            v_group=pl.Series(self.group).gather(v_idx),
        )
        m = pl.Series(_MEASURES)
        frame = frame.with_columns(
            measure_list=pl.concat_list(
                pl.col("m1").replace_strict(list(range(len(m))), m.to_list()),
                pl.when(pl.col("n_measures") >= 2).then(
                    pl.col("m2").replace_strict(list(range(len(m))), m.to_list())
                ),
                pl.when(pl.col("n_measures") >= 3).then(
                    pl.col("m3").replace_strict(list(range(len(m))), m.to_list())
                ),
            )
            .list.drop_nulls()
            .list.unique(maintain_order=True),
        )
        exit_year = (
            pl.when(pre_exit)
            .then(2017)
            .when(exited & (pl.col("v_group") == 0) & pl.col("exit_cohort"))
            .then(2017)
            .when(exited)
            .then(pl.col("exit_before"))
            .otherwise(None)
        )
        three_without = pl.when(poor).then(pl.col("b9") < 0.04).otherwise(None)
        out = frame.select(
            "household_id",
            "village_id",
            "poverty_status",
            "attribute",
            pl.when(in_register)
            .then(pl.col("u_cause").replace_strict(list(range(len(_CAUSES))), list(_CAUSES)))
            .alias("main_cause"),
            pl.when(in_register & ~stable)
            .then(pl.col("measure_list"))
            .alias("assistance_measures"),
            pl.when(in_register)
            .then(
                pl.concat_str(
                    pl.col("helper_s").replace_strict(list(range(len(_SURNAMES))), list(_SURNAMES)),
                    pl.col("helper_g").replace_strict(list(range(len(_GIVEN))), list(_GIVEN)),
                )
            )
            .alias("helper_name"),
            pl.when(registered)
            .then(pl.col("b0") < (0.9 if f["missing_value"] else 1.0))
            .alias("has_exit_plan"),
            pl.when(registered)
            .then(pl.col("b1") < (0.93 if f["missing_value"] else 1.0))
            .alias("manual_filled"),
            pl.when(newly)
            .then(pl.col("b2") < (0.9 if f["missing_value"] else 1.0))
            .alias("manual_edition_new"),
            pl.when(newly)
            .then(pl.col("b3") < (0.88 if f["missing_value"] else 1.0))
            .alias("filed_for_record"),
            exit_year.cast(pl.Int64).alias("exit_year"),
            pl.when(pre_exit).then(pl.col("b4") < 0.96).alias("has_ledger"),
            pl.when(pre_exit).then(pl.col("b5") < 0.7).alias("system_ticked"),
            pl.when(stable).then(pl.col("b6") < 0.9).alias("separate_ledger"),
            pl.when(stable).then(pl.col("b7") < 0.85).alias("public_notice_posted"),
            pl.when(stable).then(pl.col("b8") < 0.8).alias("departments_notified"),
            pl.when(pre_exit).then(pl.col("b10") < 0.95).alias("industry_project_ledger"),
            pl.when(pre_exit).then(pl.col("b11") < 0.93).alias("industry_project_implemented"),
            pl.when(pre_exit).then(pl.col("b12") < 0.9).alias("industry_management_in_place"),
            pl.when(pre_exit).then(pl.col("b13") < 0.9).alias("industry_subsidy_paid"),
            pl.when(pre_exit).then(pl.col("b14") < 0.88).alias("industry_income_secured"),
            three_without.alias("three_without"),
            pl.when(three_without).then(pl.col("b15") < 0.75).alias("asset_income_model"),
            pl.when(registered)
            .then(pl.col("b16") < pl.col("entity_p"))
            .alias("driven_by_market_entity"),
            pl.when(registered)
            .then(pl.col("b17") < pl.col("featured_p"))
            .alias("driven_by_featured_industry"),
            # helpers for the other tables, dropped before returning
            pl.col("size"),
            pl.col("village_idx"),
        )
        return out

    # ----------------------------------------------------------------- persons

    def persons(self, hh: pl.DataFrame) -> pl.DataFrame:
        r, f, n_h = self.rng, self.flaw, hh.height
        five = hh["attribute"] == "five_guarantees"
        head_age = pl.select(
            pl.when(pl.lit(five))
            .then(pl.lit(r.normal(n_h, "person.head_age.five", 72.0, 8.0)).clip(45, 95))
            .otherwise(pl.lit(r.normal(n_h, "person.head_age", 51.0, 14.0)).clip(20, 92))
            .floor()
            .cast(pl.Int32)
        ).to_series()
        self.head_age = head_age
        base = (
            hh.select(
                pl.int_range(0, pl.len(), dtype=pl.Int64).alias("h_idx"),
                "household_id",
                "poverty_status",
                "main_cause",
                "size",
                pl.lit(head_age).alias("head_age"),
                pl.lit(r.integers(n_h, "person.family_name", 0, len(_SURNAMES) - 1)).alias("fam"),
            )
            .with_columns(member=pl.int_ranges(0, pl.col("size")))
            .explode("member")
        )
        n = base.height
        u = {
            k: r.uniform(n, f"person.{k}")
            for k in (
                "role",
                "kid",
                "gap",
                "spouse",
                "dis",
                "ser",
                "chr",
                "school",
                "outside",
                "labour",
                "ins1",
                "ins2",
                "ins3",
                "treat",
                "name2",
                "k",
                "flaw",
            )
        }
        spouse_gap = r.normal(n, "person.spouse_gap", -2.0, 4.0)
        frame = base.with_columns(
            u_role=u["role"],
            u_kid=u["kid"],
            u_gap=u["gap"],
            spouse_gap=spouse_gap,
            u_dis=u["dis"],
            u_ser=u["ser"],
            u_chr=u["chr"],
            u_school=u["school"],
            u_outside=u["outside"],
            u_labour=u["labour"],
            u_ins1=u["ins1"],
            u_ins2=u["ins2"],
            u_ins3=u["ins3"],
            u_treat=u["treat"],
            u_name2=u["name2"],
            u_k=u["k"],
            u_flaw=u["flaw"],
            u_birth=r.uniform(n, "person.birth_day"),
            u_sex=r.uniform(n, "person.sex"),
            u_screen=r.uniform(n, "person.screened"),
            own_fam=r.integers(n, "person.own_family_name", 0, len(_SURNAMES) - 1),
            g1=r.integers(n, "person.given1", 0, len(_GIVEN) - 1),
            g2=r.integers(n, "person.given2", 0, len(_GIVEN) - 1),
            d1=r.categorical(n, "person.disease1", _DISEASE_WEIGHTS),
            d2=r.categorical(n, "person.disease2", _DISEASE_WEIGHTS),
            d3=r.categorical(n, "person.disease3", _DISEASE_WEIGHTS),
        )
        head = pl.col("member") == 0
        spouse = (pl.col("member") == 1) & (pl.col("u_role") < 0.8)
        parent = ~head & ~spouse & (pl.col("u_kid") < 0.25)
        grandchild = (
            ~head & ~spouse & ~parent & (pl.col("head_age") >= 50) & (pl.col("u_kid") > 0.45)
        )
        ha = pl.col("head_age").cast(pl.Float64)
        age = (
            pl.when(head)
            .then(ha)
            .when(spouse)
            .then((ha + pl.col("spouse_gap")).clip(18, 95))
            .when(parent)
            .then((ha + 22 + 10 * pl.col("u_gap")).clip(None, 100))
            .when(grandchild)
            .then((ha - 44 - 14 * pl.col("u_gap")).clip(0, None))
            .otherwise((ha - 20 - 12 * pl.col("u_gap")).clip(0, None))
            .floor()
            .cast(pl.Int32)
        )
        frame = frame.with_columns(age=age)
        in_register = pl.col("poverty_status") != "non_poor"
        registered = pl.col("poverty_status").is_in(_REGISTERED)
        stable = pl.col("poverty_status") == "stable_exit"
        a = pl.col("age")
        s = pl.col("u_school")
        voc = pl.when(in_register).then(0.22).otherwise(0.18)
        school = (
            pl.when(a <= 2)
            .then(pl.lit("not_in_school"))
            .when(a <= 5)
            .then(pl.when(s < 0.75).then(pl.lit("preschool")).otherwise(pl.lit("not_in_school")))
            .when(a <= 11)
            .then(pl.when(s < 0.99).then(pl.lit("primary")).otherwise(pl.lit("not_in_school")))
            .when(a <= 14)
            .then(
                pl.when(s < 0.96)
                .then(pl.lit("junior_secondary"))
                .otherwise(pl.lit("not_in_school"))
            )
            .when(a <= 17)
            .then(
                pl.when(s < voc)
                .then(pl.lit("secondary_vocational"))
                .when(s < voc + 0.45)
                .then(pl.lit("senior_secondary"))
                .otherwise(pl.lit("not_in_school"))
            )
            .when(a == 18)
            .then(
                pl.when(s < 0.11)
                .then(pl.lit("secondary_vocational"))
                .when(s < 0.18)
                .then(pl.lit("higher_vocational"))
                .when(s < 0.26)
                .then(pl.lit("undergraduate"))
                .otherwise(pl.lit("not_in_school"))
            )
            .when(a <= 21)
            .then(
                pl.when(s < 0.14)
                .then(pl.lit("higher_vocational"))
                .when(s < 0.26)
                .then(pl.lit("undergraduate"))
                .otherwise(pl.lit("not_in_school"))
            )
            .when(a <= 25)
            .then(pl.when(s < 0.01).then(pl.lit("postgraduate")).otherwise(pl.lit("not_in_school")))
            .otherwise(pl.lit("not_in_school"))
        )
        frame = frame.with_columns(school_level=school)
        chronic_p = pl.lit(0.0)
        for bound, p in reversed(_CHRONIC_BY_AGE):
            chronic_p = pl.when(a < bound).then(p).otherwise(chronic_p)
        chronic_p = (
            chronic_p * pl.when(pl.col("main_cause") == "illness").then(1.5).otherwise(1.0)
        ).clip(None, 0.9)
        health = (
            pl.when(pl.col("u_dis") < pl.when(in_register).then(0.06).otherwise(0.025))
            .then(pl.lit("disabled"))
            .when(pl.col("u_ser") < pl.when(in_register).then(0.03).otherwise(0.01))
            .then(pl.lit("serious_illness"))
            .when(pl.col("u_chr") < chronic_p)
            .then(pl.lit("chronic_disease"))
            .otherwise(pl.lit("healthy"))
        )
        frame = frame.with_columns(health_status=health)
        codes = list(CHRONIC_DISEASE_CODES)
        idx = list(range(len(codes)))
        k = pl.col("u_k")
        first = (
            pl.when(pl.col("u_flaw") < f["disease_out_of_catalogue"])
            .then(pl.lit(_OUT_OF_CATALOGUE))
            .otherwise(pl.col("d1").replace_strict(idx, codes, return_dtype=pl.String))
        )
        diseases = (
            pl.when(pl.col("health_status") == "chronic_disease")
            .then(
                pl.concat_list(
                    first,
                    pl.when(k >= 0.7).then(
                        pl.col("d2").replace_strict(idx, codes, return_dtype=pl.String)
                    ),
                    pl.when(k >= 0.95).then(
                        pl.col("d3").replace_strict(idx, codes, return_dtype=pl.String)
                    ),
                )
                .list.drop_nulls()
                .list.unique(maintain_order=True)
            )
            .when((pl.col("health_status") == "serious_illness") & (k < 0.3))
            .then(pl.concat_list(pl.lit("malignant_tumour_outpatient")))
            .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        )
        frame = frame.with_columns(chronic_diseases=diseases)
        student = ~pl.col("school_level").is_in(["not_in_school", "preschool"])
        lu = pl.col("u_labour")
        labour = (
            pl.when(a < 16)
            .then(pl.lit("none"))
            .when(student)
            .then(pl.lit("none"))
            .when(pl.col("health_status") == "disabled")
            .then(pl.when(lu < 0.7).then(pl.lit("lost")).otherwise(pl.lit("ordinary")))
            .when(pl.col("health_status") == "serious_illness")
            .then(pl.when(lu < 0.5).then(pl.lit("lost")).otherwise(pl.lit("ordinary")))
            .when(a >= 65)
            .then(
                pl.when(lu < 0.6)
                .then(pl.lit("none"))
                .when(lu < 0.9)
                .then(pl.lit("ordinary"))
                .otherwise(pl.lit("lost"))
            )
            .otherwise(
                pl.when(lu < 0.12)
                .then(pl.lit("skilled"))
                .when(lu < 0.97)
                .then(pl.lit("ordinary"))
                .otherwise(pl.lit("lost"))
            )
        )
        frame = frame.with_columns(labour_capacity=labour)
        # income: household per-capita (by status) x size, shared by labour capacity
        pc = pl.lit(0.0)
        u_inc = r.normal(n_h, "household.income", 0.0, 1.0)
        pc_h = pl.select(
            pl.lit(hh["poverty_status"]).replace_strict(
                list(_INCOME), [m for m, _ in _INCOME.values()], return_dtype=pl.Float64
            )
            * (
                pl.lit(u_inc)
                * pl.lit(hh["poverty_status"]).replace_strict(
                    list(_INCOME), [s_ for _, s_ in _INCOME.values()], return_dtype=pl.Float64
                )
            ).exp()
        ).to_series()
        del pc
        weight = (
            pl.when(pl.col("labour_capacity").is_in(["ordinary", "skilled"]))
            .then(1.0)
            .otherwise(0.15)
        )
        frame = frame.with_columns(
            pc=pc_h.gather(pl.Series(frame["h_idx"])),
            w=weight,
        ).with_columns(
            income_fen=(
                pl.col("pc") * pl.col("size") * pl.col("w") / pl.col("w").sum().over("h_idx") * 100
            )
            .round(0)
            .cast(pl.Int64)
        )
        given = pl.col("g1").replace_strict(
            list(range(len(_GIVEN))), list(_GIVEN), return_dtype=pl.String
        )
        given2 = pl.col("g2").replace_strict(
            list(range(len(_GIVEN))), list(_GIVEN), return_dtype=pl.String
        )
        surname = (
            pl.when(spouse | parent)
            .then(pl.col("own_fam"))
            .otherwise(pl.col("fam"))
            .replace_strict(list(range(len(_SURNAMES))), list(_SURNAMES), return_dtype=pl.String)
        )
        birth = (
            pl.lit(_days(_REF))
            - ((a.cast(pl.Float64) + pl.col("u_birth")) * 365.25).floor().cast(pl.Int32)
            - 1
        )
        not_poor_false = pl.lit(False)
        male = pl.col("u_sex") < 0.5
        relationship = (
            pl.when(head)
            .then(pl.lit("head"))
            .when(spouse)
            .then(pl.lit("spouse"))
            .when(parent)
            .then(pl.when(male).then(pl.lit("father")).otherwise(pl.lit("mother")))
            .when(grandchild)
            .then(pl.when(male).then(pl.lit("grandson")).otherwise(pl.lit("granddaughter")))
            .otherwise(pl.when(male).then(pl.lit("son")).otherwise(pl.lit("daughter")))
        )
        out = frame.select(
            _ids("P", 8, n).alias("person_id"),
            "household_id",
            pl.concat_str(
                surname, given, pl.when(pl.col("u_name2") < 0.7).then(given2).otherwise(pl.lit(""))
            ).alias("name"),
            _date(birth).alias("birth_date"),
            head.alias("is_head"),
            relationship.alias("relationship"),
            "school_level",
            pl.when(student)
            .then(pl.col("u_outside") < 0.2)
            .otherwise(False)
            .alias("studying_outside_area"),
            "labour_capacity",
            "health_status",
            "chronic_diseases",
            (
                pl.col("u_ins1")
                < pl.when(registered).then(0.985).when(stable).then(0.97).otherwise(0.95)
            ).alias("basic_medical_insured"),
            pl.when(registered)
            .then(pl.col("u_ins2") < 0.97)
            .when(stable)
            .then(pl.col("u_ins2") < 0.6)
            .otherwise(not_poor_false)
            .alias("serious_illness_insured"),
            pl.when(registered)
            .then(pl.col("u_ins3") < 0.96)
            .when(stable)
            .then(pl.col("u_ins3") < 0.6)
            .otherwise(not_poor_false)
            .alias("chronic_disease_insured"),
            pl.when(pl.col("chronic_diseases").list.len() > 0)
            .then(True)
            .when(registered)
            .then(pl.col("u_screen") >= f["not_screened"])
            .alias("chronic_disease_screened"),
            pl.when(pl.col("chronic_diseases").list.len() > 0)
            .then(pl.col("u_treat") < pl.when(registered).then(0.93).otherwise(0.85))
            .alias("chronic_disease_treated"),
            _yuan(pl.col("income_fen")).alias("annual_income_yuan"),
            # helpers
            pl.col("h_idx"),
            (
                registered
                & pl.col("school_level").is_in(["secondary_vocational", "higher_vocational"])
            ).alias("_rain_and_dew"),
            (registered & pl.col("school_level").is_in(list(_EDUCATION_AID_YUAN))).alias(
                "_education_aid"
            ),
        )
        return out

    # ----------------------------------------------------------------- money

    def loans(self, hh: pl.DataFrame) -> pl.DataFrame:
        r, f, n_h = self.rng, self.flaw, hh.height
        age = self.head_age
        chosen = hh.with_columns(
            age=age, u=r.uniform(n_h, "loan.take"), h_idx=pl.int_range(0, pl.len(), dtype=pl.Int64)
        ).filter(
            pl.col("poverty_status").is_in(_REGISTERED)
            & pl.col("age").is_between(18, 65)
            & (pl.col("u") < 0.15)
        )
        n = chosen.height
        amount = pl.Series([50_000, 30_000, 20_000, 10_000]).gather(
            r.categorical(n, "loan.amount", (0.6, 0.25, 0.10, 0.05))
        )
        term = pl.Series([36, 24, 12]).gather(r.categorical(n, "loan.term", (0.6, 0.2, 0.2)))
        year2016 = r.bernoulli(n, "loan.2016", 0.2)
        issued = pl.select(
            pl.when(pl.lit(year2016))
            .then(_days(dt.date(2016, 1, 5)) + pl.lit(r.integers(n, "loan.day", 0, 350)))
            .otherwise(_days(dt.date(2017, 1, 5)) + pl.lit(r.integers(n, "loan.day", 0, 320)))
        ).to_series()
        used = r.uniform(n, "loan.enterprise") >= f["loan_enterprise_use"]
        repaid = year2016 & (term == 12) & r.bernoulli(n, "loan.repaid", 0.85)
        frame = pl.DataFrame(
            {
                "loan_id": _ids("L", 7, n),
                "household_id": chosen["household_id"],
                "amount_fen": pl.select(
                    pl.when(pl.lit(r.bernoulli(n, "loan.over_cap", f["loan_over_cap"])))
                    .then(60_000)
                    .otherwise(pl.lit(amount))
                    * 100
                ).to_series(),
                "issued_days": issued,
                "term_months": pl.select(
                    pl.when(pl.lit(r.bernoulli(n, "loan.over_term", f["loan_over_term"])))
                    .then(48)
                    .otherwise(pl.lit(term))
                )
                .to_series()
                .cast(pl.Int64),
                "used_by_household": used,
                "repaid": repaid,
                "u": r.uniform(n, "loan.repaid_by"),
            }
        )
        return frame.select(
            "loan_id",
            "household_id",
            _yuan(pl.col("amount_fen")).alias("amount_yuan"),
            _date(pl.col("issued_days")).alias("issued_on"),
            "term_months",
            "used_by_household",
            pl.when(pl.col("repaid"))
            .then(pl.col("used_by_household") & (pl.col("u") < 0.97))
            .alias("repaid_by_household"),
            "repaid",
        )

    def payments(self, hh: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
        r, f = self.rng, self.flaw
        students = persons.filter(pl.col("_rain_and_dew"))
        n = students.height
        paid = students.with_columns(
            u=r.uniform(n, "rain.unpaid"),
            old=r.bernoulli(n, "rain.old_rate", f["rain_and_dew_old_rate"]),
            day=r.integers(n, "rain.day", 0, 50),
        ).filter(pl.col("u") >= f["rain_and_dew_unpaid"])
        rain = paid.select(
            "household_id",
            "person_id",
            pl.lit("rain_and_dew").alias("program"),
            (pl.when(pl.col("old")).then(3000).otherwise(5000) * 100).alias("fen"),
            (_days(dt.date(2017, 10, 8)) + pl.col("day")).alias("days"),
        )
        n_h = hh.height
        extra = hh.with_columns(
            amount=pl.Series([1000, 2000, 3000, 5000]).gather(
                r.categorical(n_h, "subsidy.amount", (0.3, 0.3, 0.25, 0.15))
            ),
            day=r.integers(n_h, "subsidy.day", 0, 180),
        )
        subsidy = extra.filter(pl.col("industry_subsidy_paid").fill_null(False)).select(
            "household_id",
            pl.lit(None, dtype=pl.String).alias("person_id"),
            pl.lit("industry_subsidy").alias("program"),
            (pl.col("amount") * 100).alias("fen"),
            (_days(dt.date(2017, 5, 1)) + pl.col("day")).alias("days"),
        )
        asset = extra.filter(pl.col("asset_income_model").fill_null(False)).select(
            "household_id",
            pl.lit(None, dtype=pl.String).alias("person_id"),
            pl.lit("asset_income").alias("program"),
            pl.lit(300_000).alias("fen"),
            pl.lit(_days(dt.date(2017, 12, 15))).alias("days"),
        )
        pupils = persons.filter(pl.col("_education_aid"))
        n_p = pupils.height
        aid = (
            pupils.with_columns(
                u=r.uniform(n_p, "aid.unpaid"), day=r.integers(n_p, "aid.day", 0, 45)
            )
            .filter(pl.col("u") >= f["education_aid_missing"])
            .select(
                "household_id",
                "person_id",
                pl.lit("education_aid").alias("program"),
                (
                    pl.col("school_level").replace_strict(
                        list(_EDUCATION_AID_YUAN),
                        list(_EDUCATION_AID_YUAN.values()),
                        return_dtype=pl.Int64,
                    )
                    * 100
                ).alias("fen"),
                (_days(dt.date(2017, 10, 15)) + pl.col("day")).alias("days"),
            )
        )
        frames = [
            x.with_columns(pl.col("fen").cast(pl.Int64), pl.col("days").cast(pl.Int64))
            for x in (rain, subsidy, asset, aid)
        ]
        allp = pl.concat(frames).sort("household_id", "program", maintain_order=True)
        return allp.select(
            _ids("PAY", 7, allp.height).alias("payment_id"),
            "household_id",
            "person_id",
            "program",
            _yuan(pl.col("fen")).alias("amount_yuan"),
            _date(pl.col("days")).alias("paid_on"),
        )

    def projects(self, hh: pl.DataFrame, villages: pl.DataFrame) -> pl.DataFrame:
        r, f, n_v, n_h = self.rng, self.flaw, self.n_v, hh.height
        per_village = (r.poisson(n_v, "project.village_count", 1.5) + 1).cast(pl.Int64)
        v_rows = (
            villages.select("village_id")
            .with_columns(k=per_village)
            .with_columns(j=pl.int_ranges(0, pl.col("k")))
            .explode("j")
        )
        nv = v_rows.height
        v_names = (
            "村级光伏电站",
            "通村公路硬化",
            "安全饮水工程",
            "产业基地建设",
            "村卫生室建设",
            "党员群众服务中心建设",
        )
        village_level = v_rows.select(
            "village_id",
            pl.lit(None, dtype=pl.String).alias("household_id"),
            pl.lit(pl.Series(v_names))
            .gather(pl.lit(r.integers(nv, "project.v_name", 0, len(v_names) - 1)))
            .alias("name"),
            (pl.lit(r.integers(nv, "project.v_amount", 500, 8000)) * 10_000).alias("fen"),
            pl.lit(r.uniform(nv, "project.v_state")).alias("state"),
            pl.lit(r.uniform(nv, "project.v_share")).alias("share"),
        )
        p_take = (
            pl.when(pl.col("poverty_status").is_in(_POOR))
            .then(1.0 - f["household_project_missing"])
            .when(pl.col("poverty_status").is_in(["exited", "stable_exit"]))
            .then(0.3)
            .otherwise(0.0)
        )
        h_names = ("产业发展(种植)", "产业发展(养殖)", "光伏扶贫", "就业技能培训", "危房改造")
        household_level = (
            hh.with_columns(u=r.uniform(n_h, "project.h_take"))
            .filter(pl.col("u") < p_take)
            .select("village_id", "household_id")
        )
        nh = household_level.height
        household_level = household_level.with_columns(
            name=pl.Series(h_names).gather(r.integers(nh, "project.h_name", 0, len(h_names) - 1)),
            fen=r.integers(nh, "project.h_amount", 10, 100) * 10_000,
            state=r.uniform(nh, "project.h_state"),
            share=r.uniform(nh, "project.h_share"),
        )
        allp = pl.concat(
            [
                village_level.with_columns(pl.col("fen").cast(pl.Int64)),
                household_level.with_columns(pl.col("fen").cast(pl.Int64)),
            ]
        )
        implemented = pl.col("state") < 0.92
        accepted = pl.col("state") < 0.8
        disbursed = (
            pl.when(accepted)
            .then(pl.col("fen"))
            .when(implemented)
            .then(
                (pl.col("fen") * (0.3 + 0.6 * pl.col("share")) / 100).round(0).cast(pl.Int64) * 100
            )
            .otherwise(0)
        )
        return allp.select(
            _ids("PJ", 7, allp.height).alias("project_id"),
            "village_id",
            "household_id",
            "name",
            _yuan(pl.col("fen")).alias("amount_yuan"),
            _yuan(disbursed).alias("disbursed_yuan"),
            implemented.alias("implemented"),
            accepted.alias("accepted"),
        )

    def relocations(self, hh: pl.DataFrame) -> pl.DataFrame:
        r, f, n_h = self.rng, self.flaw, hh.height
        chosen = hh.with_columns(
            u=r.uniform(n_h, "relocation.take"),
            site_name=pl.Series(self.village_names).gather(hh["village_idx"]),
        ).filter((pl.col("poverty_status") != "non_poor") & (pl.col("u") < 0.10))
        n = chosen.height
        year = pl.Series([2015, 2016, 2017]).gather(
            r.categorical(n, "relocation.year", (0.1, 0.3, 0.6))
        )
        on_time = r.uniform(n, "relocation.on_time")
        early = r.integers(n, "relocation.early_days", 0, 150)
        late = r.integers(n, "relocation.late_days", 1, 45)
        deadline = _days(dt.date(2017, 11, 30))
        turnkey_2017 = (
            pl.when(pl.lit(on_time) < 0.05)
            .then(deadline)
            .when(pl.lit(on_time) < 0.85)
            .then(deadline - pl.lit(early))
            .otherwise(deadline + pl.lit(late))
        )
        turnkey_old = pl.lit(year).cast(pl.Int64).replace_strict(
            [2015, 2016], [_days(dt.date(2015, 8, 1)), _days(dt.date(2016, 8, 1))], default=0
        ) + pl.lit(r.integers(n, "relocation.old_days", 0, 120))
        turnkey = pl.select(
            pl.when(pl.lit(year) == 2017).then(turnkey_2017).otherwise(turnkey_old)
        ).to_series()
        move = r.integers(n, "relocation.move_days", 0, 25)
        exact = r.bernoulli(n, "relocation.exact_move", 0.02)
        moved = pl.select(
            pl.when(
                pl.lit(exact)
                & (pl.lit(turnkey) <= _days(dt.date(2017, 12, 31)))
                & (pl.lit(year) == 2017)
            )
            .then(_days(dt.date(2017, 12, 31)))
            .otherwise(pl.lit(turnkey) + pl.lit(move))
        ).to_series()
        not_moved = r.bernoulli(n, "relocation.not_moved", 3 * f["missing_value"])
        dispersed = r.bernoulli(n, "relocation.dispersed", 0.25)
        frame = chosen.select(
            "household_id",
            pl.lit(year).cast(pl.Int64).alias("year"),
            pl.when(pl.lit(dispersed))
            .then(pl.lit("分散安置"))
            .otherwise(pl.col("site_name") + "集中安置点")
            .alias("site"),
            _date(pl.lit(turnkey)).alias("turnkey_on"),
            pl.when(pl.lit(not_moved))
            .then(None)
            .otherwise(_date(pl.lit(moved)))
            .alias("moved_in_on"),
            pl.lit(r.bernoulli(n, "relocation.delivered", 0.9)).alias("exit_measures_delivered"),
        )
        return frame.select(_ids("R", 7, n).alias("relocation_id"), pl.all())

    # ----------------------------------------------------------------- archives

    def documents(
        self,
        hh: pl.DataFrame,
        villages: pl.DataFrame,
        projects: pl.DataFrame,
        relocations: pl.DataFrame,
        loans: pl.DataFrame,
    ) -> pl.DataFrame:
        r, f, n_h = self.rng, self.flaw, hh.height
        miss = f["document_missing"]
        st = pl.col("poverty_status")
        in_register = st != "non_poor"
        registered = st.is_in(_REGISTERED)
        exited = st.is_in(["exited", "stable_exit"])
        with_project = pl.col("household_id").is_in(
            pl.concat([projects["household_id"].drop_nulls(), relocations["household_id"]])
            .unique()
            .implode()
        )
        borrower = pl.col("household_id").is_in(loans["household_id"].unique().implode())
        rules: list[tuple[str, str, pl.Expr, float]] = [
            ("household_pouch", "poverty_manual", registered, 1 - miss),
            ("household_pouch", "agreement", in_register, 0.5),
            ("household_pouch", "policy_leaflet", in_register, 0.8),
            ("household_pouch", "income_expenditure_calc", exited, 1 - 2 * miss),
            ("household_pouch", "pledge", in_register, f["pledge"]),
            ("household_pouch", "clarity_card", in_register, f["clarity_card"]),
            ("household_pouch", "group_photo", in_register, f["group_photo"]),
            ("village_household_file", "application_form", in_register, 1 - miss),
            ("village_household_file", "info_collection_form", in_register, 1 - miss),
            ("village_household_file", "five_assessment_form", in_register, 1 - miss),
            ("village_household_file", "exit_plan", registered, 1 - miss),
            ("village_household_file", "project_application", registered & with_project, 1 - miss),
            ("village_household_file", "project_approval", registered & with_project, 1 - miss),
            (
                "village_household_file",
                "village_household_agreement",
                registered & with_project,
                1 - miss,
            ),
            ("village_household_file", "income_account", exited, 1 - miss),
            ("village_household_file", "policy_benefit_list", exited, 1 - miss),
            (
                "village_household_file",
                "microcredit_file",
                borrower,
                f["special_filed_per_household"],
            ),
        ]
        parts = []
        for rank, (archive, kind, applies, p) in enumerate(rules):
            if p <= 0:
                continue
            part = hh.with_columns(
                u=r.uniform(n_h, f"document.{kind}"),
                h_idx=pl.int_range(0, pl.len(), dtype=pl.Int64),
            ).filter(applies & (pl.col("u") < p))
            parts.append(
                part.select(
                    "village_id",
                    "household_id",
                    pl.lit(archive).alias("archive"),
                    pl.lit(kind).alias("kind"),
                    "h_idx",
                    pl.lit(rank, dtype=pl.Int32).alias("rank"),
                )
            )
        special = (
            "policy_document",
            "exit_ledger",
            "village_project_plan",
            "project_acceptance",
            "fund_disbursement",
            "deliberation_record",
            "public_notice",
            "relocation_special",
            "microcredit_file",
        )
        for rank, kind in enumerate(special, start=len(rules)):
            part = (
                villages.select("village_id")
                .with_columns(u=r.uniform(self.n_v, f"document.village.{kind}"))
                .filter(pl.col("u") >= miss)
            )
            parts.append(
                part.select(
                    "village_id",
                    pl.lit(None, dtype=pl.String).alias("household_id"),
                    pl.lit("village_special").alias("archive"),
                    pl.lit(kind).alias("kind"),
                    pl.lit(None, dtype=pl.Int64).alias("h_idx"),
                    pl.lit(rank, dtype=pl.Int32).alias("rank"),
                )
            )
        docs = pl.concat(parts).sort("h_idx", "rank", "village_id", nulls_last=True)
        n = docs.height
        return docs.select(
            _ids("D", 8, n).alias("document_id"),
            "archive",
            "kind",
            "village_id",
            "household_id",
            pl.lit(r.bernoulli(n, "document.up_to_date", 0.93)).alias("up_to_date"),
        )

    def procedure_steps(self, hh: pl.DataFrame) -> pl.DataFrame:
        r, f, n_h = self.rng, self.flaw, hh.height
        st = pl.col("poverty_status")
        base = hh.with_columns(
            h_idx=pl.int_range(0, pl.len(), dtype=pl.Int64),
            d0=r.integers(n_h, "step.application", 0, 45),
            d1=r.integers(n_h, "step.verification", 3, 20),
            d2=r.integers(n_h, "step.notice", 2, 10),
            d3=r.integers(n_h, "step.notification", 7, 20),
            drop=r.uniform(n_h, "step.drop"),
            which=r.integers(n_h, "step.which", 0, 3),
            swap=r.bernoulli(n_h, "step.swap", f["step_out_of_order"]),
            partial=r.bernoulli(n_h, "step.pre_exit", 0.6),
        ).filter(
            st.is_in(["exited", "stable_exit"]) | ((st == "pre_exit_2017") & pl.col("partial"))
        )
        start = (
            pl.col("exit_year")
            .cast(pl.Int32)
            .replace_strict(
                list(range(2014, 2018)),
                [_days(dt.date(y, 9, 1)) for y in range(2014, 2018)],
                default=_days(dt.date(2017, 9, 1)),
            )
        )
        base = (
            base.with_columns(
                t0=start + pl.col("d0"),
            )
            .with_columns(t1=pl.col("t0") + pl.col("d1"))
            .with_columns(t2=pl.col("t1") + pl.col("d2"))
            .with_columns(t3=pl.col("t2") + pl.col("d3"))
        )
        # out of order: the public notice dated before the verification it should follow
        base = base.with_columns(
            t1=pl.when(pl.col("swap")).then(pl.col("t2")).otherwise(pl.col("t1")),
            t2=pl.when(pl.col("swap")).then(pl.col("t1")).otherwise(pl.col("t2")),
        )
        pre = pl.col("poverty_status") == "pre_exit_2017"
        kinds = ("application", "verification", "public_notice", "notification")
        parts = []
        for k, kind in enumerate(kinds):
            keep = ~((pl.col("drop") < f["step_missing"]) & (pl.col("which") == k) & ~pre)
            if k >= 2:
                keep = keep & ~pre
            parts.append(
                base.filter(keep).select(
                    "household_id",
                    "h_idx",
                    pl.lit(kind).alias("step"),
                    pl.lit(k, dtype=pl.Int32).alias("rank"),
                    pl.col(f"t{k}").alias("days"),
                )
            )
        steps = pl.concat(parts).sort("h_idx", "rank")
        n = steps.height
        blank = r.bernoulli(n, "step.blank", f["missing_value"])
        return steps.select(
            _ids("S", 8, n).alias("step_id"),
            "household_id",
            "step",
            pl.when(pl.lit(blank)).then(None).otherwise(_date(pl.col("days"))).alias("done_on"),
        )

    def rectification_items(self, relocations: pl.DataFrame) -> pl.DataFrame:
        r, f = self.rng, self.flaw
        n = min(60, max(5, round(relocations.filter(pl.col("year") == 2017).height / 300)))
        problems = (
            ("安置点配套基础设施未完善", "限期完善水电路等配套设施"),
            ("部分搬迁户未按期入住", "逐户督办，落实入住"),
            ("旧房拆除复垦未到位", "制定拆旧复垦计划并验收"),
            ("后续产业扶持措施未落实", "落实到户产业和就业帮扶"),
            ("搬迁资金拨付滞后", "加快资金拨付进度"),
            ("安置房质量存在隐患", "组织质量检测并整改"),
            ("搬迁对象识别不精准", "逐户核查，规范进退"),
            ("搬迁户就业帮扶未落实", "开展技能培训和就业对接"),
        )
        pick_p = r.integers(n, "rectification.problem", 0, len(problems) - 1).to_list()
        leader = r.integers(n, "rectification.leader", 0, len(_SURNAMES) - 1).to_list()
        person = r.integers(n, "rectification.person", 0, len(_SURNAMES) - 1).to_list()
        given = r.integers(n, "rectification.given", 0, len(_GIVEN) - 1).to_list()
        late = r.bernoulli(n, "rectification.deadline", 0.5).to_list()
        closed = r.bernoulli(n, "rectification.closed", 0.65).to_list()
        blank = r.uniform(n, "rectification.blank").to_list()
        gap = 5 * f["missing_value"]
        return pl.DataFrame(
            {
                "item_id": _ids("Q", 3, n),
                "county_id": [self.county_id] * n,
                "description": [problems[i][0] for i in pick_p],
                "measures": [
                    None if b < gap else problems[i][1] for i, b in zip(pick_p, blank, strict=True)
                ],
                "deadline": [dt.date(2017, 12, 31) if x else dt.date(2017, 11, 30) for x in late],
                "responsible_leader": [
                    None if 2 * gap > b >= gap else f"{_SURNAMES[i]}副县长"
                    for i, b in zip(leader, blank, strict=True)
                ],
                "responsible_person": [
                    f"{_SURNAMES[i]}{_GIVEN[g]}" for i, g in zip(person, given, strict=True)
                ],
                "closed": closed,
            },
            schema_overrides={"measures": pl.String, "responsible_leader": pl.String},
        )

    def county(self) -> pl.DataFrame:
        departments = ["education", "health", "human_resources_social_security", "civil_affairs"]
        if not self.imperfect:
            departments.append("disabled_persons_federation")
        return pl.DataFrame(
            {
                "county_id": [self.county_id],
                "name": ["竹山县(合成数据)"],
                "avg_income_growth_rate": pl.Series([self.avg_growth]).cast(pl.Decimal(18, 4))
                / 10_000,
                "data_exchange_departments": [departments],
            }
        ).with_columns(pl.col("avg_income_growth_rate").cast(pl.Decimal(12, 4)))

    # ----------------------------------------------------------------- run

    def blank(self, frame: pl.DataFrame, table: str, fields: Sequence[str]) -> pl.DataFrame:
        """Leave a small share of optional fields empty (unknown), each independently."""
        rate = self.flaw["missing_value"]
        if rate <= 0 or frame.height == 0:
            return frame
        return frame.with_columns(
            pl.when(pl.lit(self.rng.uniform(frame.height, f"blank.{table}.{c}")) < rate)
            .then(None)
            .otherwise(pl.col(c))
            .alias(c)
            for c in fields
        )

    def run(self) -> dict[str, pl.DataFrame]:
        townships = self.townships()
        villages = self.villages(townships)
        core = self.household_core()
        hh = self.households(core, villages)
        persons = self.persons(hh)
        loans = self.loans(hh)
        payments = self.payments(hh, persons)
        projects = self.projects(hh, villages)
        relocations = self.relocations(hh)
        documents = self.documents(hh, villages, projects, relocations, loans)
        steps = self.procedure_steps(hh)
        items = self.rectification_items(relocations)
        villages = self.blank(
            villages,
            "villages",
            (
                "safe_drinking_water",
                "broadband_network",
                "clinic_has_qualified_doctor",
                "new_market_entities_count",
                "has_leading_industry",
            ),
        )
        households = self.blank(
            hh.drop("size", "village_idx"),
            "households",
            (
                "attribute",
                "main_cause",
                "assistance_measures",
                "helper_name",
                "driven_by_market_entity",
                "industry_income_secured",
            ),
        )
        persons_out = self.blank(
            persons.drop("h_idx", "_rain_and_dew", "_education_aid"),
            "persons",
            (
                "birth_date",
                "relationship",
                "school_level",
                "health_status",
                "chronic_diseases",
                "basic_medical_insured",
                "serious_illness_insured",
                "annual_income_yuan",
            ),
        )
        return {
            "county": self.county(),
            "townships": townships,
            "villages": villages,
            "households": households,
            "persons": persons_out,
            "loans": self.blank(loans, "loans", ("issued_on", "repaid")),
            "payments": self.blank(payments, "payments", ("paid_on",)),
            "projects": self.blank(projects, "projects", ("implemented", "disbursed_yuan")),
            "documents": self.blank(documents, "documents", ("up_to_date",)),
            "procedure_steps": steps,
            "relocations": self.blank(relocations, "relocations", ("exit_measures_delivered",)),
            "rectification_items": items,
        }
