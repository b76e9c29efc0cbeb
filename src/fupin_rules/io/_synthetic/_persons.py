"""The synthetic county's persons: ages, relationships, schooling, health and income."""

from __future__ import annotations

import polars as pl

from fupin_rules.io._synthetic._common import (
    _CHRONIC_BY_AGE,
    _DISEASE_WEIGHTS,
    _EDUCATION_AID_YUAN,
    _GIVEN,
    _INCOME,
    _OUT_OF_CATALOGUE,
    _REF,
    _REGISTERED,
    _SURNAMES,
    CHRONIC_DISEASE_CODES,
    State,
    _date,
    _days,
    _ids,
    _yuan,
)


class Persons(State):
    """The members of every household."""

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
