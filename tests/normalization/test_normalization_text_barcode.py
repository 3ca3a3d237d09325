"""Bag of words (§1.8.1) and barcode cleaning (§1.8.6), incl. the §5.1 checklist items."""

import pytest

from grocer.normalization import clean_barcode, clean_value
from grocer.normalization.barcode import barcode_problem, check_digit_ok, judge_barcode
from grocer.normalization.text import search_words, slugify


@pytest.mark.parametrize("text, expected", [
    ("Hello, World!", "hello world"),
    ("Banana Apple", "apple banana"),
    ("Apple apple", "apple"),
    ("café", "cafe"),
    ("Coca-Cola", "cocacola"),
    ("4.8g", "48g"),
    ("READY, SET\u2026COOK!", "ready setcook"),
    ("Bird's", "birds"),
    ("b 10 a 2", "10 2 a b"),  # plain string order: digits before letters, "10" < "2"
    ("  spaced\tout\nwords  ", "out spaced words"),
    ("", ""),
    ("!!!", ""),
    ("\u9999\u8549", ""),  # non-ASCII only -> nothing left
])
def test_clean_value(text, expected):
    assert clean_value(text) == expected


@pytest.mark.parametrize("value", [None, 123, 1.5, ["a"], {"a": 1}, b"bytes"])
def test_clean_value_non_strings_give_empty(value):
    assert clean_value(value) == ""


@pytest.mark.parametrize("name, slug", [
    ("Graze Lamb Extra Trim Cutlets", "graze-lamb-extra-trim-cutlets"),
    ("Full Cream Milk", "full-cream-milk"),
    ("M&M's  Minis -- 200g", "mms-minis-200g"),
    ("Crème brûlée", "creme-brulee"),
])
def test_slugify_like_django(name, slug):
    assert slugify(name) == slug


@pytest.mark.parametrize("raw, expected", [
    ("9300633007713", "9300633007713"),
    (" 9300633007713 ", "9300633007713"),
    (9300633007713, "9300633007713"),
    ("123456789012", "0123456789012"),  # UPC-A padded
    ("0265178000003", None),  # Woolworths in-store variable-measure code: store-internal
    ("2012345678903", None),  # 2x restricted circulation (variable weight)
    ("123456789012,9300633007713", "9300633007713"),  # a 13-digit token wins over an earlier 12
    ("123456789012,1234567890123", "0123456789012"),  # ... unless its check digit is wrong
    ("9300633007714", None),  # wrong check digit
    ("96385074", "96385074"),  # EAN-8 kept as 8 digits
    ("25428407", "25428407"),  # a real Woolworths EAN-8
    ("10012345678902", "10012345678902"),  # GTIN-14
    ("abc, 123456789012", "0123456789012"),
    ("7500464254412, 07500464254412", "7500464254412"),
    ("notfound", None),
    ("NULL", None),
    ("null", None),
    ("", None),
    (None, None),
    (0, None),
    ("12345", None),
    ("12345678", None),  # 8 digits, wrong check digit
    ("12345678901", None),  # 11 digits
    ("12345678901234", None),  # 14 digits, wrong check digit
    ("930063300771X", None),
    ("ABCD1234", None),
    ("\uff19\uff13\uff10\uff10\uff16\uff13\uff13\uff10\uff10\uff17\uff17\uff11\uff13", None),  # full-width digits
    (["9300633007713"], None),
    ({"gtin": "9300633007713"}, None),
    (True, None),
    ("1" * 5000, None),
])
def test_clean_barcode(raw, expected):
    assert clean_barcode(raw) == expected


@pytest.mark.parametrize("texts, words", [
    (("Arnott's Tim-Tam Chocolate 200g", "Arnott’s"), "arnotts tim tam chocolate 200g arnotts"),
    (("Crème  Brûlée",), "creme brulee"),
    (("Milk", None), "milk"),
    (("  ", "!!"), ""),
])
def test_search_words_keep_word_order_and_split_on_punctuation(texts, words):
    assert search_words(*texts) == words


@pytest.mark.parametrize("raw, problem", [
    ("9300633007714", "check_digit"), ("60017", "length"), ("93006330077AB", "not_digits"),
    ("0265178000003", "store_internal"), (["x"], "not_digits"), ("null", None), (None, None),
    ("9300633007713", None), ("", None), ("12345678", "check_digit"), ("1" * 5000, "not_digits"),
    ("\uff19\uff13\uff10\uff10\uff16\uff13\uff13\uff10\uff10\uff17\uff17\uff11\uff13", "not_digits"),
])
def test_barcode_problem_names_why(raw, problem):
    assert barcode_problem(raw) == problem


def test_check_digit_agrees_with_the_gs1_rule_for_every_length():
    def gs1(digits):  # weights 3, 1, 3, ... from the rightmost body digit, written plainly
        body = digits[:-1][::-1]
        total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
        return (10 - total % 10) % 10 == int(digits[-1])

    for length in (8, 12, 13, 14):
        for number in range(0, 10 ** length, 10 ** length // 997 + 7):
            digits = str(number).zfill(length)
            assert check_digit_ok(digits) == gs1(digits), digits


@pytest.mark.parametrize("raw", [
    "9300633007713", "930063300771", "9300633007714", "60017", "93006330077AB", "0265178000003",
    "x, 9300633007713", ["x"], {"gtin": 1}, "null", "", None, 0, True, "1" * 5000,
])
def test_judge_barcode_gives_the_barcode_and_the_problem_at_once(raw):
    assert judge_barcode(raw) == (clean_barcode(raw), barcode_problem(raw))
