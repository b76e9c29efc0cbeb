"""Issue "missing data is unknown": supplying a missing value only ever resolves an unknown.

Clause 三(三): 贫困发生率低于2%, 集体经济收入5万元以上 — checked on the mini policy's village
exit rule with generated villages where any input may be missing.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import fupin_rules as fr
from fupin_rules.policy import load_policy

ON = dt.date(2017, 12, 31)
POLICY = load_policy(Path(__file__).parents[2] / "data" / "mini_policy")
STATUSES = ["registered_poor", "non_poor", "exited", None]


@st.composite
def villages(draw: st.DrawFn) -> dict:
    n_households = draw(st.integers(1, 8))
    households, persons = [], []
    for h in range(n_households):
        households.append(
            {
                "household_id": f"H{h}",
                "village_id": "V1",
                "poverty_status": draw(st.sampled_from(STATUSES)),
            }
        )
        for p in range(draw(st.integers(1, 4))):
            persons.append(
                {"person_id": f"P{h}_{p}", "household_id": f"H{h}", "school_level": "not_in_school"}
            )
    income = draw(
        st.one_of(st.none(), st.sampled_from(["49999.99", "50000", "50000.01", "0", "120000"]))
    )
    village = {"village_id": "V1", "township_id": "T1", "collective_income_yuan": income}
    village["clinic_built"] = draw(st.one_of(st.none(), st.booleans()))
    village["clinic_has_qualified_doctor"] = draw(st.one_of(st.none(), st.booleans()))
    return {
        "county": {"county_id": "C1"},
        "townships": [{"township_id": "T1", "county_id": "C1"}],
        "villages": [village],
        "households": households,
        "persons": persons,
    }


def _verdict(data: dict) -> fr.Outcome:
    return (
        fr.Evaluator(POLICY, data, engine="reference")
        .finding("village.exit.standard", "V1", ON)
        .verdict
    )


def _fill_one(data: dict, rnd: random.Random) -> dict | None:
    """Supply one missing value (if any), choosing the value at random."""
    holes = [("villages", 0, k) for k, v in data["villages"][0].items() if v is None]
    holes += [
        ("households", i, "poverty_status")
        for i, h in enumerate(data["households"])
        if h["poverty_status"] is None
    ]
    if not holes:
        return None
    table, i, key = rnd.choice(holes)
    new = {k: ([dict(r) for r in v] if isinstance(v, list) else v) for k, v in data.items()}
    choices = {
        "collective_income_yuan": ["0", "50000", "49999.99"],
        "poverty_status": ["registered_poor", "non_poor"],
    }.get(key, [True, False])
    new[table][i][key] = rnd.choice(choices)
    return new


@settings(max_examples=60, deadline=None)
@given(villages(), st.randoms(use_true_random=False))
def test_supplying_values_never_unsettles_a_verdict(data: dict, rnd: random.Random) -> None:
    """A pass or fail never turns into unknown (or flips) when a missing value is supplied;
    once every value is supplied the verdict is definite."""
    verdict = _verdict(data)
    while (filled := _fill_one(data, rnd)) is not None:
        new = _verdict(filled)
        if verdict is not fr.Outcome.UNKNOWN:
            assert new is verdict
        verdict, data = new, filled
    assert verdict in (fr.Outcome.PASS, fr.Outcome.FAIL)


def test_exactly_two_percent_is_not_below_two_percent() -> None:
    """低于2% is strict: 1 poor person among 50 residents fails; among 51 passes."""
    base = {
        "county": {"county_id": "C1"},
        "villages": [
            {
                "village_id": "V1",
                "township_id": "T1",
                "collective_income_yuan": "50000",
                "clinic_built": False,
            }
        ],
        "households": [
            {"household_id": "H0", "village_id": "V1", "poverty_status": "registered_poor"},
            {"household_id": "H1", "village_id": "V1", "poverty_status": "non_poor"},
        ],
        "persons": [{"person_id": "P0", "household_id": "H0"}]
        + [{"person_id": f"Q{i}", "household_id": "H1"} for i in range(49)],
    }
    assert _verdict(base) is fr.Outcome.FAIL
    base["persons"].append({"person_id": "Q49", "household_id": "H1"})
    assert _verdict(base) is fr.Outcome.PASS


@settings(max_examples=5, deadline=None)
@given(st.lists(st.integers(0, 10**12), min_size=1000, max_size=1000))
def test_money_sums_are_exact(fen: list[int]) -> None:
    """Yuan amounts are Decimal end to end: sums of fen amounts are exact (no float drift)."""
    amounts = [Decimal(f) / 100 for f in fen]
    assert sum(amounts, Decimal(0)) * 100 == sum(fen)
    assert sum((Fraction(a) for a in amounts), Fraction(0)) == Fraction(sum(fen), 100)


def test_million_amounts_sum_exactly() -> None:
    """10^6 random amounts with fen: the Decimal total equals the integer-fen total."""
    rnd = random.Random(2017)
    fen = [rnd.randrange(0, 5_000_000_00) for _ in range(1_000_000)]
    total = sum((Decimal(f).scaleb(-2) for f in fen), Decimal(0))
    assert total == Decimal(sum(fen)).scaleb(-2)
