"""Per-chain cleaners (§1.7, §4), the §4.5 worked examples, rejections, validate_cleaned, derive."""

import json
from pathlib import Path

import pytest

from grocer.normalization import (
    CLEANED_FIELDS,
    CLEANERS,
    REJECTION_REASONS,
    ProductNormalizer,
    ProductRejected,
    derive,
    get_cleaner,
    price_hash,
    validate_cleaned,
)
from grocer.normalization.cleaners import clean_category_path, iga_unit_price
from grocer.normalization.values import dig

FIXTURES = Path(__file__).parent / "fixtures"
NORMALIZER = ProductNormalizer({}, {})


def load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def aldi_raw():
    return load("aldi_product_search.json")["data"]


@pytest.fixture
def coles_raw():
    return load("coles_browse_next_data.json")["pageProps"]["searchResults"]["results"]


@pytest.fixture
def woolworths_raw():
    return [p for bundle in load("woolworths_browse_category.json")["Bundles"] for p in bundle["Products"]]


@pytest.fixture
def iga_raw():
    return load("iga_search.json")["items"]


def clean_derive(company, raw, category_path=None):
    return derive(get_cleaner(company).clean(raw, category_path), NORMALIZER)


# -- registry ----------------------------------------------------------------------------------

def test_get_cleaner_is_case_insensitive():
    assert set(CLEANERS) == {"aldi", "coles", "woolworths", "iga"}
    assert get_cleaner("Aldi") is CLEANERS["aldi"]
    assert get_cleaner(" WOOLWORTHS ") is CLEANERS["woolworths"]
    assert get_cleaner("Iga").company == "iga"
    with pytest.raises(KeyError):
        get_cleaner("costco")


# -- §4.5 worked examples, one per chain ---------------------------------------------------------

def test_woolworths_birds_eye(woolworths_raw):
    d = clean_derive("woolworths", woolworths_raw[0], ["Fruit & Veg", "Vegetables", "Chillies"])
    assert d["sku"] == "136341"  # str, not the API's int
    assert d["barcode"] is None  # 02...: a store-internal variable-measure code
    assert d["price_current"] == 0.14 and d["price_was"] == 0.14
    assert d["is_on_special"] is False and d["price_save_amount"] is None
    assert (d["unit_price"], d["unit_of_measure"]) == (0.14, "1.0each")
    assert d["health_star_rating"] == 5.0
    assert d["average_user_rating"] == 0 and d["rating_count"] == 0
    assert d["sizes"] == ["ea"]
    assert d["normalized_brand"] == "woolworths"
    assert d["normalized_name_brand_size"] == "birds chilli ea eye hot woolworths"
    assert d["url"] == "https://www.woolworths.com.au/shop/productdetails/136341/woolworths-birds-eye-chilli-hot"
    assert d["category_path"] == ["Fruit & Veg", "Vegetables", "Chillies"]
    assert d["barcode_problem"] == "store_internal"
    assert d["price_hash"] == price_hash(d)


def test_coles_graze_lamb_and_single_tile_dropped(coles_raw):
    d = clean_derive("coles", coles_raw[0])
    assert d["sku"] == "3942620"
    assert d["price_current"] == 12 and type(d["price_current"]) is int  # int kept
    assert d["price_was"] == 14.1
    assert d["is_on_special"] is True and d["price_save_amount"] == 2.1
    assert (d["unit_price"], d["unit_of_measure"]) == (40.0, "1kg")
    assert d["category_path"] == ["Meat & Seafood", "Lamb", "Graze Grass-Fed Lamb"]
    assert d["url"] == "https://www.coles.com.au/product/graze-lamb-extra-trim-cutlets-3942620"
    assert d["image_url"] == "https://productimages.coles.com.au/productimages/3/3942620.jpg"
    assert d["sizes"] == ["300g"]
    assert d["normalized_name_brand_size"] == "300g coles cutlets extra graze lamb trim"
    assert d["barcode"] is None and "invalid_barcode" not in d  # no barcode in browse data

    with pytest.raises(ProductRejected) as exc:
        get_cleaner("coles").clean(coles_raw[1])
    assert exc.value.reason == "not_a_product"


