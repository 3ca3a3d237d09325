"""Unit price (§1.10), price info (§1.7) and price hash (§1.11), incl. hash parts the golden
file never exercises (price_was set, is_on_special true, int vs float, Decimal)."""

import hashlib
import json
import random
from decimal import Decimal

import pytest

from grocer.normalization import calculate_price_info, price_hash, standardize_unit_price
from grocer.normalization.prices import HASH_FIELDS, unit_price_measure, unit_price_value


def reference_hash(d):
    """The definition (§1.11): MD5 of json.dumps(sort_keys=True) over the six fields."""
    data = {k: (str(d.get(k)) if isinstance(d.get(k), Decimal) else d.get(k)) for k in HASH_FIELDS}
    return hashlib.md5(json.dumps(data, sort_keys=True).encode()).hexdigest()


# -- unit price value / measure ----------------------------------------------------------------

@pytest.mark.parametrize("product, expected", [
    ({"per_unit_price_value": 1.50}, 1.5),
    ({"per_unit_price_value": 2}, 2.0),
    ({"per_unit_price_string": "$1.68 per 100g"}, 1.68),
    ({"per_unit_price_value": 1.5, "per_unit_price_string": "$9.99 per 1kg"}, 1.5),  # value wins
    ({"per_unit_price_value": "junk", "per_unit_price_string": "$9.99 per 1kg"}, 9.99),
    ({}, None),
    ({"per_unit_price_string": ""}, None),
    ({"per_unit_price_string": "per kg"}, None),
])
def test_unit_price_value(product, expected):
    assert unit_price_value(product) == expected


@pytest.mark.parametrize("product, expected", [
    ({"per_unit_price_measure": "100g"}, ("g", 100.0)),
    ({"per_unit_price_measure": "1kg"}, ("kg", 1.0)),
    ({"per_unit_price_measure": "1l"}, ("l", 1.0)),
    ({"per_unit_price_string": "$1.68 per 100g"}, ("g", 100.0)),
    ({"per_unit_price_string": "$3.35 per 1l"}, ("l", 1.0)),  # price stripped first
    ({"per_unit_price_measure": "100g", "per_unit_price_string": "$1 per 1kg"}, ("g", 100.0)),
    ({"per_unit_price_measure": "1ea"}, ("each", 1.0)),
    ({"per_unit_price_measure": "1EA"}, ("each", 1.0)),
    ({"per_unit_price_measure": "g", "per_unit_price_string": "$40.00 per 1kg"}, ("kg", 1.0)),
    ({"per_unit_price_string": "$3.35/l"}, None),
    ({"per_unit_price_string": "$1.00 per 100 sheets"}, None),
    ({"per_unit_price_string": "$2.00 per 1 m"}, None),
    ({"per_unit_price_string": "$5.00 per 100 PAC"}, None),
    ({"per_unit_price_string": "$1 per 1 gallon"}, ("g", 1.0)),  # quirk: no word boundary
    ({}, None),
])
def test_unit_price_measure(product, expected):
    assert unit_price_measure(product) == expected


@pytest.mark.parametrize("product, expected", [
    ({"per_unit_price_value": 1.50, "per_unit_price_measure": "100g"}, (15.0, "1kg")),
    ({"per_unit_price_value": 0.50, "per_unit_price_measure": "100ml"}, (5.0, "1l")),
    ({"per_unit_price_value": 8, "per_unit_price_measure": "1kg"}, (8.0, "1kg")),
    ({"per_unit_price_value": 2.5, "per_unit_price_measure": "1l"}, (2.5, "1l")),
    ({"per_unit_price_string": "$40.00 per 1kg"}, (40.0, "1kg")),
    ({"per_unit_price_value": 0.14, "per_unit_price_measure": "1EA"}, (0.14, "1.0each")),
    ({"per_unit_price_value": 3.5, "per_unit_price_string": "$3.50 per 100 each"}, (3.5, "100.0each")),
    ({"per_unit_price_value": 1.68, "per_unit_price_string": "$1.68 per 100 g"}, (16.8, "1kg")),
    ({"per_unit_price_value": 3.0, "per_unit_price_measure": "500g"}, (6.0, "1kg")),
    ({"per_unit_price_value": 0.0, "per_unit_price_measure": "100g"}, (None, None)),
    ({"per_unit_price_value": 1.0, "per_unit_price_measure": "0g"}, (None, None)),  # qty 0
    ({"per_unit_price_value": 1.0, "per_unit_price_measure": "0 each"}, (None, None)),
    ({"per_unit_price_value": 1.5}, (None, None)),
    ({"per_unit_price_measure": "100g"}, (None, None)),
    ({}, (None, None)),
    ({"per_unit_price_value": float("nan"), "per_unit_price_measure": "100g"}, (None, None)),
])
def test_standardize_unit_price(product, expected):
    assert standardize_unit_price(product) == expected


