"""The synthetic county's households: village, status, attribute, size and income."""

from __future__ import annotations

import polars as pl

from fupin_rules.io._prng import pick
from fupin_rules.io._synthetic._common import (
    _ATTRIBUTE_SHARES,
    _ATTRIBUTES,
    _CAUSE_SHARES,
    _CAUSES,
    _GIVEN,
    _MEASURES,
    _POOR,
    _REGISTERED,
    _SIZE_SHARES,
    _STATUS_BY_GROUP,
    _STATUSES,
    _SURNAMES,
    State,
    _cum,
    _ids,
)


class Households(State):
    """The households (and the exactly-2 % village)."""

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