def test_aldi_brioche(aldi_raw):
    d = clean_derive("aldi", aldi_raw[0])
    assert d["sku"] == "000000000000200998"
    assert d["price_current"] == 4.69 and type(d["price_current"]) is float
    assert d["per_unit_price_value"] == 1.68
    assert (d["unit_price"], d["unit_of_measure"]) == (16.8, "1kg")
    assert d["sizes"] == ["280g", "8pk"]
    assert d["normalized_brand"] == "appetit bon"
    assert d["normalized_name_brand_size"] == "280g 8 8pk appetit bon brioche chip chocolate milk pack rolls"
    assert d["is_available"] is None  # notForSale: Aldi sells nothing online, shelf unknown
    assert d["price_was"] is None and d["is_on_special"] is False
    assert d["category_path"] == ["Bakery", "Sweet Bakery"]
    assert d["url"] == ("https://www.aldi.com.au/product/"
                        "bon-appetit-chocolate-chip-brioche-milk-rolls-8-pack-280g-000000000000200998")
    assert d["image_url"].endswith("/{width}/0000-test-brioche/{slug}")  # raw template kept
    assert d["aldi_image_url"] == "https://img.example.test/product/jpg/scaleWidth/500/0000-test-brioche"


# -- Aldi ---------------------------------------------------------------------------------------

def test_aldi_special_url_and_plain_image(aldi_raw):
    d = get_cleaner("aldi").clean(aldi_raw[1])
    assert d["price_current"] == 2.90
    assert d["price_was"] == 3.50 and d["is_on_special"] is True and d["price_save_amount"] == 0.6
    assert d["per_unit_price_value"] == 1.45
    assert d["url"] == "https://www.aldi.com.au/product/full-cream-milk-A12345"
    assert d["image_url"] == d["aldi_image_url"] == "https://img.example.test/plain/milk.jpg"
    assert d["is_available"] is None
    assert d["category_path"] == ["Dairy Eggs & Fridge"]


def test_aldi_no_brand_no_assets(aldi_raw):
    d = clean_derive("aldi", aldi_raw[2])
    assert d["brand"] is None and d["normalized_brand"] is None
    assert d["image_url"] is None and d["aldi_image_url"] is None
    assert d["category_path"] == []
    assert d["sizes"] == ["ea"] and (d["unit_price"], d["unit_of_measure"]) == (0.99, "1.0each")


def test_aldi_bad_amount():
    raw = {"sku": "1", "name": "Thing", "price": {"amount": "469"}}
    with pytest.raises(ProductRejected) as exc:
        get_cleaner("aldi").clean(raw)
    assert exc.value.reason == "bad_price"


# -- Coles --------------------------------------------------------------------------------------

def test_coles_was_zero_and_heir_choice(coles_raw):
    d = clean_derive("coles", coles_raw[2])
    assert d["price_was"] is None and d["is_on_special"] is False
    assert d["url"] == "https://www.coles.com.au/product/full-cream-milk-12345"
    assert d["category_path"] == ["Dairy", "Milk & Cream", "Chilled"]  # "Down Down" heir skipped
    assert (d["unit_price"], d["unit_of_measure"]) == (1.25, "1l")
    assert d["image_url"] is None


def test_coles_no_pricing_is_no_price(coles_raw):
    with pytest.raises(ProductRejected) as exc:
        get_cleaner("coles").clean(coles_raw[3])
    assert exc.value.reason == "no_price"


@pytest.mark.parametrize("tile", [{"_type": "BANNER"}, {"_type": None}, {},
                                  {"_type": "PRODUCT_ASSOCIATION", "id": 1, "name": "x"}])
def test_coles_non_products(tile):
    with pytest.raises(ProductRejected) as exc:
        get_cleaner("coles").clean(tile)
    assert exc.value.reason == "not_a_product"


def test_coles_heirs_fall_back_to_first():
    heirs = [{"subCategory": "Specials", "category": "Half Price", "aisle": "Snacks"}]
    raw = {"_type": "PRODUCT", "id": 1, "name": "Chips", "pricing": {"now": 2}, "onlineHeirs": heirs}
    assert get_cleaner("coles").clean(raw)["category_path"] == ["Specials", "Half Price", "Snacks"]


# -- Woolworths ---------------------------------------------------------------------------------

