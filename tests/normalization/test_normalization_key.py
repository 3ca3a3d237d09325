"""ProductNormalizer / key v1 (§1.8.4, §1.8.5, §7.1 sample rows) and its translation tables."""

import pytest

from grocer.normalization import KEY_VERSION, ProductNormalizer


def norm(name, brand=None, size=None, brand_table=None, product_table=None):
    return ProductNormalizer(brand_table or {}, product_table or {}).normalize(
        {"name": name, "brand": brand, "size": size})


def test_key_version():
    assert KEY_VERSION == 1
    assert ProductNormalizer({}, {}).key_version == 1


@pytest.mark.parametrize("name, brand, size, sizes, nbrand, key", [
    # cross-chain test vector
    ("Full Cream Milk", "Dairy Farmers", "2L", ["2000ml"], "dairy farmers", "2000ml cream dairy farmers full milk"),
    # raw name tokens survive next to canonical sizes (quirk)
    ("Milk 2L", None, None, ["2000ml"], "", "2000ml 2l milk"),
    ("Milk", None, "2 L", ["2000ml"], "", "2000ml milk"),
    ("Water 1.5L", None, None, ["1500ml"], "", "1500ml 15l water"),
    ("Mince 300-400g", None, None, ["300g", "400g"], "", "300400g 300g 400g mince"),
    ("Gum 37.5g", None, None, ["37.5g"], "", "375g gum"),
    ("Water 10 x 600ml", None, "6L", ["10pk", "6000ml", "600ml"], "", "10 10pk 6000ml 600ml water x"),
    ("Cheese 0.5kg", None, "500g", ["500g"], "", "05kg 500g cheese"),
    ("Product 1kg", None, None, ["1000g"], "", "1000g 1kg product"),
    ("Drink 1l", None, None, ["1000ml"], "", "1000ml 1l drink"),
    ("Lemon Each", None, "1 each", ["ea"], "", "ea each lemon"),
    ("Apples", None, "4 each", ["4ea"], "", "4ea apples"),
    # sample rows of the golden archive (§7.1)
    ("Pork, Pepper and Oregano Gourmet Sausages 500g", "SPECIALLY SELECTED", "0.5 kg", ["500g"],
     "selected specially", "500g and gourmet oregano pepper pork sausages selected specially"),
    ("Sliced Brioche Burger Buns 4 Pack 200g", "BON APPETIT", "4 each", ["200g", "4ea", "4pk"],
     "appetit bon", "200g 4 4ea 4pk appetit bon brioche buns burger pack sliced"),
    ("Diced Bacon Pieces 2 x 150g", "BERG", "0.3 kg", ["150g", "2pk", "300g"],
     "berg", "150g 2 2pk 300g bacon berg diced pieces x"),
    ("Marinated Chicken Roasting Pieces", "READY, SET\u2026COOK!", "approx. 1.8 kg per package", ["1800g"],
     "ready setcook", "1800g chicken marinated pieces ready roasting setcook"),
    ("Mentos Fruit Roll 37.5g", "MENTOS", "37.6 g", ["37.5g", "37.6g"], "mentos", "375g 376g fruit mentos roll"),
    ("Chicken Tenderloins Bulk Pack per kg", None, "approx. 1 kg per package", ["1000g", "kg", "pk"],
     "", "1000g bulk chicken kg pack per pk tenderloins"),
    ("Cling Wrap 60m", "POWER FORCE", "60 m", [], "force power", "60m cling force power wrap"),
    ("Size 1 Nappies up to 5kg 28 Pack", "MAMIA", "28 each", ["28ea", "28pk", "5000g"],
     "mamia", "1 28 28ea 28pk 5000g 5kg mamia nappies pack size to up"),
    # the doc claim "Coca Cola 375ml Can" == "Can Coca-Cola 375ml" is false
    ("Coca Cola 375ml Can", None, None, ["375ml"], "", "375ml can coca cola"),
    ("Can Coca-Cola 375ml", None, None, ["375ml"], "", "375ml can cocacola"),
    # None name becomes the word "none"
    (None, None, None, [], "", "none"),
])
def test_normalize(name, brand, size, sizes, nbrand, key):
    assert norm(name, brand, size) == {
        "sizes": sizes, "normalized_brand": nbrand, "normalized_name_brand_size": key}


def test_brand_extraction_uses_raw_brand():
    # sizes are also extracted from the brand string
    assert norm("Water", "Brand 2L", None)["sizes"] == ["2000ml"]


def test_brand_normalization_and_table():
    assert norm("x", "Coca Cola")["normalized_brand"] == "coca cola"
    assert norm("x", "CC", brand_table={"cc": "coca cola"})["normalized_brand"] == "coca cola"
    assert norm("x", "")["normalized_brand"] == ""
    assert norm("x", None)["normalized_brand"] == ""
    assert norm("x", "!!!")["normalized_brand"] == ""


def test_canonical_brand_goes_into_the_key():
    out = norm("Classic Cola 375ml", "CC", brand_table={"cc": "coca cola"})
    assert out["normalized_name_brand_size"] == "375ml classic coca cola"


def test_product_table_maps_key():
    out = norm("Whole Milk", product_table={"milk whole": "canonical-key-abc"})
    assert out["normalized_name_brand_size"] == "canonical-key-abc"
    # a miss keeps the generated key, and the key contains the name words
    out = norm("Whole Milk", size="2L", product_table={"milk whole": "canonical-key-abc"})
    assert out["normalized_name_brand_size"] == "2000ml milk whole"


def test_tables_are_copied_and_bad_values_ignored():
    brand_table = {"cc": "coca cola", "xx": 5}
    n = ProductNormalizer(brand_table, {"a": None})
    brand_table["cc"] = "changed"
    assert n.normalize({"name": "x", "brand": "CC"})["normalized_brand"] == "coca cola"
    assert n.normalize({"name": "x", "brand": "XX"})["normalized_brand"] == "xx"
    assert n.normalize({"name": "a"})["normalized_name_brand_size"] == "a"


def test_default_tables():
    assert ProductNormalizer().normalize({"name": "Milk"})["normalized_name_brand_size"] == "milk"


def test_a_repeated_product_gets_the_same_identity_and_a_list_of_its_own():
    normalizer = ProductNormalizer({"farmhouse": "farm house"}, {})
    product = {"name": "Full Cream Milk 2L", "brand": "Farmhouse", "size": "2 L"}
    first = normalizer.normalize(product)
    first["sizes"].append("changed by one item")
    again = normalizer.normalize(dict(product))
    assert again == ProductNormalizer({"farmhouse": "farm house"}, {}).normalize(product)
    assert "changed by one item" not in again["sizes"]
    assert normalizer.normalize({**product, "brand": ["Farm", "House"]})["normalized_brand"]
