"""The synthetic county's places: townships, villages and the county itself."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl

from fupin_rules.io._synthetic._common import (
    _GROUP_SHARES,
    _PLACE,
    _TOWNSHIPS,
    State,
    _apportion,
    _ids,
    _yuan,
)


class Places(State):
    """Townships, villages and the county (the villages decide the groups later tables use)."""

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
