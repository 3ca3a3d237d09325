"""IGA's store locator: Salefinder's `storelocator/183` (spec §4.4 [hist]), asked for the stores
near each Salefinder location id (1 to 23,001, every `step`-th). The answer is JSONP around
`{"content": "<html>"}` whose elements carry each store as JSON in `data-storedata`: its code
(`storeId`) and the retailer store id the IGA shop API wants (`tag`, the site store id)."""

import json

from parsel import Selector

from grocer.spiders.locator import LocatorSpider, as_float, text

RETAILER = 183  # IGA at Salefinder
LAST_LOCATION_ID = 23001


def jsonp_payload(body: str):
    """The JSON of a JSONP (`callback({...})`) or plain JSON response."""
    body = body.strip()
    if not body.startswith("{"):
        body = body[body.index("(") + 1:body.rindex(")")]
    return json.loads(body)


class IgaStoresSpider(LocatorSpider):
    name = "iga_stores"
    company = "iga"
    base_url_setting = "IGA_STORES_BASE_URL"
    user_agent_setting = "IGA_USER_AGENT"

    def sweep_points(self):
        return list(range(1, LAST_LOCATION_ID + 1, self.step))

    def point_request(self, point, meta):
        return self.site_request(
            f"/location/storelocator/{RETAILER}/", callback=self.parse_point, meta=meta,
            params={"format": "json", "saleGroup": 0, "limit": 1500, "locationId": point})

    def decode(self, response):
        try:
            return jsonp_payload(response.text)
        except (ValueError, AttributeError):
            return None

    def read_point(self, data, response):
        content = data["content"]
        if not isinstance(content, str):
            raise TypeError("content is not HTML")
        return [json.loads(value) for value in
                Selector(text=content or "<html/>").xpath("//@data-storedata").getall()], None

    def store_fields(self, raw):
        hours = raw.get("hours")
        return {
            "store_code": text(raw.get("storeId")), "site_store_id": text(raw.get("tag")),
            "name": text(raw.get("storeName")), "division": None,
            "address": text(raw.get("address")), "suburb": text(raw.get("suburb")),
            "state": text(raw.get("state")), "postcode": text(raw.get("postcode")),
            "latitude": as_float(raw.get("latitude")),
            "longitude": as_float(raw.get("longitude")),
            "opening_hours": hours if isinstance(hours, dict) and hours else None,
        }