def test_woolworths_special_path_and_attributes(woolworths_raw):
    d = clean_derive("woolworths", woolworths_raw[1],
                     ["Dairy, Eggs & Fridge", "milk", "Milk", " Full Cream "])
    assert d["is_on_special"] is True and d["price_save_amount"] == 0.8
    assert d["url"] == "https://www.woolworths.com.au/shop/productdetails/67890/dairy-farmers-full-cream-milk"
    assert d["health_star_rating"] == 4.0
    assert d["category_path"] == ["Dairy, Eggs & Fridge", "Milk", "Full Cream"]  # de-duplicated
    assert d["ingredients"] == "Milk" and d["country_of_origin"] == "Australia"
    assert d["normalized_name_brand_size"] == "2000ml cream dairy farmers full milk"


def test_woolworths_multipack_invalid_barcode_and_hsr(woolworths_raw):
    d = clean_derive("woolworths", woolworths_raw[2])
    assert set(d["sizes"]) >= {"375ml", "6pk"}
    assert d["barcode"] is None and d["invalid_barcode"] == "12345678"
    assert d["health_star_rating"] is None
    assert d["per_unit_price_string"] is None  # "" -> None
    assert (d["unit_price"], d["unit_of_measure"]) == (None, None)
    assert d["is_available"] is False
    assert d["price_current"] == 24 and type(d["price_current"]) is int


def test_woolworths_null_price(woolworths_raw):
    with pytest.raises(ProductRejected) as exc:
        get_cleaner("woolworths").clean(woolworths_raw[3])
    assert exc.value.reason == "no_price"


def test_woolworths_without_stockcode_keeps_slug():
    raw = {"Name": "Thing", "Price": 1, "UrlFriendlyName": "thing"}
    with pytest.raises(ProductRejected) as exc:
        get_cleaner("woolworths").clean(raw)
    assert exc.value.reason == "no_sku"


def test_woolworths_missing_category_path_and_availability():
    d = get_cleaner("woolworths").clean({"Stockcode": 1, "Name": "Thing", "Price": 1.0})
    assert d["category_path"] == [] and d["is_available"] is False and d["url"] is None


# -- IGA ----------------------------------------------------------------------------------------

def test_iga_each_priced_grams(iga_raw):
    d = clean_derive("iga", iga_raw[0])
    assert d["sku"] == "9100001" and d["size"] == "250g" and d["sizes"] == ["250g"]
    assert d["per_unit_price_value"] == 2.4 and d["per_unit_price_measure"] == "100g"
    assert (d["unit_price"], d["unit_of_measure"]) == (24.0, "1kg")
    assert d["category_path"] == ["Grocery", "Fruit And Vegetable", "Dried Fruit"]
    assert d["image_url"] == "https://img.example.test/iga/9100001.jpg"
    assert d["barcode"] == "9300000000033"


def test_iga_loose_piece_has_its_piece_price_and_unit_price_per_kg(iga_raw):
    d = clean_derive("iga", iga_raw[1])
    # A loose "EachUnit" piece (200 g estimated, $5/kg on special, was $7/kg): the shelf's
    # piece price, the was price scaled to the piece (the old cleaner stored the per-kg 5).
    assert d["price_current"] == 1.0 and d["price_was"] == 1.4 and d["is_on_special"] is True
    assert d["sold_by_weight"] is False
    # SplitCart computed 5 x (1 / 200) = 0.025 per "1kg" here (pitfall §6.1.8); correct is 5/kg
    assert (d["unit_price"], d["unit_of_measure"]) == (5.0, "1kg")
    assert d["size"] == "200g EachUnit" and d["sizes"] == ["200g"]
    assert d["brand"] is None and d["normalized_brand"] is None
    assert d["barcode"] is None and d["invalid_barcode"] == "60001"  # a PLU, counted
    assert d["barcode_problem"] == "length"


def test_iga_count_units(iga_raw):
    d = clean_derive("iga", iga_raw[2])
    assert d["size"] == "10 each" and d["sizes"] == ["10ea"]
    assert (d["unit_price"], d["unit_of_measure"]) == (0.3, "1.0each")
    assert d["barcode"] == "9300000000040"


def test_iga_millilitres(iga_raw):
    d = clean_derive("iga", iga_raw[3])
    assert (d["unit_price"], d["unit_of_measure"]) == (6.0, "1l")
    assert d["is_available"] is False and d["category_path"] == []


