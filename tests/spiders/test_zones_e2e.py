"""Zone crawl (-a by=zone) against the simulated national chain (tests/helpers/national_site)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from grocer.db.exports import iter_prices
from grocer.db.models import PriceHistory, PriceZone, PriceZoneMember
from grocer.db.stores import load_stores
from tests.helpers.crawling import Crawler
from tests.helpers.fixture_server import serve
from tests.helpers.national_site import NationalSite, accuracy

DAY = 0  # basket_day: the rotation is pinned so the planted basket override is in the basket
SETTINGS = {"EXTENSIONS": json.dumps({
    "tests.helpers.stats_dump.StatsDump": 0, "grocer.extensions.zones.ZoneRecorder": 450,
    "grocer.extensions.reconcile.ReconcileOnClose": 500})}


@pytest.fixture
def national(engine):
    site = NationalSite.generate(stores=24, zones=3, leaves=20, products_per_leaf=20)
    load_stores(engine, site.store_list())
    with serve(site) as urls:
        site.urls = urls
        yield site


def zone_crawl(tmp_path, db_url, site, day=DAY):
    crawler = Crawler(tmp_path, db_url, site.urls)
    site.log.clear()
    result = crawler("aldi", args={"stores": "all", "by": "zone", "basket_day": day},
                     settings=SETTINGS)
    assert result.returncode == 0, result.log[-3000:]
    return result, len([r for r in site.log if r.path != "/robots.txt"])


def test_zone_crawl_prices_every_store_then_follows_a_zone_change(tmp_path, db_url, engine,
                                                                  national):
    planted = national.plant_overrides(DAY, count=2)
    result, requests = zone_crawl(tmp_path / "n1", db_url, national)
    full_crawl = len(national.store_codes) * (1 + len(national.leaf_slugs))
    assert requests < 0.5 * full_crawl
    assert result.stat("grocer/zones/new_zone") == 3
    with engine.connect() as connection:
        assert connection.scalar(select(PriceZone.id).limit(1)) is not None
        members = connection.execute(select(PriceZoneMember)).all()
    assert len(members) == 24
    night1 = accuracy(engine, national)
    assert night1.share >= 0.995, night1.wrong[:5]
    wrong = {(code, sku) for code, sku, _, _ in night1.wrong}
    assert not set(planted["basket"]) & wrong  # every basket override found
    assert set(planted["outside"]) <= wrong  # outside the basket: only a later night finds it

    # A member store's export: its zone's prices, inferred from the representative.
    member = planted["basket"][0][0]
    rows = list(iter_prices(engine, company="aldi", store=member))
    assert len(rows) == len(national.base_price)
    inferred = [row for row in rows if row["inferred_from"]]
    assert {row["inferred_from"] for row in inferred} == {national.store_codes[
        national.zone_of[member]]}
    assert len(rows) - len(inferred) == 1  # its one override is its own row
    assert all(row["zone_verified_at"] is not None for row in inferred)
    with engine.connect() as connection:
        history_stores = {s for (s,) in connection.execute(
            select(PriceHistory.store_id).distinct())}
    assert len(history_stores) == 3 + 2  # the representatives (and the overriding members)

    # Night 2: stores move to another zone; the move is detected and they are priced right.
    moved = [national.store_codes[i] for i in (10, 13)]  # zones 1 and 1 → 2
    national.move(moved, 2)
    result, _ = zone_crawl(tmp_path / "n2", db_url, national)
    assert result.stat("grocer/zones/moved") == 2
    night2 = accuracy(engine, national)
    assert night2.share >= 0.995, night2.wrong[:5]
    assert not [w for w in night2.wrong if w[0] in moved]


def test_a_failed_representative_is_replaced_by_a_member(tmp_path, db_url, engine, national):
    zone_crawl(tmp_path / "n1", db_url, national)
    representative = national.store_codes[0]
    leaf_key = "7019"  # a leaf outside the basket: only the full crawl asks for it
    national.fault(("servicePoint=" + representative, "categoryKey=" + leaf_key),
                   *["500"] * 10)
    result, _ = zone_crawl(tmp_path / "n2", db_url, national)
    assert result.stat("grocer/zones/representatives_replaced") == 1
    assert "replaces representative Z001 (full crawl failed)" in result.log
    with engine.connect() as connection:
        zone_rep = connection.execute(select(PriceZone.representative_store_id)).scalars().all()
    assert len(zone_rep) == 3
    members = [c for c in national.store_codes if national.zone_of[c] == 0]
    assert accuracy(engine, national, members).share >= 0.995
