"""Real-data tier: each chain's cleaner on the captured raw responses in shared/samples.

Many products are cleaned; every rejection has an explained reason that the raw item shows
(ad tiles, Coles items without pricing, Woolworths items without a price); SKUs are strings.
"""

import json
import re
from collections import Counter

import pytest

from grocer.normalization import (ProductNormalizer, ProductRejected, clean_barcode, derive,
                                  get_cleaner)
from grocer.normalization.prices import (standardize_unit_price, unit_price_measure,
                                         unit_price_value)
from grocer.normalization.unit_price import expected_unit_price, unit_price_agrees

NORMALIZER = ProductNormalizer({}, {})
NEXT_DATA = re.compile(r'<script id="__NEXT_DATA__"[^>]*>(.*?)</script>', re.S)


def load_json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def run(company, raws, category_path=None):
    """(derived products, Counter of rejection reasons, [(raw, reason)]); `category_path` is
    the crawled category's, as the spider puts it on the item."""
    cleaner = get_cleaner(company)
    out, reasons, rejected = [], Counter(), []
    for raw in raws:
        try:
            out.append(derive(cleaner.clean(raw, category_path), NORMALIZER))
        except ProductRejected as exc:
            reasons[exc.reason] += 1
            rejected.append((raw, exc.reason))
    for product in out:
        assert isinstance(product["sku"], str) and product["sku"], product
        assert product["normalized_name_brand_size"], product
        assert len(product["price_hash"]) == 32
    return out, reasons, rejected


# -- Aldi ---------------------------------------------------------------------------------------

def test_aldi_v3_product_search(shared_dir):
    (path,) = sorted((shared_dir / "samples/aldi").glob("product_search_v3*.json"))
    raws = load_json(path)["data"]
    products, reasons, _ = run("aldi", raws)
    assert len(products) == len(raws) == 30 and not reasons
    for p in products:
        assert re.fullmatch(r"\d{18}", p["sku"])
        assert type(p["price_current"]) is float
        assert p["is_available"] is None  # notForSale says nothing about the shelf (issue 15)
        assert p["url"].startswith("https://www.aldi.com.au/product/") and p["url"].endswith(p["sku"])
        assert p["category_path"] == ["Fruits & Vegetables", "Fresh Fruits"]
        assert "{width}" not in (p["aldi_image_url"] or "")
    assert sum(p["unit_price"] is not None for p in products) == 30


# -- Coles --------------------------------------------------------------------------------------

def coles_results(path):
    if path.suffix == ".html":
        match = NEXT_DATA.search(path.read_text(encoding="utf-8"))
        if match is None:
            return None
        data = json.loads(match.group(1)).get("props", {}).get("pageProps", {})
    else:
        data = load_json(path)
        data = data.get("pageProps", data)
    results = (data.get("searchResults") or data).get("results") if isinstance(data, dict) else None
    return results


def coles_sources(shared_dir):
    samples = shared_dir / "samples"
    paths = sorted((samples / "coles").glob("next_data_browse_*.json"))
    paths += sorted((samples / "coles").glob("*.html"))
    paths += sorted(samples.glob("multi-chain_*/coles.json"))
    sources = {p.name: coles_results(p) for p in paths}
    return {name: results for name, results in sources.items() if results}


def test_coles_browse_json_and_next_data_in_html(shared_dir):
    sources = coles_sources(shared_dir)
    assert len(sources) >= 9, sorted(sources)
    assert any(name.endswith(".html") for name in sources)
    total = Counter()
    for name, raws in sources.items():
        products, reasons, rejected = run("coles", raws)
        total["cleaned"] += len(products)
        total.update(reasons)
        for raw, reason in rejected:
            if reason == "not_a_product":
                assert raw.get("_type") != "PRODUCT", (name, raw.get("id"))
            else:
                assert reason == "no_price" and raw.get("pricing") is None, (name, reason, raw.get("id"))
        for p in products:
            assert p["sku"].isdigit()
            assert p["url"] == f"https://www.coles.com.au/product/{p['url'].rsplit('/', 1)[1]}"
            assert p["url"].endswith("-" + p["sku"])
            assert p["category_path"] and len(p["category_path"]) == 3
            if p["price_was"] is not None:
                assert p["price_was"] > 0
    assert total["cleaned"] >= 400, total
    assert set(total) <= {"cleaned", "not_a_product", "no_price"}, total


def test_coles_ad_tiles_are_dropped(shared_dir):
    raws = coles_results(next((shared_dir / "samples/coles").glob("next_data_browse_pantry-0__*.json")))
    _, reasons, rejected = run("coles", raws)
    assert reasons["not_a_product"] >= 1
    assert {raw["_type"] for raw, _ in rejected} == {"SINGLE_TILE"}


