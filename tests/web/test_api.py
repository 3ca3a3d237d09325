"""grocer web's pages and JSON API through Starlette's test client, on both engines."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import update
from starlette.testclient import TestClient

from grocer.db import migrate
from grocer.db.models import (CrawlRun, PriceHistory, PriceZone, PriceZoneMember, Product,
                              utcnow)
from grocer.db.resolution import ProductResolver
from grocer.web.app import create_app
from tests.helpers.prices import T0, crawl, row as price_row
from tests.reconcile.helpers import Rows

NOW = utcnow()


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> dt.datetime:
    return NOW - dt.timedelta(days=days, hours=hours, minutes=minutes)


@pytest.fixture
def client(engine, db_url):
    with TestClient(create_app(db_url)) as test_client:
        yield test_client


@pytest.fixture
def world(engine):
    """Milk at two Aldi stores and one Coles store; bread at Aldi; tea nowhere."""
    rows = Rows(engine)
    aldi, coles = rows.company("aldi"), rows.company("coles")
    a1, a2, c1 = rows.store(aldi, "G102"), rows.store(aldi, "G105"), rows.store(coles, "COL:401")
    brand = rows.brand("pauls", name="Pauls")
    milk = rows.product("milk pauls 2l", name="Pauls Full Cream Milk 2L", brand_id=brand,
                        size="2L", barcode="9300000000011")
    bread = rows.product("bread white", name="White Sandwich Bread 700g")
    tea = rows.product("tea bags", name="Earl Grey Tea Bags")
    rows.sku(aldi, "A-1", milk)
    rows.sku(coles, "C-1", milk)
    rows.sku(aldi, "A-2", bread)
    # Milk at G102: 3.10 (10 days ago) → 3.50 (2 h ago); at G105: 3.20 (10 days ago) unchanged;
    # at Coles: 4.00 → 3.00 on special (was 4.00) 1 h ago. Bread: first seen 1 h ago.
    previous = {}  # (product, store) → its last price, as the price writer records it
    for store, when, price, extra in [
            (a1, ago(10), "3.10", {}), (a1, ago(hours=2), "3.50", {}),
            (a2, ago(10), "3.20", {}),
            (c1, ago(10), "4.00", {}), (c1, ago(hours=1), "3.00",
                                         {"is_on_special": True, "was_price": "4.00"}),
            (a1, ago(hours=1), "2.80", {"product": bread})]:
        product = extra.pop("product", milk)
        rows._insert(PriceHistory, previous_price=previous.get((product, store)),
                     **rows._price_values(product, store, when, price, **extra))
        previous[(product, store)] = Decimal(price)
    rows.price(milk, a1, scraped_at=ago(hours=2), price="3.50", unit_price="1.75",
               unit_of_measure="l")
    rows.price(milk, a2, scraped_at=ago(10), last_seen=ago(hours=2), price="3.20")
    rows.price(milk, c1, scraped_at=ago(hours=1), price="3.00", is_on_special=True,
               was_price="4.00", unit_price="1.50", unit_of_measure="l")
    rows.price(bread, a1, scraped_at=ago(hours=1), price="2.80")
    return {"milk": milk, "bread": bread, "tea": tea, "stores": (a1, a2, c1), "rows": rows,
            "aldi": aldi, "coles": coles}


def test_search_by_word_prefixes_brand_barcode_and_sku(client, world):
    def ids(**params):
        return [item["id"] for item in client.get("/api/products", params=params).json()["items"]]

    assert ids(q="crea mil") == [world["milk"]]  # prefixes of words, any order
    assert ids(q="PAULS") == [world["milk"]]  # the brand, any case
    assert ids(q="9300000000011") == [world["milk"]]  # barcode
    assert ids(q="sandwich") == [world["bread"]]
    assert ids(q="ilk") == []  # not a word prefix
    assert ids(q="") == []
    assert ids(q="milk", chain="coles") == [world["milk"]]
    assert ids(q="bread", chain="coles") == []


def test_search_words_the_full_text_index_leaves_out_still_start_words(client, world):
    """Short words and starts of InnoDB stopwords match word starts, as on SQLite: not inside
    a word ("lk" is no word start of "milk"), and "wit" finds "with" (not in InnoDB's index)."""
    rows = world["rows"]
    chicken = rows.product("chicken herbs", name="Chicken With Herbs")
    chocolates = rows.product("box chocolates", name="Box of Chocolates")
    coffee = rows.product("coffee beans", name="Coffee Beans")

    def ids(q):
        return [item["id"] for item in client.get("/api/products", params={"q": q}).json()[
            "items"]]

    assert ids("lk") == [] and ids("ilk") == []
    assert ids("chicken wit") == [chicken] and ids("wit") == [chicken]
    assert ids("of") == [chocolates] and ids("be cof") == [coffee]
    assert ids("pauls 2l") == [world["milk"]] and ids("2l") == [world["milk"]]
    assert client.get("/api/products", params={"q": "bo of"}).json()["total"] == 1


def test_search_hit_has_cheapest_price_per_chain_unit_price_and_special(client, world):
    body = client.get("/api/products", params={"q": "milk"}).json()
    assert body["total"] == 1
    hit = body["items"][0]
    assert (hit["name"], hit["brand"], hit["size"]) == ("Pauls Full Cream Milk 2L", "Pauls", "2L")
    assert hit["prices"] == [
        {"chain": "coles", "chain_name": "Coles", "price": 3.0, "unit_price": 1.5,
         "unit_of_measure": "l", "on_special": True, "stores": 1},
        {"chain": "aldi", "chain_name": "Aldi", "price": 3.2, "unit_price": 1.75,
         "unit_of_measure": "l", "on_special": False, "stores": 2}]
    page = client.get("/", params={"q": "milk"}).text
    assert "Pauls Full Cream Milk 2L" in page and f'href="/products/{world["milk"]}"' in page
    assert "$3.00" in page and "special" in page and "$1.75/l" in page


def test_search_pages(client, world):
    rows = world["rows"]
    for n in range(25):
        rows.product(f"cheese {n:02}", name=f"Cheese Block {n:02}")
    first = client.get("/api/products", params={"q": "cheese", "per_page": 10}).json()
    third = client.get("/api/products", params={"q": "cheese", "per_page": 10, "page": 3}).json()
    assert first["total"] == third["total"] == 25
    assert [i["name"] for i in first["items"]][:2] == ["Cheese Block 00", "Cheese Block 01"]
    assert [i["name"] for i in third["items"]] == [f"Cheese Block {n}" for n in range(20, 25)]
    past = client.get("/api/products", params={"q": "cheese", "per_page": 10, "page": 4}).json()
    assert past["total"] == 25 and past["items"] == []
    assert client.get("/api/products", params={"q": "x", "page": "two"}).status_code == 400


def test_product_facts_skus_and_prices_per_store_sorted(client, world):
    body = client.get(f"/api/products/{world['milk']}").json()
    assert body["barcode"] == "9300000000011" and body["brand"] == "Pauls"
    assert body["skus"] == [{"chain": "aldi", "chain_name": "Aldi", "sku": "A-1"},
                            {"chain": "coles", "chain_name": "Coles", "sku": "C-1"}]
    assert [(p["store_code"], p["price"]) for p in body["prices_by_store"]] == [
        ("COL:401", 3.0), ("G105", 3.2), ("G102", 3.5)]
    by_store = client.get(f"/api/products/{world['milk']}",
                          params={"sort": "store", "desc": "1"}).json()["prices_by_store"]
    assert [p["store_code"] for p in by_store] == ["G105", "G102", "COL:401"]
    assert client.get("/api/products/999999").status_code == 404
    assert client.get("/products/999999").status_code == 404


def test_a_zone_members_prices_are_marked_inferred_from_its_representative(client, world):
    """G110 is a member of G102's price zone with no own rows: it shows G102's prices, marked;
    G105, a member with its own milk price (an override), shows that price unmarked."""
    rows, (g102, g105, _) = world["rows"], world["stores"]
    g110 = rows.store(world["aldi"], "G110")
    zone = rows._insert(PriceZone, company_id=world["aldi"], representative_store_id=g102,
                        created_at=ago(3), verified_at=ago(3), basket=[])
    for store in (g102, g105, g110):
        rows._insert(PriceZoneMember, store_id=store, zone_id=zone, joined_at=ago(3),
                     verified_at=dt.datetime(2026, 11, 30, 4, tzinfo=dt.timezone.utc),
                     basket=[], decision={})
    stores = {p["store_code"]: p for p in client.get(
        f"/api/products/{world['milk']}").json()["prices_by_store"]}
    assert {code: (p["price"], p["inferred_from"], p["zone_verified_at"])
            for code, p in stores.items()} == {
        "G102": (3.5, None, None), "G105": (3.2, None, None),
        "G110": (3.5, "G102", "2026-11-30T04:00:00+00:00"), "COL:401": (3.0, None, None)}
    assert stores["G110"]["store_id"] == g110
    page = client.get(f"/products/{world['milk']}").text
    assert page.count('class="inferred"') == 1
    assert re.search(r'G110</small>\s*<span class="inferred"[^>]*>inferred from G102, '
                     r'verified 2026-11-30</span>', page)


def test_seen_is_the_newest_sighting_of_an_unchanged_price(client, engine):
    """A re-crawl seeing a price unchanged records the sighting in its store_crawl frame, not in
    the row: the product page, its API and the "seen" sort show that later time — for a zone
    member's inferred price too (its representative's sighting)."""
    rows = Rows(engine)
    woolworths = rows.company("woolworths")
    s1147, s1148, s1149, s1150 = (rows.store(woolworths, code)
                                  for code in ("1147", "1148", "1149", "1150"))
    milk = rows.product("milk 2l", name="Milk 2L")
    t1, t2 = T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=2)
    crawl(engine, [[price_row(milk, store, "2.00") for store in (s1147, s1148, s1149)]])
    crawl(engine, [[price_row(milk, s1149, "2.50", at=t1)]])  # changed: its row is written
    crawl(engine, [[price_row(milk, s1147, "2.00", at=t2)]])  # unchanged: only a frame
    zone = rows._insert(PriceZone, company_id=woolworths, representative_store_id=s1147,
                        created_at=T0, verified_at=T0, basket=[])
    for store in (s1147, s1150):
        rows._insert(PriceZoneMember, store_id=store, zone_id=zone, joined_at=T0,
                     verified_at=T0, basket=[], decision={})

    def seen(**params):
        return [(p["store_code"], p["seen_at"]) for p in client.get(
            f"/api/products/{milk}", params={"sort": "seen", **params}).json()["prices_by_store"]]

    assert seen() == [("1148", T0.isoformat()), ("1149", t1.isoformat()),
                      ("1147", t2.isoformat()), ("1150", t2.isoformat())]
    assert [code for code, _ in seen(desc="1")] == ["1150", "1147", "1149", "1148"]
    page = client.get(f"/products/{milk}", params={"sort": "seen"}).text
    assert re.findall(r"<small>(\d+)</small>.*?(\d{4}-\d\d-\d\d \d\d:\d\d UTC)", page,
                      re.DOTALL) == [("1148", "2026-11-20 01:00 UTC"),
                                     ("1149", "2026-11-21 01:00 UTC"),
                                     ("1147", "2026-11-22 01:00 UTC"),
                                     ("1150", "2026-11-22 01:00 UTC")]