# -- price info --------------------------------------------------------------------------------

@pytest.mark.parametrize("current, was, special, save", [
    (2.00, 3.00, True, 1.00),
    (3.00, None, False, None),
    (3.00, 3.00, False, None),
    (None, None, False, None),
    (1.99, 3.00, True, 1.01),
    (12, 14.1, True, 2.1),
    (4.0, 3.0, False, None),
])
def test_calculate_price_info(current, was, special, save):
    info = calculate_price_info(current, was)
    assert info == {"price_current": current, "price_was": was,
                    "is_on_special": special, "price_save_amount": save}


# -- price hash --------------------------------------------------------------------------------

FIRST_ALDI_ROW = {"is_on_special": False, "per_unit_price_string": "$16.00 per 1 kg",
                  "price_current": 8.0, "price_was": None, "unit_of_measure": "1kg", "unit_price": 16.0}


def test_hash_vectors_of_the_spec():
    assert price_hash(FIRST_ALDI_ROW) == "9396bc3115e51e314d9bcb520845fc1e"
    assert price_hash(dict(FIRST_ALDI_ROW, price_current=8)) == "f74da7505f179ec9456326777b9beeeb"


def test_hash_ignores_extra_keys_and_missing_is_null():
    assert price_hash(dict(FIRST_ALDI_ROW, name="x", sku="1")) == price_hash(FIRST_ALDI_ROW)
    without_was = {k: v for k, v in FIRST_ALDI_ROW.items() if k != "price_was"}
    assert price_hash(without_was) == price_hash(FIRST_ALDI_ROW)


def test_hash_is_32_lower_hex_and_deterministic():
    h = price_hash({})
    assert len(h) == 32 and h == h.lower() and int(h, 16) >= 0
    assert h == price_hash({}) == reference_hash({})


@pytest.mark.parametrize("change", [
    {"price_current": 8.5},
    {"price_was": 9.0},  # price_was set (never in the golden file)
    {"is_on_special": True},  # on special (never in the golden file)
    {"per_unit_price_string": "$16.00 per 1kg"},
    {"unit_price": 16},  # int vs float
    {"unit_of_measure": "1.0each"},
])
def test_hash_changes_with_each_field(change):
    changed = dict(FIRST_ALDI_ROW, **change)
    assert price_hash(changed) != price_hash(FIRST_ALDI_ROW)
    assert price_hash(changed) == reference_hash(changed)


def test_hash_of_a_special_with_was_price():
    coles = {"price_current": 12, "price_was": 14.1, "is_on_special": True, "unit_price": 40.0,
             "unit_of_measure": "1kg", "per_unit_price_string": "$40.00 per 1kg"}
    expected = hashlib.md5(
        b'{"is_on_special": true, "per_unit_price_string": "$40.00 per 1kg", "price_current": 12, '
        b'"price_was": 14.1, "unit_of_measure": "1kg", "unit_price": 40.0}').hexdigest()
    assert price_hash(coles) == expected
    assert price_hash(dict(coles, price_current=12.0)) != expected  # int vs float


def test_hash_accepts_decimal_as_str():
    d = dict(FIRST_ALDI_ROW, price_current=Decimal("8.00"))
    assert price_hash(d) == price_hash(dict(FIRST_ALDI_ROW, price_current="8.00"))
    assert price_hash(d) == reference_hash(d)
    assert price_hash(d) != price_hash(FIRST_ALDI_ROW)


def test_hash_fast_path_equals_json_dumps_on_many_values():
    rng = random.Random(3)
    pool = [None, True, False, 0, 1, 12, -3, 10**20, 0.0, -0.0, 8.0, 0.1 + 0.2, 1e-7, 1e300,
            float("nan"), float("inf"), float("-inf"), "", "1kg", "$1.00 per 100g", "caf\u00e9 \u2603 \"q\" \\",
            "\n\t\x00", Decimal("1.10"), Decimal("NaN"), [1, 2], {"a": 1}, 10**5000]
    for _ in range(3000):
        d = {k: rng.choice(pool) for k in HASH_FIELDS if rng.random() < 0.9}
        try:
            expected = reference_hash(d)
        except ValueError:  # int too long for json.dumps: price_hash must still not raise
            assert len(price_hash(d)) == 32
            continue
        assert price_hash(d) == expected, d
