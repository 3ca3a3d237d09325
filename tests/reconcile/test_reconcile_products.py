"""Product reconciler (spec §2.8.3–2.8.4 checklist, DESIGN §7 item 3) and brand reconciler."""

from sqlalchemy import func, select

from grocer.db.models import Brand, Price, PriceHistory, Product, ProductKeyVariation, Sku
from grocer.db.reconcile import reconcile
from grocer.db.reconcile.brands import reconcile_brands
from grocer.db.reconcile.merge_policy import enrich
from grocer.db.reconcile.products import reconcile_products
from tests.reconcile.helpers import at, snapshot, write_tables


def count(engine, model):
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def test_same_store_prices_merge_into_one_most_recent_price(engine, rows):
    """Never again 3: both products priced at the same store → one price, no IntegrityError."""
    company = rows.company("coles")
    store, other = rows.store(company, "COL:1"), rows.store(company, "COL:2")
    canon = rows.product("milk 2l")
    dupe = rows.product("2l milk")
    rows.price(canon, store, scraped_at=at(-10), price="3.00")
    newest = rows.price(dupe, store, scraped_at=at(0), price="3.50")
    only_dupe = rows.price(dupe, other, scraped_at=at(-5), price="3.40")
    rows.history(canon, store, scraped_at=at(-10), price="3.00")
    dupe_history = rows.history(dupe, store, scraped_at=at(0), price="3.50")
    rows.sku(company, "111", canon)
    dupe_sku = rows.sku(company, "222", dupe)

    result = reconcile_products(engine, {"2l milk": "milk 2l"})

    assert result.products_merged == 1 and result.prices_deleted == 1
    assert rows.all(Price, "id", "product_id", "store_id") == [
        (newest, canon, store), (only_dupe, canon, other)]
    assert rows.all(Sku, "id", "product_id")[-1] == (dupe_sku, canon)
    assert {pid for (pid,) in rows.all(PriceHistory, "product_id")} == {canon}
    assert (dupe_history, canon) in rows.all(PriceHistory, "id", "product_id")
    assert rows.one(Product, dupe) is None


def test_price_tie_keeps_the_canonicals_own_then_lowest_id(engine, rows):
    company = rows.company()
    store = rows.store(company, "G1")
    dupe = rows.product("b")  # lower id than the canonical
    canon = rows.product("a")
    dupe2 = rows.product("c")
    other = rows.store(company, "G2")
    rows.price(dupe, store, scraped_at=at(0))
    own = rows.price(canon, store, scraped_at=at(0))
    first = rows.price(dupe, other, scraped_at=at(0))
    rows.price(dupe2, other, scraped_at=at(0))
    reconcile_products(engine, {"b": "a", "c": "a"})
    assert rows.all(Price, "id", "product_id") == [(own, canon), (first, canon)]


def test_canonical_older_price_loses_and_dupe_price_is_repointed(engine, rows):
    company = rows.company()
    store = rows.store(company, "G1")
    canon, dupe = rows.product("a"), rows.product("b")
    rows.price(canon, store, scraped_at=at(-10))
    newer = rows.price(dupe, store, scraped_at=at(0))
    reconcile_products(engine, {"b": "a"})
    assert rows.all(Price, "id", "product_id") == [(newer, canon)]


def test_key_variations_and_the_dupes_own_key_move_to_the_canonical(engine, rows):
    canon, dupe = rows.product("a", sizes=["1l"]), rows.product("b", sizes=[])
    rows.variation("b old", dupe)
    rows.variation("a", dupe)  # the dupe had learned the canonical's key: dropped as redundant
    result = reconcile_products(engine, {"b": "a"})
    assert result.variations_added == 1
    assert sorted(rows.all(ProductKeyVariation, "key", "product_id")) == [
        ("b", canon), ("b old", canon)]


def test_canonical_gains_the_dupes_barcode_and_fields(engine, rows):
    brand = rows.brand("dairy")
    canon = rows.product("a", sizes=["1l"], url="https://x/a",
                         brand_name_company_pairs=[["Dairy Co", "coles"]],
                         category_paths=[{"company": "coles", "path": ["Dairy"]}])
    dupe = rows.product("b", barcode="9300000000001", url="https://x/b", sizes=["1000ml", "1l"],
                        has_no_coles_barcode=True, brand_id=brand, aldi_image_url="https://i/b",
                        brand_name_company_pairs=[["DC", "coles"], ["Dairy", "aldi"]],
                        category_paths=[{"company": "aldi", "path": ["Milk"]},
                                        {"company": "coles", "path": ["Dairy"]}])
    reconcile_products(engine, {"b": "a"})
    product = rows.one(Product, canon)
    assert product["barcode"] == "9300000000001"  # unique: the dupe was deleted first
    assert product["url"] == "https://x/a"  # not overwritten
    assert product["aldi_image_url"] == "https://i/b"
    assert product["has_no_coles_barcode"] is True
    assert product["brand_id"] == brand
    assert product["sizes"] == ["1000ml", "1l"]
    assert product["brand_name_company_pairs"] == [["Dairy", "aldi"], ["Dairy Co", "coles"]]
    assert product["category_paths"] == [{"company": "coles", "path": ["Dairy"]},
                                         {"company": "aldi", "path": ["Milk"]}]
    assert rows.one(Product, dupe) is None