def test_history_is_a_step_series_per_chain_and_per_store(client, world):
    history = client.get(f"/api/products/{world['milk']}/history").json()
    chains = {s["chain"]: [(p["price"], p["on_special"]) for p in s["points"]]
              for s in history["chains"]}
    # Aldi's line is its lowest store: 3.10 (G102) until G102 rose to 3.50 - then G105's 3.20.
    assert chains == {"aldi": [(3.1, False), (3.2, False)],
                      "coles": [(4.0, False), (3.0, True)]}
    assert [(s["store_code"], len(s["points"])) for s in history["stores"]] == [
        ("G102", 2), ("G105", 1), ("COL:401", 2)]
    csv = client.get(f"/products/{world['milk']}/history.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("series,chain,store_code")
    assert len(lines) == 1 + 4 + 5  # 4 chain points, 5 store points
    assert client.get(f"/products/{world['milk']}/history.json").json() == history


def test_product_page_chart_has_a_line_per_chain_or_per_store(client, world):
    page = client.get(f"/products/{world['milk']}").text
    assert re.findall(r'<path class="series" data-series="([^"]+)"', page) == ["aldi", "coles"]
    assert page.count('class="special"') >= 1 and 'class="was"' in page
    per_store = client.get(f"/products/{world['milk']}", params={"stores": "1"}).text
    assert re.findall(r'data-series="([^"]+)"', per_store) == [
        "aldi:G102", "aldi:G105", "coles:COL:401"]
    assert "<script" not in page  # no JavaScript, and every asset from grocer itself
    assert re.findall(r'<link[^>]*href="([^"]+)"', page) == ["/static/grocer.css"]


def test_changes_biggest_first_first_sightings_apart(client, world):
    body = client.get("/api/changes").json()  # default: the last day
    assert [(c["store_code"], c["old_price"], c["new_price"], c["percent"], c["direction"])
            for c in body["changes"]] == [("COL:401", 4.0, 3.0, -25.0, "drop"),
                                          ("G102", 3.1, 3.5, 12.9, "rise")]
    assert body["total_changes"] == 2 and body["total_first_seen"] == 1
    assert [c["product_id"] for c in body["first_seen"]] == [world["bread"]]
    assert client.get("/api/changes", params={"chain": "aldi"}).json()["total_changes"] == 1
    since = ago(hours=1, minutes=5)
    late = client.get("/api/changes", params={"since": since.isoformat()}).json()
    assert [c["store_code"] for c in late["changes"]] == ["COL:401"]
    older = client.get("/api/changes", params={"since": ago(11).date().isoformat()}).json()
    assert older["total_changes"] == 2 and older["total_first_seen"] == 4
    assert client.get("/api/changes", params={"since": "yesterday"}).status_code == 400
    page = client.get("/changes").text
    assert "-25.0%" in page and "+12.9%" in page and "First sightings" in page


def test_stores_fresh_stale_failed_and_never_crawled(client, world, engine):
    rows = world["rows"]
    rows.store(world["coles"], "COL:999")
    with engine.begin() as connection:
        connection.execute(CrawlRun.__table__.insert(), [
            {"spider": "aldi", "stores": ["G102", "G105"], "stores_completed": ["G102", "G105"],
             "started_at": ago(10), "finished_at": ago(10), "close_reason": "finished",
             "store_stats": {}, "stats": {}},
            {"spider": "aldi", "stores": ["G102"], "stores_completed": ["G102"],
             "started_at": ago(hours=2), "finished_at": ago(hours=2),
             "close_reason": "finished", "store_stats": {}, "stats": {}},
            {"spider": "coles", "stores": ["COL:401"], "stores_completed": [],
             "started_at": ago(hours=1), "finished_at": ago(hours=1), "close_reason": "blocked",
             "store_stats": {}, "stats": {}}])
    body = client.get("/api/stores").json()
    chains = {c["chain"]: c for c in body["chains"]}
    assert chains["aldi"]["counts"] == {"fresh": 1, "stale": 1, "failed": 0, "never": 0}
    assert chains["coles"]["counts"] == {"fresh": 0, "stale": 0, "failed": 1, "never": 1}
    states = {s["store_code"]: (s["state"], s["outcome"]) for c in body["chains"]
              for s in c["stores"]}
    assert states["G105"] == ("stale", "completed")
    assert states["COL:401"] == ("failed", "not completed (run closed blocked)")
    assert states["COL:999"] == ("never", None)
    page = client.get("/stores").text
    assert 'data-state="failed"' in page and 'data-state="stale"' in page


def test_search_text_is_written_by_resolution(engine, client):
    resolver = ProductResolver(engine)
    product = {"name": "Tim-Tam Chocolate Biscuits", "brand": "Arnott's",
               "normalized_brand": "arnotts", "normalized_name_brand_size": "tim tam arnotts",
               "sku": "77"}
    (resolution,) = resolver.resolve_batch([product], [Rows(engine).company("aldi")], ["aldi"])
    found = client.get("/api/products", params={"q": "arnott tim"}).json()["items"]
    assert [item["id"] for item in found] == [resolution.product_id]
    assert [i["id"] for i in client.get("/api/products", params={"q": "77"}).json()["items"]] \
        == [resolution.product_id]


def test_migration_fills_the_search_text_of_existing_products(engine, client):
    rows = Rows(engine)
    brand = rows.brand("devondale", name="Devondale")
    migrate.downgrade(engine, "0003")
    with engine.begin() as connection:
        old_product = sa.table("product", *(sa.column(name) for name in (
            "name", "normalized_name_brand_size", "brand_id", "sizes", "brand_name_company_pairs",
            "category_paths", "has_no_coles_barcode", "key_version", "created_at")))
        connection.execute(old_product.insert().values(
            name="Tasty Cheese", normalized_name_brand_size="cheese tasty", brand_id=brand,
            sizes="[]", brand_name_company_pairs="[]", category_paths="[]",
            has_no_coles_barcode=False, key_version=1, created_at=NOW.replace(tzinfo=None)))
    migrate.upgrade(engine)
    assert [i["name"] for i in client.get("/api/products", params={"q": "devon tas"}).json()[
        "items"]] == ["Tasty Cheese"]
    with engine.begin() as connection:  # renamed (e.g. by a fix-up): the index follows
        connection.execute(update(Product).values(search_text="mature cheddar"))
    assert client.get("/api/products", params={"q": "tasty"}).json()["total"] == 0
    assert client.get("/api/products", params={"q": "cheddar"}).json()["total"] == 1


def test_a_slow_query_does_not_hold_up_other_requests(monkeypatch, db_url):
    """Database work runs in the threadpool: while one request waits inside a query, the
    server answers others (on the event loop it would answer nothing until the query ends)."""
    import threading
    import urllib.request

    from grocer.db import catalog
    from tests.helpers.web_server import running_app

    entered, release = threading.Event(), threading.Event()

    def slow_store_health(*args, **kwargs):
        entered.set()
        release.wait(30)
        return {"days": 7, "chains": []}

    monkeypatch.setattr(catalog, "store_health", slow_store_health)
    with running_app(create_app(db_url)) as url:
        slow = threading.Thread(target=urllib.request.urlopen, args=(url + "/api/stores",),
                                kwargs={"timeout": 30})
        slow.start()
        try:
            assert entered.wait(10)
            with urllib.request.urlopen(url + "/api/products?q=x", timeout=10) as response:
                assert response.status == 200
        finally:
            release.set()
            slow.join(30)
