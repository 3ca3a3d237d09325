"""Coles' store finder: the website's GraphQL `GetStores` around a position, for the brands
Coles, Liquorland and Vintage Cellars (spec §4.3 [hist]). Same session as the `coles` spider:
the browser's cookies and User-Agent, and a block page closes the crawl with reason `blocked`.
Store ids come as `COL:401`; the site's store number is the part after the colon."""

import json

from grocer.normalization.values import dig
from grocer.spiders.coles import POLITENESS, ColesSite, body_text
from grocer.spiders.locator import LocatorSpider, as_float, text

# Brand id → the division its stores are in (as in SplitCart's store list).
BRANDS = {"COL": "Coles Supermarkets", "LQR": "Liquorland", "VIN": "Vintage Cellars"}
GET_STORES = """query GetStores($brandIds: [BrandId!], $latitude: Float!, $longitude: Float!) {
  stores(brandIds: $brandIds, latitude: $latitude, longitude: $longitude) {
    results { store { id name phone isTrading
      address { addressLine suburb state postcode }
      position { latitude longitude }
      brand { id name storeFinderId } } }
  }
}"""


class ColesStoresSpider(ColesSite, LocatorSpider):
    name = "coles_stores"
    company = "coles"
    divisions = tuple(BRANDS.values())
    custom_settings = {**LocatorSpider.custom_settings, **POLITENESS}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.subscription_key = crawler.settings.get("COLES_API_SUBSCRIPTION_KEY")
        return spider

    def point_request(self, point, meta):
        latitude, longitude = point
        body = {"operationName": "GetStores", "query": GET_STORES,
                "variables": {"brandIds": list(BRANDS), "latitude": latitude,
                              "longitude": longitude}}
        headers = {"Content-Type": "application/json", "Accept": "*/*",
                   "Origin": self.base_url, "Referer": f"{self.base_url}/find-stores"}
        if self.subscription_key:
            headers["ocp-apim-subscription-key"] = self.subscription_key
        return self.site_request("/api/graphql", callback=self.parse_point, meta=meta,
                                 method="POST", body=json.dumps(body), headers=headers)

    def decode(self, response):
        self.check_blocked(response)
        try:
            return json.loads(body_text(response))
        except ValueError:
            return None

    def read_point(self, data, response):
        results = dig(data, "data", "stores", "results")
        if not isinstance(results, list):
            raise TypeError(f"no store results (errors: {data.get('errors')})")
        return [result["store"] for result in results], None

    def store_fields(self, raw):
        code = text(raw.get("id"))
        brand, _, number = (code or "").partition(":")
        address = raw.get("address") or {}
        position = raw.get("position") or {}
        return {
            "store_code": code, "site_store_id": number or None,
            "name": text(raw.get("name")), "division": BRANDS.get(brand),
            "address": text(address.get("addressLine")), "suburb": text(address.get("suburb")),
            "state": text(address.get("state")), "postcode": text(address.get("postcode")),
            "latitude": as_float(position.get("latitude")),
            "longitude": as_float(position.get("longitude")),
            "opening_hours": None,
        }
