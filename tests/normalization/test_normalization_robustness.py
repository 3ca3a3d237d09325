"""Bad input never raises anything but ProductRejected out of a cleaner, and nothing out of the
normalizer, unit price, hash or derive. Plain parametrized junk plus a seeded mutation fuzz."""

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest

from grocer.normalization import (
    CLEANERS,
    ProductNormalizer,
    ProductRejected,
    derive,
    price_hash,
    standardize_unit_price,
    validate_cleaned,
)

FIXTURES = Path(__file__).parent / "fixtures"

JUNK = [
    None, "", "   ", "\t\n", 0, -1, 1, 10**30, 1e308, float("nan"), float("inf"), -0.0, True, False,
    "abc", "12", "3.50", "$3.50", "x" * 10_000, "1" * 5_000, "\u00e9" * 300, "\U0001f4a5", "\x00\x01",
    [], {}, [None], {"a": {"b": []}}, ["a", 1, None, {"x": 1}], Decimal("1.5"), Decimal("NaN"),
    b"bytes", object(), "123456789012", "12345678", "12345678901234", "1-2-3kg", "5 x 6 x 7l",
    "0kg", "0 x 0ml", "approx. ", "." * 1000, "9" * 400 + "kg", "1 /" * 3000,
]


def raw_samples():
    aldi = json.loads((FIXTURES / "aldi_product_search.json").read_text())["data"]
    coles = json.loads((FIXTURES / "coles_browse_next_data.json").read_text())["pageProps"]["searchResults"]["results"]
    wow = [p for b in json.loads((FIXTURES / "woolworths_browse_category.json").read_text())["Bundles"]
           for p in b["Products"]]
    iga = json.loads((FIXTURES / "iga_search.json").read_text())["items"]
    return {"aldi": aldi, "coles": coles, "woolworths": wow, "iga": iga}


NORMALIZER = ProductNormalizer({"a": "b"}, {"x": "y"})


def check_clean(company, raw):
    try:
        cleaned = CLEANERS[company].clean(raw)
    except ProductRejected as exc:
        assert exc.reason and isinstance(exc.reason, str)
        return None
    assert isinstance(cleaned["sku"], str) and cleaned["sku"]
    assert isinstance(cleaned["name"], str) and 0 < len(cleaned["name"]) <= 255
    assert 0 < cleaned["price_current"] <= 100_000
    d = derive(cleaned, NORMALIZER)
    assert isinstance(d["normalized_name_brand_size"], str) and d["normalized_name_brand_size"]
    assert len(d["price_hash"]) == 32
    json.dumps(d, default=str)
    return d


@pytest.mark.parametrize("company", sorted(CLEANERS))
@pytest.mark.parametrize("junk", JUNK, ids=lambda j: repr(j)[:20])
def test_junk_as_the_whole_product(company, junk):
    check_clean(company, junk)


@pytest.mark.parametrize("company", sorted(CLEANERS))
@pytest.mark.parametrize("junk", JUNK, ids=lambda j: repr(j)[:20])
def test_junk_in_every_field(company, junk):
    for base in raw_samples()[company]:
        for key in base:
            check_clean(company, dict(base, **{key: junk}))
            # one level down too (price.amount, pricing.now, unitOfSize.size ...)
            if isinstance(base[key], dict):
                for sub in base[key]:
                    check_clean(company, dict(base, **{key: dict(base[key], **{sub: junk})}))


def mutate(rng, obj):
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            r = rng.random()
            if r < 0.12:
                out[key] = rng.choice(JUNK)
            elif r > 0.95:
                continue
            else:
                out[key] = mutate(rng, value)
        return out
    if isinstance(obj, list):
        return [mutate(rng, x) for x in obj]
    return obj if rng.random() > 0.1 else rng.choice(JUNK)


def test_seeded_mutation_fuzz():
    rng = random.Random(20260629)
    samples = raw_samples()
    outcomes = set()
    for _ in range(3000):
        company = rng.choice(sorted(samples))
        outcomes.add(check_clean(company, mutate(rng, rng.choice(samples[company]))) is None)
    assert outcomes == {True, False}  # both cleaned and rejected products were produced


@pytest.mark.parametrize("junk", JUNK, ids=lambda j: repr(j)[:20])
def test_validate_cleaned_on_junk(junk):
    base = {"sku": 1, "name": "Milk 2L", "price_current": 2.0, "brand": "B", "size": "2L",
            "barcode": "9300000000019", "per_unit_price_value": 1, "category_path": ["a"],
            "is_on_special": False}
    for key in list(base) + ["price_was", "per_unit_price_string", "url"]:
        try:
            v = validate_cleaned(dict(base, **{key: junk}))
        except ProductRejected:
            continue
        d = derive(v, NORMALIZER)
        assert isinstance(d["sku"], str)


@pytest.mark.parametrize("junk", JUNK, ids=lambda j: repr(j)[:20])
def test_normalizer_unit_price_and_hash_never_raise(junk):
    for key in ("name", "brand", "size"):
        out = NORMALIZER.normalize({key: junk})
        assert isinstance(out["normalized_name_brand_size"], str)
        assert isinstance(out["sizes"], list)
    for key in ("per_unit_price_value", "per_unit_price_string", "per_unit_price_measure"):
        value, unit = standardize_unit_price({key: junk, "per_unit_price_value": 1.0})
        assert value is None or isinstance(value, float)
    for key in ("price_current", "price_was", "unit_price", "is_on_special", "per_unit_price_string"):
        assert len(price_hash({key: junk})) == 32
    assert NORMALIZER.normalize({})["normalized_name_brand_size"] == "none"


def test_normalizer_never_raises_on_odd_mappings():
    class Odd(dict):
        def get(self, key, default=None):
            raise RuntimeError("boom")

    out = NORMALIZER.normalize(Odd())
    assert out["normalized_name_brand_size"] == "none"