def test_enrich_nothing_to_do_returns_empty():
    class Row:
        barcode = url = image_url = aldi_image_url = brand_id = None
        has_no_coles_barcode = False
        sizes = brand_name_company_pairs = category_paths = []

    assert enrich(Row(), [Row()]) == {}


def test_missing_canonical_self_mapping_and_empty_table_do_nothing(engine, rows):
    dupe = rows.product("b")
    rows.product("c")
    before = snapshot(engine)
    assert reconcile_products(engine, {}).products_merged == 0
    assert reconcile_products(engine, {"b": "missing", "c": "c"}).products_merged == 0
    assert snapshot(engine) == before
    assert rows.one(Product, dupe) is not None


def test_chains_and_cycles_in_a_table(engine, rows):
    a, b, c = rows.product("a"), rows.product("b"), rows.product("c")
    x, y = rows.product("x"), rows.product("y")
    result = reconcile_products(engine, {"a": "b", "b": "c", "x": "y", "y": "x"})
    assert result.products_merged == 2
    assert [pid for (pid,) in rows.all(Product, "id")] == [c, x, y]
    assert sorted(rows.all(ProductKeyVariation, "key", "product_id")) == [("a", c), ("b", c)]
    assert a and b


def test_merges_in_chunks(engine, rows):
    company = rows.company()
    store = rows.store(company, "G1")
    table = {}
    for i in range(25):
        canon, dupe = rows.product(f"k{i}"), rows.product(f"k{i} dup")
        rows.price(canon, store, scraped_at=at(-1))
        rows.price(dupe, store, scraped_at=at(0))
        rows.sku(company, f"s{i}", dupe)
        table[f"k{i} dup"] = f"k{i}"
    result = reconcile_products(engine, table, chunk_size=7)
    assert result.products_merged == 25 and result.prices_deleted == 25
    assert count(engine, Product) == 25 and count(engine, Price) == 25
    assert count(engine, Sku) == 25


def test_brand_reconciler_merges_repoints_and_keeps_variations(engine, rows):
    canon = rows.brand("cola coca", name="Coca-Cola", variations=["cola coca"],
                       name_variations=["Coca-Cola"])
    dupe = rows.brand("cocacola", name="CocaCola", variations=["coke"], name_variations=["Coke"])
    product = rows.product("p", brand_id=dupe)
    result = reconcile_brands(engine, {"cocacola": "cola coca", "nothing": "cola coca",
                                       "cola coca": "cola coca"})
    assert (result.brands_merged, result.products_repointed) == (1, 1)
    assert rows.one(Brand, dupe) is None
    brand = rows.one(Brand, canon)
    assert brand["normalized_name_variations"] == ["cocacola", "coke", "cola coca"]
    assert brand["name_variations"] == ["Coca-Cola", "CocaCola", "Coke"]
    assert rows.one(Product, product)["brand_id"] == canon
    assert reconcile_brands(engine, {"cocacola": "cola coca"}).brands_merged == 0


def test_brand_reconciler_missing_canonical_is_a_no_op(engine, rows):
    rows.brand("a")
    before = snapshot(engine)
    assert reconcile_brands(engine, {"a": "b"}).brands_merged == 0
    assert snapshot(engine) == before


def test_full_reconciliation_is_idempotent(engine, rows, tables_dir):
    company = rows.company()
    store = rows.store(company, "G1")
    canon, dupe = rows.product("a"), rows.product("b")
    brand, brand_dupe = rows.brand("x", variations=["y"]), rows.brand("y")
    rows.product("orphan")
    rows.price(canon, store, scraped_at=at(-1))
    rows.price(dupe, store, scraped_at=at(0))
    rows.variation("a old", canon)
    write_tables(tables_dir, brand={"y": "x"}, product={"b": "a"})
    first = reconcile(engine, tables_dir)
    assert first.products.products_merged == 1 and first.brands.brands_merged == 1
    assert first.orphans_deleted == 1
    # the brand table generated from the database is the one on disk: left untouched
    assert first.tables.written == ["product_translation_table.json"]
    state = snapshot(engine)
    files = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tables_dir.iterdir()}
    second = reconcile(engine, tables_dir)
    assert snapshot(engine) == state
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tables_dir.iterdir()} == files
    assert (second.products.products_merged, second.brands.brands_merged,
            second.orphans_deleted, second.tables.written) == (0, 0, 0, [])
    assert brand and brand_dupe


def test_the_price_seen_last_survives_not_the_one_changed_last(engine, rows):
    """grocer's scraped_at moves only when a price changes: a price unchanged for months but
    seen yesterday is more current than a duplicate's price that changed and was delisted."""
    company = rows.company()
    store = rows.store(company, "G1")
    canon, dupe = rows.product("a"), rows.product("b")
    live = rows.price(canon, store, scraped_at=at(-90), last_seen=at(-1), price="2.00")
    rows.price(dupe, store, scraped_at=at(-60), last_seen=at(-7), price="2.50",
               delisted_at=at(-7))
    reconcile_products(engine, {"b": "a"})
    assert rows.all(Price, "id", "product_id") == [(live, canon)]
