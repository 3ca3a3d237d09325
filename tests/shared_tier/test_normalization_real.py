"""Real-data tier: the golden Aldi archive (2,552 rows as SplitCart cleaned them) is reproduced
byte for byte by grocer's normalizer, unit price and price hash (key format v1)."""

import json

import pytest

from grocer.normalization import ProductNormalizer, derive, validate_cleaned

GOLDEN = "corpus/aldi-g102-2026-06-29.golden.jsonl"
# what the scraper had before SplitCart derived anything
INPUT_FIELDS = ("sku", "name", "brand", "size", "price_current", "price_was", "per_unit_price_value",
                "per_unit_price_string", "per_unit_price_measure", "is_on_special")
DERIVED = ("sizes", "normalized_brand", "normalized_name_brand_size", "unit_price", "unit_of_measure",
           "price_hash")


@pytest.fixture(scope="module")
def golden_rows(shared_dir):
    path = shared_dir / GOLDEN
    rows = [json.loads(line)["product"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 2552
    return rows


def mismatches(rows, make_input):
    normalizer = ProductNormalizer({}, {})
    bad = []
    for row in rows:
        derived = derive(validate_cleaned(make_input(row)), normalizer)
        for field in DERIVED:
            got, want = derived.get(field), row.get(field)  # absent in the archive == None here
            if got != want or type(got) is not type(want):
                bad.append(f"{row['sku']} {row['name']!r} brand={row.get('brand')!r} "
                           f"size={row.get('size')!r}: {field} = {got!r}, golden {want!r}")
    return bad


def test_golden_rows_reproduced_from_raw_fields(golden_rows):
    bad = mismatches(golden_rows, lambda row: {k: row[k] for k in INPUT_FIELDS if k in row})
    matched = len(golden_rows) - len({line.split(" ", 1)[0] for line in bad})
    assert not bad, f"{matched}/{len(golden_rows)} rows reproduced; first mismatches:\n" + "\n".join(bad[:20])


def test_golden_rows_reproduced_from_whole_archive_lines(golden_rows):
    # validate_cleaned drops the archive's derived fields; derive recomputes the same values
    bad = mismatches(golden_rows, dict)
    assert not bad, "first mismatches:\n" + "\n".join(bad[:20])


def test_golden_shape_facts(golden_rows):
    normalizer = ProductNormalizer({}, {})
    derived = [derive(validate_cleaned(row), normalizer) for row in golden_rows]
    assert all(isinstance(d["sku"], str) and len(d["sku"]) == 18 for d in derived)
    assert sum(d["normalized_brand"] is None for d in derived) == 2552 - 2399
    assert len({d["normalized_name_brand_size"] for d in derived}) == 2552
    assert len({d["price_hash"] for d in derived}) == 1339
    units = {}
    for d in derived:
        units[d["unit_of_measure"]] = units.get(d["unit_of_measure"], 0) + 1
    assert units == {"1kg": 2034, "1l": 299, "1.0each": 168, "100.0each": 12, None: 39}
