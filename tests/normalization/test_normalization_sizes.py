"""Size extraction (§1.8.3), standardization (§1.8.4), the §1.8.7 readings, parse/compare (§1.9)."""

import pytest

from grocer.normalization import (
    are_sizes_compatible,
    canonical_sizes,
    extract_raw_sizes,
    parse_size,
    standardize_sizes,
)
from grocer.normalization.sizes import are_sizes_different


@pytest.mark.parametrize("text, expected", [
    ("Milk 500g", {"500g"}),
    ("6 x 375ml", {"375ml", "6pk"}),
    ("Beer 375ml x 24", {"24pk", "375ml"}),
    ("100-200g product", {"100g", "200g"}),
    ("2L", {"2l"}),
    ("Chicken 1.5kg", {"1.5kg"}),
    ("Chicken Breast Value Pack", {"pk"}),
    ("Pork Steak Per Kg", {"kg"}),
    ("approx. 1.8 kg per package", {"1.8kg"}),
    ("Plain Bread", set()),
    ("", set()),
    # §1.8.7 readings confirmed by the golden file
    ("12x375ml", {"12pk", "375ml"}),  # spaces around x optional
    ("17-30 Kg", {"17kg", "30kg"}),  # separator inside the range
    ("1.75/l", {"1.75l"}),  # "/" separator
    ("Lemon Each", {"ea"}),  # standalone unit word
    ("Vitamin G tablets", set()),  # bare "g"/"l" words are not sizes
    ("packet of eachother", set()),  # unit words need boundaries on both sides
    # §1.8.7 readings grocer fixes
    ("125g x 2 pack", {"125g", "2pk", "pk"}),  # pattern c takes "125g x 2", leaves "pack"
    ("100 - 200 g", {"100g", "200g"}),  # spaces around the range "-"
    ("2 kilograms", {"2kg"}),  # longest unit alternative first
    ("500 grams", {"500g"}),
    ("3 litres", {"3l"}),
    ("1,250g", {"1250g"}),  # commas removed
    ("around 5kg", {"5kg"}),
    ("about 2 l", {"2l"}),
    ("2 packs", {"2pk"}),
])
def test_extract_raw_sizes(text, expected):
    assert extract_raw_sizes(text) == expected


@pytest.mark.parametrize("value", [None, 5, 1.5, ["500g"], {"size": "1kg"}])
def test_extract_raw_sizes_non_strings(value):
    assert extract_raw_sizes(value) == set()


@pytest.mark.parametrize("raw, expected", [
    (["1kg"], ["1000g"]),
    (["1l"], ["1000ml"]),
    (["1each"], ["ea"]),
    (["1ea"], ["ea"]),
    (["1 each"], ["ea"]),
    (["4each"], ["4ea"]),
    (["10pk", "6l", "600ml"], ["10pk", "6000ml", "600ml"]),
    (["0.5kg", "500g"], ["500g"]),  # collapse on the canonical tuple
    (["37.5g", "37.6g"], ["37.5g", "37.6g"]),
    (["1.001kg"], ["1000.9999999999999g"]),  # float artefact reproduced on purpose
    (["0.11kg", "1.1kg", "1.85kg", "0.46kg", "1.498kg"], ["1100g", "110g", "1498g", "1850g", "460g"]),
    (["pk", "kg", "ea"], ["ea", "kg", "pk"]),  # unparsable kept verbatim
    (["200g", "1000g", "4pk"], ["1000g", "200g", "4pk"]),  # lexicographic order
    ([], []),
    ([None, 5], []),
])
def test_standardize_sizes(raw, expected):
    assert standardize_sizes(raw) == expected


@pytest.mark.parametrize("s, expected", [
    ("500g", (500.0, "g")),
    ("1kg", (1000.0, "g")),
    ("1.5l", (1500.0, "ml")),
    ("6pk", (6.0, "pk")),
    ("1ea", (1.0, "ea")),
    ("500oz", None),
    ("500", None),
    ("", None),
    ("abc", None),
    ("500 g", None),  # no spaces allowed
    ("500G", None),  # lower-case only
    (None, None),
    (500, None),
])
def test_parse_size(s, expected):
    assert parse_size(s) == expected


def test_parse_size_float_value():
    value, unit = parse_size("0.11kg")
    assert unit == "g" and value == pytest.approx(110.0)


def test_canonical_sizes():
    assert canonical_sizes(["2000ml", "pk", "6pk"]) == {(2000.0, "ml"), (6.0, "pk")}
    assert canonical_sizes([]) == set()
    assert canonical_sizes(None) == set()


@pytest.mark.parametrize("a, b, expected", [
    (["500g"], ["500g"], True),
    (["490g"], ["500g"], True),
    (["100g"], ["500g"], False),
    (["500g"], ["500ml"], False),
    (["6pk"], ["6pk"], True),
    (["6pk"], ["12pk"], False),
    ([], ["500g"], False),
    (["500g"], [], False),
    (["pk"], ["pk"], False),  # nothing parsable
    ({(500.0, "g")}, {(450.0, "g")}, True),  # tuples accepted; |500-450| <= 50
    ({(450.0, "g")}, {(500.0, "g")}, False),  # asymmetric: tolerance relative to the first
])
def test_are_sizes_compatible(a, b, expected):
    assert are_sizes_compatible(a, b) is expected


def test_are_sizes_different():
    assert are_sizes_different(["500g"], ["1kg"]) is True
    assert are_sizes_different(["500g"], ["0.5kg"]) is False
    assert are_sizes_different(["500g"], ["500g"]) is False
    assert are_sizes_different([], ["500g"]) is False
