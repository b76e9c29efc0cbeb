"""fupin_rules.testing helpers: boundaries and the monotonicity check catch what they should."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import fupin_rules as fr
from fupin_rules.testing import MonotonicityError, boundary_dates, boundary_values, check_monotone

ON = dt.date(2017, 12, 31)


def test_boundary_dates_and_values(mini_policy) -> None:  # type: ignore[no-untyped-def]
    assert boundary_dates(mini_policy, "rain_and_dew.grant_yuan") == [
        (dt.date(2017, 8, 31), dt.date(2017, 9, 1))
    ]
    assert boundary_values(mini_policy, "village_exit.min_collective_income_yuan", ON) == (
        Decimal("49999.99"),
        Decimal("50000"),
        Decimal("50000.01"),
    )
    with pytest.raises(ValueError, match="no value on 2010-01-01"):
        boundary_values(mini_policy, "rain_and_dew.grant_yuan", dt.date(2010, 1, 1))


def test_check_monotone_raises_on_a_worsening_change(mini_policy) -> None:  # type: ignore[no-untyped-def]
    data = next(c.data for c in mini_policy.cases if c.id == "village.below_two_percent_passes")

    def poorer(d: dict[str, Any]) -> None:
        d["villages"][0]["collective_income_yuan"] = "100"

    with pytest.raises(MonotonicityError, match="passed before the change and is fail"):
        check_monotone(mini_policy, data, "village.exit.standard", "V1", ON, poorer)

    def richer(d: dict[str, Any]) -> None:
        d["villages"][0]["collective_income_yuan"] = "90000"

    assert check_monotone(mini_policy, data, "village.exit.standard", "V1", ON, richer) == (
        fr.Outcome.PASS,
        fr.Outcome.PASS,
    )
