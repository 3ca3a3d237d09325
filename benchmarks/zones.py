"""Price zones on the simulated national chain (tests/helpers/national_site.py), side by side in
one run: a full crawl of every store vs the zone crawl (-a by=zone) — requests and time —, the
share of (store, product) current prices equal to the site's truth, planted overrides found,
and a zone change between two nights. One JSON line at the end.

    python benchmarks/zones.py                       # small, < 2 min
    python benchmarks/zones.py --stores 200 --zones 8 --leaves 40 --products-per-leaf 50 \
        --full-sample 10                            # the issue's size

`--full-sample N` crawls N stores fully and scales their requests and time to every store (a
full crawl of 200 simulated stores is 400,000 prices: too long for a shared machine); every
store's full crawl asks for the same pages, so the request count scales exactly.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grocer.db.stores import load_stores  # noqa: E402
from tests.helpers.crawling import Crawler  # noqa: E402
from tests.helpers.database import fresh_database  # noqa: E402
from tests.helpers.fixture_server import serve  # noqa: E402
from tests.helpers.national_site import BASKET, NationalSite, accuracy  # noqa: E402

SETTINGS = {"EXTENSIONS": json.dumps({
    "tests.helpers.stats_dump.StatsDump": 0, "grocer.extensions.zones.ZoneRecorder": 450,
    "grocer.extensions.reconcile.ReconcileOnClose": 500}), "LOG_LEVEL": "WARNING"}


def crawl(site, workdir: Path, db_url: str, args: dict) -> tuple[int, float]:
    site.log.clear()
    started = time.monotonic()
    result = Crawler(workdir, db_url, site.urls)("aldi", args=args, settings=SETTINGS,
                                                 timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"crawl {args} failed: {result.log[-2000:]}")
    return (len([r for r in site.log if r.path != "/robots.txt"]),
            time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=40)
    parser.add_argument("--zones", type=int, default=4)
    parser.add_argument("--leaves", type=int, default=20)
    parser.add_argument("--products-per-leaf", type=int, default=25)
    parser.add_argument("--full-sample", type=int, default=0,
                        help="stores crawled fully, scaled to all (0: every store)")
    parser.add_argument("--moved", type=int, default=5, help="stores changing zone on night 2")
    options = parser.parse_args()

    site = NationalSite.generate(stores=options.stores, zones=options.zones,
                                 leaves=options.leaves,
                                 products_per_leaf=options.products_per_leaf)
    planted = site.plant_overrides(day=0, count=3)
    with tempfile.TemporaryDirectory() as tmp, serve(site) as urls:
        site.urls = urls
        tmp = Path(tmp)
        full_db, zone_db = f"sqlite:///{tmp / 'full.sqlite3'}", f"sqlite:///{tmp / 'zone.sqlite3'}"
        full_engine, zone_engine = fresh_database(full_db), fresh_database(zone_db)
        load_stores(full_engine, site.store_list())
        load_stores(zone_engine, site.store_list())

        sample = site.store_codes[:options.full_sample or options.stores]
        full_requests, full_seconds = crawl(site, tmp / "full", full_db,
                                            {"stores": ",".join(sample)})
        scale = options.stores / len(sample)
        full_requests, full_seconds = round(full_requests * scale), full_seconds * scale
        full_accuracy = accuracy(full_engine, site, sample).share

        zone_requests, zone_seconds = crawl(site, tmp / "night1", zone_db,
                                            {"stores": "all", "by": "zone", "basket_day": 0})
        night1 = accuracy(zone_engine, site)
        wrong = {(code, sku) for code, sku, _, _ in night1.wrong}
        basket_found = sum(pair not in wrong for pair in planted["basket"])

        # Night 2: stores in the middle of the list (never a zone's first) change zone.
        moved = site.store_codes[options.zones * 2:options.zones * 2 + options.moved]
        for code in moved:
            site.move([code], (site.zone_of[code] + 1) % options.zones)
        night2_requests, night2_seconds = crawl(site, tmp / "night2", zone_db,
                                                {"stores": "all", "by": "zone",
                                                 "basket_day": 1})
        night2 = accuracy(zone_engine, site)
        moved_right = accuracy(zone_engine, site, moved).share

    rotating_nights = BASKET.nights_to_cover()
    print(f"{'':28}{'full crawl':>14}{'zone crawl':>14}{'ratio':>8}")
    print(f"{'requests':28}{full_requests:>14,}{zone_requests:>14,}"
          f"{zone_requests / full_requests:>8.1%}")
    print(f"{'time (s)':28}{full_seconds:>14.1f}{zone_seconds:>14.1f}"
          f"{zone_seconds / full_seconds:>8.1%}")
    print(f"{'prices = truth':28}{full_accuracy:>14.2%}{night1.share:>14.2%}")
    print(f"basket overrides found: {basket_found}/{len(planted['basket'])}; overrides outside "
          f"every basket: {len(planted['outside'])} planted, not found (by design)")
    print(f"night 2: {len(moved)} stores moved zone: priced right {moved_right:.1%}; all "
          f"stores {night2.share:.2%}; {night2_requests:,} requests, {night2_seconds:.1f}s")
    print(f"an override in a rotating basket category is found within {rotating_nights} nights")
    print(json.dumps({
        "stores": options.stores, "zones": options.zones, "products": len(site.base_price),
        "full_requests": full_requests, "zone_requests": zone_requests,
        "request_ratio": round(zone_requests / full_requests, 4),
        "full_seconds": round(full_seconds, 1), "zone_seconds": round(zone_seconds, 1),
        "full_sampled_stores": len(sample), "prices_match": round(night1.share, 5),
        "basket_overrides_found": basket_found, "basket_overrides_planted": len(planted["basket"]),
        "night2_prices_match": round(night2.share, 5), "moved_stores": len(moved),
        "moved_priced_right": round(moved_right, 5), "night2_requests": night2_requests,
        "rotating_nights_to_cover": rotating_nights}))


if __name__ == "__main__":
    main()