def test_iga_mismatched_dimensions_give_no_unit_price(iga_raw):
    d = clean_derive("iga", iga_raw[4])
    assert (d["per_unit_price_value"], d["per_unit_price_measure"]) == (None, None)
    assert (d["unit_price"], d["unit_of_measure"]) == (None, None)


@pytest.mark.parametrize("raw, expected", [
    ({"unitOfMeasure": {"abbreviation": "g", "size": 100}, "unitOfPrice": {"type": "each", "size": 1},
      "unitOfSize": {"abbreviation": "kg", "size": 0.5}}, (0.8, "100g")),  # g vs kg converted
    ({"unitOfMeasure": {"abbreviation": "l", "size": 1}, "unitOfPrice": {"type": "each", "size": 1},
      "unitOfSize": {"abbreviation": "ml", "size": 250}}, (16.0, "1l")),
    ({"unitOfMeasure": {"abbreviation": "g", "size": 100}, "unitOfSize": {"abbreviation": "g", "size": 0}}, (None, None)),
    ({"unitOfMeasure": "junk"}, (None, None)),
    ({}, (None, None)),
])
def test_iga_unit_price_conversions(raw, expected):
    assert iga_unit_price(4, raw) == expected


# -- rejections common to every chain -----------------------------------------------------------

def aldi(**overrides):
    raw = {"sku": "000000000000000001", "name": "Invented Bread 650g", "brandName": "BAKER",
           "sellingSize": "650 g", "price": {"amount": 350}}
    raw.update(overrides)
    return raw


@pytest.mark.parametrize("raw, reason", [
    ("not a dict", "not_a_product"),
    (None, "not_a_product"),
    ([aldi()], "not_a_product"),
    (aldi(name=None), "no_name"),
    (aldi(name=""), "no_name"),
    (aldi(name="   "), "no_name"),
    (aldi(name=12345), "no_name"),
    (aldi(name="\u9999\u8549"), "no_name"),
    (aldi(name="x" * 256), "name_too_long"),
    (aldi(name="x" * 10_000), "name_too_long"),
    (aldi(price={}), "no_price"),
    (aldi(price=None), "no_price"),
    (aldi(price={"amount": None}), "no_price"),
    (aldi(price={"amount": 0}), "bad_price"),
    (aldi(price={"amount": -100}), "bad_price"),
    (aldi(price={"amount": float("nan")}), "bad_price"),
    (aldi(price={"amount": float("inf")}), "bad_price"),
    (aldi(price={"amount": 100_000_01}), "bad_price"),
    (aldi(price={"amount": True}), "bad_price"),
    (aldi(price={"amount": {"cents": 1}}), "bad_price"),
    (aldi(price="cheap"), "no_price"),
    (aldi(sku=None), "no_sku"),
    (aldi(sku="  "), "no_sku"),
    (aldi(sku=["1"]), "bad_sku"),
    (aldi(sku=True), "bad_sku"),
    (aldi(sku="9" * 101), "bad_sku"),
    (aldi(name="Donation $5"), "donation"),
    (aldi(name="Charity DONATIONS"), "donation"),
])
def test_rejections(raw, reason):
    with pytest.raises(ProductRejected) as exc:
        get_cleaner("aldi").clean(raw)
    assert exc.value.reason == reason
    assert reason in REJECTION_REASONS
    assert reason in str(exc.value)


def test_name_of_255_chars_is_fine():
    assert len(get_cleaner("aldi").clean(aldi(name="x" * 255))["name"]) == 255


def test_cleaned_shape(aldi_raw, coles_raw, woolworths_raw, iga_raw):
    for company, raw in [("aldi", aldi_raw[0]), ("coles", coles_raw[0]),
                         ("woolworths", woolworths_raw[0]), ("iga", iga_raw[0])]:
        d = get_cleaner(company).clean(raw)
        assert set(CLEANED_FIELDS) <= set(d), company
        assert isinstance(d["sku"], str) and isinstance(d["category_path"], list)
        for derived in ("sizes", "normalized_brand", "normalized_name_brand_size", "price_hash"):
            assert derived not in d


