"""The synthetic county's archives: documents, exit-procedure steps and rectification items."""

from __future__ import annotations

import datetime as dt

import polars as pl

from fupin_rules.io._synthetic._common import (
    _GIVEN,
    _REGISTERED,
    _SURNAMES,
    State,
    _date,
    _days,
    _ids,
)


class Archives(State):
    """Archive documents, exit-procedure steps and rectification items."""

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
