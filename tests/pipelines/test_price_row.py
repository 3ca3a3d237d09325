"""price_row: the price columns of one item, money quantized half up (cents, unit 0.0001)."""

import datetime as dt
from decimal import Decimal

import pytest

from grocer.pipelines.prices import price_row

AT = dt.datetime(2026, 11, 20, 1, tzinfo=dt.timezone.utc)


def row(price, was=None, unit=None):
    return price_row({"price_current": price, "price_was": was, "unit_price": unit,
                      "price_hash": "h"}, 7, 3, AT)


@pytest.mark.parametrize("value, cents, unit", [
    (3.105, Decimal("3.11"), Decimal("3.1050")), (3, Decimal("3.00"), Decimal("3.0000")),
    (3.0, Decimal("3.00"), Decimal("3.0000")), (Decimal("2.675"), Decimal("2.68"), Decimal("2.6750")),
    (0.00005, Decimal("0.00"), Decimal("0.0001")), (1e-7, Decimal("0.00"), Decimal("0.0000")),
    (float("inf"), None, None), ("1.5", Decimal("1.50"), Decimal("1.5000")),
    ("abc", None, None), ([1], None, None), (True, None, None), (None, None, None),
])
def test_money_is_quantized_half_up_the_same_every_time(value, cents, unit):
    for _ in range(2):  # the second time from the cache
        written = row(value, unit=value)
        assert written["price"] == cents and written["unit_price"] == unit
        assert str(written["price"]) == str(cents)


def test_a_was_price_counts_only_above_the_price():
    assert row(3.0, was=3.0)["was_price"] is None
    assert row(3.0, was=3.5)["was_price"] == Decimal("3.50")
    assert row(3.0, was=2.5)["was_price"] is None