def test_whitespace_strings_become_none_and_texts_are_stripped():
    d = get_cleaner("woolworths").clean({
        "Stockcode": 5, "Name": "  Thing  ", "Brand": "   ", "PackageSize": " 500g ", "Price": 2,
        "CupString": "\t", "Description": "\n", "Barcode": "  "})
    assert d["name"] == "Thing" and d["size"] == "500g"
    assert d["brand"] is None and d["per_unit_price_string"] is None and d["description"] is None
    assert d["barcode"] is None and "invalid_barcode" not in d


@pytest.mark.parametrize("barcode, cleaned, invalid", [
    ("9300000000019", "9300000000019", None),
    ("300000000018", "0300000000018", None),
    ("12345678", None, "12345678"),
    ("12345678901", None, "12345678901"),
    ("12345678901234", None, "12345678901234"),
    ("ABC123", None, "ABC123"),
    (1234, None, "1234"),
    ("notfound", None, None),
    ("null", None, None),
    (None, None, None),
])
def test_invalid_barcode_is_counted_not_rejected(barcode, cleaned, invalid):
    d = get_cleaner("woolworths").clean({"Stockcode": 5, "Name": "Thing", "Price": 2, "Barcode": barcode})
    assert d["barcode"] == cleaned
    assert d.get("invalid_barcode") == invalid
    assert ("invalid_barcode" in d) is (invalid is not None)


def test_price_was_junk_becomes_none():
    for was in ("abc", -1, 0, float("nan"), 10**9, {"x": 1}, True):
        d = get_cleaner("woolworths").clean({"Stockcode": 5, "Name": "Thing", "Price": 2, "WasPrice": was})
        assert d["price_was"] is None and d["is_on_special"] is False


def test_clean_category_path():
    assert clean_category_path(["  kid's snacks ", None, "", "RSPCA approved", "and more"]) == [
        "Kid'S Snacks", "Rspca Approved", "And More"]
    assert clean_category_path([]) == []
    assert clean_category_path(None) == []
    assert clean_category_path("Pantry") == []


# -- validate_cleaned and derive ----------------------------------------------------------------

ARCHIVE_PRODUCT = {
    "sku": 4242, "name": "Invented Pasta 500g", "brand": "INVENTO", "size": "0.5 kg",
    "barcode": "300000000018", "price_current": 1.5, "per_unit_price_string": "$3.00 per 1 kg",
    "per_unit_price_value": 3.0, "is_on_special": False, "is_available": False,
    "category_path": ["Pantry", "Pasta"],
    # derived fields of an archive line: dropped and recomputed
    "sizes": ["bogus"], "normalized_brand": "bogus", "normalized_name_brand_size": "bogus",
    "unit_price": 999.0, "unit_of_measure": "bogus", "price_hash": "bogus",
}


def test_validate_cleaned_drops_derived_and_coerces():
    v = validate_cleaned(ARCHIVE_PRODUCT)
    assert v["sku"] == "4242" and v["barcode"] == "0300000000018"
    for derived in ("sizes", "normalized_brand", "normalized_name_brand_size", "unit_price",
                    "unit_of_measure", "price_hash"):
        assert derived not in v
    assert ARCHIVE_PRODUCT["sku"] == 4242  # input untouched
    d = derive(v, NORMALIZER)
    assert d["sizes"] == ["500g"]
    assert d["normalized_name_brand_size"] == "500g invented invento pasta"
    assert (d["unit_price"], d["unit_of_measure"]) == (3.0, "1kg")
    assert d["price_hash"] == price_hash(d)


def test_validate_cleaned_keeps_special_flag_and_rejects_like_cleaners():
    v = validate_cleaned(dict(ARCHIVE_PRODUCT, price_was=2.0, is_on_special=False))
    assert v["is_on_special"] is False  # kept as given (it is part of the hash)
    v = validate_cleaned({"sku": "1", "name": "Thing", "price_current": 2.0, "price_was": 3.0})
    assert v["is_on_special"] is True and v["price_save_amount"] == 1.0
    for bad, reason in [({"sku": "1", "name": "Thing"}, "no_price"),
                        ({"sku": "1", "name": " ", "price_current": 1.0}, "no_name"),
                        ({"sku": "1", "name": "Thing", "price_current": "cheap"}, "bad_price"),
                        ({"name": "Thing", "price_current": 1.0}, "no_sku"),
                        ("line", "not_a_product")]:
        with pytest.raises(ProductRejected) as exc:
            validate_cleaned(bad)
        assert exc.value.reason == reason


