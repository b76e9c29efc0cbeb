"""The per-column parse cache never mixes values that compare equal but read differently."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fupin_rules.io.cells import CellError, parse_cell
from fupin_rules.io.headers import field_specs
from fupin_rules.io.ledger import _parse_cached


def _spec(table: str, name: str):  # type: ignore[no-untyped-def]
    (spec,) = [s for s in field_specs(table) if s.name == name]
    return spec


@pytest.mark.parametrize(
    ("table", "field", "values"),
    [
        ("persons", "annual_income_yuan", [Decimal("1.5"), Decimal("1.50"), 1.5, "1.5", 1, True]),
        ("persons", "is_head", [1, True, 1.0, "1", "是", 0, False, "否", 2]),
        ("persons", "name", [1, 1.0, True, Decimal("1"), "1"]),
        ("persons", "birth_date", [dt.date(2017, 1, 1), dt.datetime(2017, 1, 1), "2017-01-01"]),
        ("villages", "income_growth_rate", [0.0, -0.0, "9.5%", Decimal("0.095"), float("nan")]),
    ],
)
def test_cached_equals_uncached_in_any_order(table: str, field: str, values: list[object]) -> None:
    spec = _spec(table, field)
    for order in (values, list(reversed(values))):
        cache: dict[tuple[type, object], object] = {}
        for _ in range(2):  # second pass: every value from the cache
            for v in order:
                try:
                    want: object = parse_cell(spec, v)
                except CellError as exc:
                    want = ("error", str(exc))
                try:
                    got: object = _parse_cached(cache, spec, v)
                except CellError as exc:
                    got = ("error", str(exc))
                assert got == want and type(got) is type(want), v
                if isinstance(want, Decimal):
                    assert str(got) == str(want), v  # 1.5 and 1.50 stay as written