# -- Woolworths ---------------------------------------------------------------------------------

def woolworths_sources(shared_dir):
    samples = shared_dir / "samples"
    paths = sorted((samples / "woolworths").glob("browse_category_*.json"))
    paths += sorted((samples / "woolworths").glob("search_products_*.json"))
    paths += sorted(samples.glob("multi-chain_*/woolworths.json"))
    sources = {}
    for path in paths:
        data = load_json(path)
        bundles = data.get("Bundles") or data.get("Products") or []
        sources[path.name] = [p for bundle in bundles for p in (bundle.get("Products") or [])]
    return sources


def test_woolworths_browse_bundles_incl_older_formats(shared_dir):
    sources = woolworths_sources(shared_dir)
    assert any("2023" in name for name in sources) and any("2024" in name for name in sources)
    total = Counter()
    for name, raws in sources.items():
        products, reasons, rejected = run("woolworths", raws,
                                          category_path=["Stamped Dept", "Stamped Leaf"])
        total["cleaned"] += len(products)
        total.update(reasons)
        for raw, reason in rejected:
            if reason == "marketplace":  # a marketplace seller's product, not the store's
                assert raw.get("IsMarketProduct") is True, (name, raw.get("Stockcode"))
                continue
            assert reason == "no_price" and raw.get("Price") is None, (name, reason, raw.get("Stockcode"))
        for p in products:
            assert p["sku"].isdigit()
            assert p["category_path"] == ["Stamped Dept", "Stamped Leaf"]
            assert p["url"].startswith(f"https://www.woolworths.com.au/shop/productdetails/{p['sku']}/")
            assert p["barcode"] is None or re.fullmatch(r"\d{8}|\d{13}", p["barcode"])  # EAN-8 kept
            assert p.get("invalid_barcode") is None or p["barcode"] is None
            if p["unit_price"] is not None:
                assert p["unit_of_measure"] in ("1kg", "1l") or p["unit_of_measure"].endswith("each")
    assert total["cleaned"] >= 210 and total["marketplace"] >= 20, total  # 24 marketplace tiles
    assert set(total) <= {"cleaned", "no_price", "marketplace"}, total


# -- IGA ----------------------------------------------------------------------------------------

def iga_sources(shared_dir):
    samples = shared_dir / "samples"
    paths = sorted((samples / "iga").glob("*search*.json")) + sorted(samples.glob("multi-chain_*/iga.json"))
    return {path.name: load_json(path)["items"] for path in paths}


def test_iga_search_items(shared_dir):
    sources = iga_sources(shared_dir)
    assert len(sources) == 3
    total = Counter()
    for name, raws in sources.items():
        products, reasons, _ = run("iga", raws)
        assert not reasons, (name, reasons)
        total["cleaned"] += len(products)
        for raw, p in zip(raws, products, strict=False):
            assert p["sku"] == str(raw["productId"])
            assert p["sizes"], (p["name"], p["size"])
            if p.get("invalid_barcode"):  # produce PLUs like "60092", an 11-digit code
                tokens = [t.strip() for t in p["invalid_barcode"].split(",")]
                assert not any(re.fullmatch(r"\d{12,13}", t) for t in tokens), p["invalid_barcode"]
            assert p["unit_price"] is not None, (p["name"], raw.get("unitOfMeasure"), raw.get("unitOfSize"))
    assert total["cleaned"] == 99


def test_iga_unit_price_agrees_with_igas_own_string(shared_dir):
    """IGA's pricePerUnit ("$3.52/100g", "$5.99/kg", "$0.21 each") vs the computed unit price."""
    checked = 0
    for raws in iga_sources(shared_dir).values():
        for raw in raws:
            p = derive(get_cleaner("iga").clean(raw), NORMALIZER)
            text = p["per_unit_price_string"]
            if not text:
                continue
            shown = unit_price_value({"per_unit_price_string": text})
            measure = unit_price_measure({"per_unit_price_string": text})
            if measure is None:  # "$5.99/kg": a price per 1 unit
                unit = "1kg" if text.endswith("/kg") else "1l" if text.endswith("/l") else (
                    "1.0each" if text.endswith(" each") else None)
                assert p["unit_of_measure"] == unit, (p["name"], text)
                assert p["unit_price"] == pytest.approx(shown, abs=0.011), (p["name"], text)
            else:
                kind, qty = measure
                factor = {"g": 1000 / qty, "ml": 1000 / qty, "kg": 1 / qty, "l": 1 / qty, "each": 1}[kind]
                # IGA rounds the per-100g price to cents; allow that rounding times the factor
                assert p["unit_price"] == pytest.approx(shown * factor, abs=0.006 * factor + 0.01), (p["name"], text)
            checked += 1
    assert checked >= 60


