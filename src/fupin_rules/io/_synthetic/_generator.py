"""One generation run: the table builders of each part, in dependency order."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from fupin_rules.io._prng import Streams
from fupin_rules.io._synthetic._archives import Archives
from fupin_rules.io._synthetic._common import _FLAWS
from fupin_rules.io._synthetic._households import Households
from fupin_rules.io._synthetic._money import Money
from fupin_rules.io._synthetic._persons import Persons
from fupin_rules.io._synthetic._places import Places


class Generator(Places, Households, Persons, Money, Archives):
    """One generation run; methods build the tables in dependency order."""

    def __init__(self, rng: Streams, households: int, villages: int, imperfect: bool) -> None:
        self.rng = rng
        self.n_h = households
        self.n_v = villages
        self.flaw = {k: (v if imperfect else 0.0) for k, v in _FLAWS.items()}
        self.imperfect = imperfect
        self.county_id = "420323"

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