def test_validate_cleaned_accepts_numeric_strings():
    v = validate_cleaned({"sku": "1", "name": "Thing", "price_current": "3.50"})
    assert v["price_current"] == 3.5


def test_derive_returns_new_dict_and_brandless_product_has_no_brand():
    cleaned = get_cleaner("aldi").clean(aldi(brandName=None))
    before = dict(cleaned)
    d = derive(cleaned, NORMALIZER)
    assert cleaned == before and d is not cleaned
    assert d["normalized_brand"] is None  # SplitCart: '' -> None -> key dropped
    assert d["normalized_name_brand_size"] == "650g bread invented"


def test_derive_uses_the_normalizer_tables():
    n = ProductNormalizer({"baker": "the baker"}, {"650g baker bread invented the": "canonical"})
    d = derive(get_cleaner("aldi").clean(aldi()), n)
    assert d["normalized_brand"] == "the baker" and d["normalized_name_brand_size"] == "canonical"


def test_derive_hash_uses_final_values():
    d = derive(get_cleaner("coles").clean({
        "_type": "PRODUCT", "id": 1, "name": "Thing", "pricing": {"now": 3, "was": 4.5, "comparable": "  "}}),
        NORMALIZER)
    expected = {"price_current": 3, "price_was": 4.5, "is_on_special": True, "unit_price": None,
                "unit_of_measure": None, "per_unit_price_string": None}
    assert d["price_hash"] == price_hash(expected)


# -- cross-chain end to end (§5.1 e2e) ------------------------------------------------------------

MILK_RAW = {
    "aldi": {"sku": "000000000000000042", "name": "Full Cream Milk", "brandName": "Dairy Farmers",
             "sellingSize": "2L", "price": {"amount": 350}},
    "coles": {"_type": "PRODUCT", "id": 42, "name": "Full Cream Milk", "brand": "Dairy Farmers",
              "size": "2L", "pricing": {"now": 3.5, "was": 0}},
    "woolworths": {"Stockcode": 42, "Name": "Full Cream Milk", "Brand": "Dairy Farmers",
                   "PackageSize": "2L", "Price": 3.5, "Barcode": "12345"},
    "iga": {"productId": "42", "name": "Full Cream Milk", "brand": "Dairy Farmers", "wholePrice": 3.5,
            "unitOfSize": {"abbreviation": "l", "size": 2, "type": "litre"}, "sellBy": "Each"},
}


@pytest.mark.parametrize("company", sorted(MILK_RAW))
def test_cross_chain_milk_vector(company):
    d = clean_derive(company, MILK_RAW[company])
    assert d["sizes"] == ["2000ml"]
    assert d["normalized_brand"] == "dairy farmers"
    assert d["normalized_name_brand_size"] == "2000ml cream dairy farmers full milk"
    assert d["barcode"] is None  # no barcode (Coles) or an invalid one (Woolworths)
    assert isinstance(d["price_hash"], str) and d["price_hash"] == clean_derive(company, MILK_RAW[company])["price_hash"]


def test_cross_chain_details():
    half_kilo = clean_derive("coles", dict(MILK_RAW["coles"], name="Cheese", size="0.5kg"))
    assert half_kilo["sizes"] == ["500g"]
    nobrand = clean_derive("aldi", dict(MILK_RAW["aldi"], brandName=None))
    assert nobrand["normalized_brand"] is None
    cheaper = clean_derive("woolworths", dict(MILK_RAW["woolworths"], Price=3.0))
    assert cheaper["price_hash"] != clean_derive("woolworths", MILK_RAW["woolworths"])["price_hash"]


def test_canonical_sizes_of_a_product():
    sizes = ProductNormalizer({}, {}).normalize({"name": "Juice 2L"})["sizes"]
    from grocer.normalization import canonical_sizes
    assert (2000.0, "ml") in canonical_sizes(sizes)


def test_safe_field_access():
    raw = {"a": 1, "b": {"c": [{"url": "u"}]}, "s": "x"}
    assert dig(raw, "a") == 1
    assert dig(raw, "b", "c", 0, "url") == "u"
    assert dig(raw, "missing") is None
    assert dig(raw, "b", "c", 5, "url") is None  # out of range
    assert dig(raw, "s", "x") is None  # not a container midway
    assert dig(raw, "b", "c", "0") is None