# -- Issue 15's rules over every chain's real samples ---------------------------------------------

def all_sources(shared_dir):
    aldi = {p.name: load_json(p)["data"]
            for p in sorted((shared_dir / "samples/aldi").glob("product_search_v3*.json"))}
    return {"aldi": aldi, "coles": coles_sources(shared_dir),
            "woolworths": woolworths_sources(shared_dir), "iga": iga_sources(shared_dir)}


def cleaned_with_raw(company, raws):
    cleaner = get_cleaner(company)
    for raw in raws:
        try:
            yield raw, cleaner.clean(raw)
        except ProductRejected:
            continue


def gs1_check_digit_ok(code: str) -> bool:
    """The GS1 rule, written out independently of grocer.normalization.barcode."""
    *body, check = (int(digit) for digit in code)
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def test_unit_prices_agree_with_price_and_size_on_the_real_samples(shared_dir):
    """Measured on the samples: Aldi 30/30, Coles 422/422 (3 recomputed from Coles' own unit
    price), Woolworths 164/164, IGA 99/99 of the items whose price, size and unit price are
    all known (issue 15 asks for >= 99 %)."""
    for company, sources in all_sources(shared_dir).items():
        known = agreeing = 0
        for raws in sources.values():
            for _, product in cleaned_with_raw(company, raws):
                agrees = unit_price_agrees(product)
                if agrees is not None:
                    known += 1
                    agreeing += agrees
        assert known >= 30, company
        assert agreeing / known >= 0.99, (company, agreeing, known)


def test_no_woolworths_unit_price_comes_from_the_was_price(shared_dir):
    checked = 0
    for raws in woolworths_sources(shared_dir).values():
        for _, product in cleaned_with_raw("woolworths", raws):
            value, label = standardize_unit_price(product)
            if not product.get("price_was") or value is None:
                continue
            from_was = expected_unit_price(product["price_was"], product.get("size"), label)
            from_now = expected_unit_price(product["price_current"], product.get("size"), label)
            if from_was is None or from_now is None or abs(from_was - from_now) <= 0.06:
                continue
            checked += 1  # a real special: the unit price is the current price's
            assert abs(value - from_now) < abs(value - from_was), product["name"]
    assert checked >= 1


def test_barcodes_keep_only_valid_gs1_codes_on_the_real_samples(shared_dir):
    seen = Counter()
    for company in ("woolworths", "iga"):
        for raws in all_sources(shared_dir)[company].values():
            for raw, product in cleaned_with_raw(company, raws):
                tokens = [t.strip() for t in str(raw.get("Barcode") or raw.get("barcode") or "")
                          .split(",")]
                codes = [t for t in tokens if re.fullmatch(r"\d{8}|\d{12,14}", t)]
                if len(codes) != 1:
                    continue
                code, = codes
                seen[len(code)] += 1
                if not gs1_check_digit_ok(code):
                    seen["wrong_check_digit"] += 1
                    assert product["barcode"] is None, code
                elif len(code) == 8:
                    assert product["barcode"] == code  # EAN-8 kept as 8 digits
                elif not code.startswith("2") and not code.startswith("02"):
                    assert product["barcode"] and product["barcode"].lstrip("0") == code.lstrip("0")
                    # The samples hold no wrong check digit (measured): make one of each code.
                    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
                    assert clean_barcode(wrong) is None, wrong
    assert seen[8] >= 1 and seen[13] >= 100, seen  # measured: 2 EAN-8, 255 EAN-13, 1 UPC-A


def test_iga_pieces_of_estimated_weight_keep_their_piece_price(shared_dir):
    """The one price rule (cleaners package): a piece sold with an estimated weight ("EachUnit")
    is priced per piece, its unit price per kg is IGA's wholePrice; nothing on the samples is
    sold by weight, and no Aldi item is."""
    pieces = 0
    for raws in iga_sources(shared_dir).values():
        for raw, product in cleaned_with_raw("iga", raws):
            assert not product["sold_by_weight"]
            if raw.get("sellBy") == "EachUnit":
                pieces += 1
                assert product["price_current"] == pytest.approx(raw["priceNumeric"])
                assert standardize_unit_price(product) == (pytest.approx(raw["wholePrice"]), "1kg")
    assert pieces == 35
    for raws in all_sources(shared_dir)["aldi"].values():
        assert not any(p["sold_by_weight"] for _, p in cleaned_with_raw("aldi", raws))
