"""Records to frames: the fast paths (fields by ``itemgetter`` on ``__dict__``, decimals and
lists through Arrow, str-enum codes as they are) give exactly what value-by-value reading gave."""

from __future__ import annotations

import enum
import operator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pyarrow as pa
import pytest

from fupin_rules.api import load_data
from fupin_rules.batch.frames import (
    TOO_LARGE,
    _arrow_lists,
    _columns,
    _decimal_column,
    tables_from_dataset,
)
from fupin_rules.cli import sample_data_path
from fupin_rules.domain.entities import ENTITIES
from fupin_rules.domain.schema import ENTITY_RECORDS
from fupin_rules.policy import load_policy


def _exact(values: list[Any]) -> tuple[list[int | None], int]:
    """Numerators over the least power of ten that holds every value's decimals, by Fraction."""
    decs = [None if v is None else Decimal(repr(v) if isinstance(v, float) else v) for v in values]
    exps = [d.as_tuple().exponent for d in decs if d is not None]
    scale = max((max(0, -e) for e in exps if isinstance(e, int)), default=0)
    nums = [None if d is None else int(Fraction(d) * 10**scale) for d in decs]
    return nums, 10**scale


@pytest.mark.parametrize(
    "values",
    [
        [Decimal("1.5"), None, Decimal("-20.25"), Decimal("1E+3"), Decimal("3")],
        [Decimal("1E+3")],  # a positive exponent alone: Arrow's scale would be negative
        [Decimal("0.00"), Decimal("-0"), None],
        [Decimal("49999.99"), Decimal("0.001")],
        [Decimal("1" * 37 + ".5")],  # 38 digits: still a decimal128
        [None, None],
        [1, None, -(2**100)],
        [1, Decimal("0.5")],  # mixed: value by value
        [2.5, None],
    ],
)
def test_numbers_are_exact_numerators_over_one_denominator(values: list[Any]) -> None:
    num, den = _decimal_column(values)
    want_nums, want_den = _exact(values)
    assert den == want_den
    assert num.to_list() == want_nums


@pytest.mark.parametrize("values", [[Decimal("1" * 40)], [2**130, 1]])
def test_a_number_beyond_int128_makes_the_column_too_large(values: list[Any]) -> None:
    num, den = _decimal_column(values)
    assert den == TOO_LARGE and num.null_count() == len(values)


def test_a_boolean_is_not_a_number() -> None:
    with pytest.raises(TypeError, match="boolean"):
        _decimal_column([True, 1])


class _Code(enum.Enum):  # not a str enum: its codes are made plain
    A = "甲"


class _Text(enum.StrEnum):
    B = "乙"


def test_lists_of_codes_of_any_enum_are_their_text() -> None:
    values = [(_Text.B, "x"), None, (_Code.A,), ()]
    assert _arrow_lists(values).to_pylist() == [["乙", "x"], None, ["甲"], []]
    assert _arrow_lists([("a",), None]).type == pa.list_(pa.string())


class _Slots:
    """A record whose fields are properties (no ``__dict__`` entries): read attribute by
    attribute."""

    __slots__ = ("_a",)

    def __init__(self, a: int) -> None:
        self._a = a

    @property
    def a(self) -> int:
        return self._a

    @property
    def b(self) -> str:
        return f"b{self._a}"


def test_columns_without_a_dict_of_fields_are_read_by_attribute() -> None:
    records = [_Slots(1), _Slots(2)]
    assert [list(c) for c in _columns(records, ["a", "b"])] == [[1, 2], ["b1", "b2"]]
    assert [list(c) for c in _columns(records, ["b"])] == [["b1", "b2"]]
    assert _columns([], ["a", "b"]) == [(), ()]


def test_the_sample_countys_frames_hold_each_records_fields() -> None:
    policy = load_policy("county_2017")
    dataset = load_data(sample_data_path()).dataset
    tables = tables_from_dataset(dataset, policy.schema)
    for kind, frame in tables.frames.items():
        cls = ENTITY_RECORDS[kind]
        table = ENTITIES[kind].table
        records = [dataset.county] if kind == "county" else list(dataset.table(table) or ())
        assert frame.height == len(records)
        for name in cls.model_fields:
            t = policy.schema.entities[kind].fields[name]
            got = frame[name].to_list()
            want = list(map(operator.attrgetter(name), records))
            if str(t) == "number":
                den = tables.dens[kind, name]
                want = [None if v is None else int(Fraction(v) * den) for v in want]
            elif isinstance(got[0] if got else None, list) or any(
                isinstance(v, tuple) for v in want
            ):
                want = [None if v is None else [getattr(x, "value", x) for x in v] for v in want]
            else:
                want = [getattr(v, "value", v) for v in want]
            assert got == want, (kind, name)
