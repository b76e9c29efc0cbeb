"""The synthetic county's money: loans, payments, projects and relocations."""

from __future__ import annotations

import datetime as dt

import polars as pl

from fupin_rules.io._synthetic._common import (
    _EDUCATION_AID_YUAN,
    _POOR,
    _REGISTERED,
    State,
    _date,
    _days,
    _ids,
    _yuan,
)


class Money(State):
    """Loans, payments, project funds and relocations."""

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
