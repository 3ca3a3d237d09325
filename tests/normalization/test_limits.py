"""The cleaner's limits come from grocer.normalization.limits (what the columns hold)."""

import datetime as dt
import math
from decimal import Decimal

import pytest

from grocer.normalization import ProductRejected, validate_cleaned
from grocer.normalization.cleaners.validation import (
    NULLED_FIELDS, fits_unit_money, validate_observed_at, validate_store_code,
)
from grocer.normalization.limits import MAX_UNIT_MONEY, URL_LENGTH, numeric_max


def product(**fields):
    return {"sku": "1", "name": "Milk 2L", "price_current": 3.0, **fields}


def test_a_url_longer_than_its_column_is_nulled_and_listed():
    cleaned = validate_cleaned(product(url="https://x.test/" + "a" * URL_LENGTH,
                                       image_url="https://x.test/ok.jpg"))
    assert cleaned["url"] is None and cleaned["image_url"] == "https://x.test/ok.jpg"
    assert cleaned[NULLED_FIELDS] == ["url"]


def test_an_absurd_unit_price_is_nulled_and_listed():
    cleaned = validate_cleaned(product(per_unit_price_value=1e12))
    assert cleaned["per_unit_price_value"] is None
    assert cleaned[NULLED_FIELDS] == ["per_unit_price_value"]
    assert numeric_max(12, 4) == MAX_UNIT_MONEY


def test_a_store_code_longer_than_its_column_is_rejected():
    assert validate_store_code("G102") == "G102"
    with pytest.raises(ProductRejected) as rejected:
        validate_store_code("X" * 60)
    assert rejected.value.reason == "bad_store_code"


def test_an_observation_beyond_the_clock_skew_is_rejected():
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    validate_observed_at(now + dt.timedelta(hours=23), now)
    with pytest.raises(ProductRejected) as rejected:
        validate_observed_at(dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc), now)
    assert rejected.value.reason == "future_date"


def test_a_unit_price_fits_exactly_when_the_column_holds_it():
    largest = float(MAX_UNIT_MONEY)  # 99999999.9999 as the nearest float, just below the bound
    assert Decimal(largest) <= MAX_UNIT_MONEY
    beyond = math.nextafter(largest, math.inf)
    for value, fits in [(largest, True), (-largest, True), (beyond, False), (-beyond, False),
                        (math.inf, False), (0.0, True), (12, True), (None, True),
                        (MAX_UNIT_MONEY, True), (MAX_UNIT_MONEY + Decimal("0.0001"), False),
                        (10 ** 8, False)]:
        assert fits_unit_money(value) is fits, value
