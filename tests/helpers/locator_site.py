"""The chains' store locators, served beside the fixture sites of tests/helpers/fixture_server.py.

Stores: tests/fixtures/sites/<chain>/locator_stores.json, in the real response shapes (IGA's
wrapped as {"locationId", "store"}). A locator lists the stores within RADIUS_KM of the
position asked, nearest first (IGA: within LOCATION_SPAN Salefinder location ids of the id asked):

  Aldi        GET  /v2/service-points?latitude&longitude&serviceType=walk-in&…[&offset]
                   (ALDI_PAGE_SIZE stores a page, meta.pagination.totalCount)
  Woolworths  GET  /apis/ui/StoreLocator/Stores?latitude&longitude&Max&Division (session cookie)
  Coles       POST /api/graphql  GetStores {brandIds, latitude, longitude} (browser cookie)
  Salefinder  GET  /location/storelocator/183/?format=json&…&locationId  (JSONP, data-storedata)

Everything else is the fixture sites' (the product APIs), so a test can sweep the stores and
crawl them against one server. `site.drop_store(chain, code)` makes a locator forget a store.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field

from tests.helpers.fixture_server import (
    HOSTS,
    SITES_DIR,
    WOOLWORTHS_SESSION_COOKIE,
    FixtureServer,
    FixtureSite,
    Handler,
    LoggedRequest,
    running_site,
)

RADIUS_KM = 350
LOCATION_SPAN = 300
ALDI_PAGE_SIZE = 2  # small, so that paging shows with a few stores (the real API: 10)
LOCATOR_CHAINS = ("aldi", "coles", "woolworths", "iga")
POSITIONS = {  # where a chain's raw store keeps its position
    "aldi": lambda s: (s["address"]["latitude"], s["address"]["longitude"]),
    "woolworths": lambda s: (s["Latitude"], s["Longitude"]),
    "coles": lambda s: (s["store"]["position"]["latitude"], s["store"]["position"]["longitude"]),
}
CODES = {"aldi": lambda s: s["id"], "woolworths": lambda s: s["StoreNo"],
         "coles": lambda s: s["store"]["id"], "iga": lambda s: s["store"]["storeId"]}


def distance_km(lat1, lon1, lat2, lon2) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, map(float, (lat1, lon1, lat2, lon2)))
    a = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371 * math.asin(math.sqrt(a))


@dataclass
class LocatorSite(FixtureSite):
    stores: dict = field(default_factory=dict)  # chain → raw stores

    @classmethod
    def from_fixtures(cls) -> LocatorSite:
        site = super().from_fixtures()
        for chain in LOCATOR_CHAINS:
            site.stores[chain] = json.loads(
                (SITES_DIR / chain / "locator_stores.json").read_text(encoding="utf-8"))
        return site

    def drop_store(self, chain: str, code: str) -> None:
        self.stores[chain] = [s for s in self.stores[chain] if CODES[chain](s) != code]

    def near(self, chain: str, latitude, longitude) -> list:
        found = [(distance_km(latitude, longitude, *POSITIONS[chain](s)), s)
                 for s in self.stores[chain]]
        return [store for km, store in sorted(found, key=lambda pair: pair[0])
                if km <= RADIUS_KM]


class LocatorHandler(Handler):
    def route(self, request: LoggedRequest):
        route = {("aldi", "/v2/service-points"): self.aldi_stores,
                 ("woolworths", "/apis/ui/StoreLocator/Stores"): self.woolworths_stores,
                 ("coles", "/api/graphql"): self.coles_stores,
                 ("salefinder", "/location/storelocator/183/"): self.iga_stores,
                 }.get((self.server.chain, request.path))
        return route(request) if route else super().route(request)

    def query(self, request: LoggedRequest) -> dict:
        return {key: values[0] for key, values in request.query.items()}

    def aldi_stores(self, request):
        query = self.query(request)
        if query.get("serviceType") != "walk-in" or "latitude" not in query:
            return self.send(400, {"errors": ["bad request"]})
        stores = self.site.near("aldi", query["latitude"], query["longitude"])
        offset = int(query.get("offset", 0))
        return self.send(200, {"data": stores[offset:offset + ALDI_PAGE_SIZE], "meta": {
            "pagination": {"offset": offset, "limit": ALDI_PAGE_SIZE,
                           "totalCount": len(stores)}}})

    def woolworths_stores(self, request):
        if WOOLWORTHS_SESSION_COOKIE not in request.cookies:
            return self.send(403, "<html>Access Denied</html>", "text/html")
        query = self.query(request)
        divisions = set(query.get("Division", "").split(","))
        stores = [s for s in self.site.near("woolworths", query["latitude"], query["longitude"])
                  if s["Division"] in divisions]
        return self.send(200, {"Stores": stores[:int(query["Max"])]})

    def coles_stores(self, request):
        required = self.site.coles_required_cookie
        if required and required not in request.cookies:
            return self.send(200, (SITES_DIR / "coles" / "block_page.html").read_text(),
                             "text/html")
        body = json.loads(request.body)
        variables = body["variables"]
        if body.get("operationName") != "GetStores":
            return self.send(200, {"errors": [{"message": "unknown operation"}]})
        brands = set(variables["brandIds"])
        results = [s for s in self.site.near("coles", variables["latitude"],
                                             variables["longitude"])
                   if s["store"]["brand"]["id"] in brands]
        return self.send(200, {"data": {"stores": {"results": results}}})

    def iga_stores(self, request):
        location = int(self.query(request)["locationId"])
        stores = [s["store"] for s in self.site.stores["iga"]
                  if abs(s["locationId"] - location) <= LOCATION_SPAN]
        content = "".join(f'<div class="sf-store" data-storedata="{html.escape(json.dumps(s))}">'
                          f"{html.escape(s['storeName'])}</div>" for s in stores)
        return self.send(200, f"jQuery1720_1({json.dumps({'content': content})})",
                         "application/javascript")


class LocatorServer(FixtureServer):
    handler_class = LocatorHandler


def running_locator_site():
    """The fixture sites with their store locators (`site.urls["salefinder"]`: IGA's)."""
    return running_site(LocatorSite, LocatorServer, (*HOSTS, "salefinder"))
