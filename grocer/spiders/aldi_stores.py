"""Aldi's store locator: `/v2/service-points` around a position (spec §4.1 [hist]), paged by
`offset` while the response's `meta.pagination.totalCount` says there are more."""

from grocer.normalization.values import as_int, dig
from grocer.spiders.locator import LocatorSpider, as_float, text


class AldiStoresSpider(LocatorSpider):
    name = "aldi_stores"
    company = "aldi"
    base_url_setting = "ALDI_BASE_URL"
    user_agent_setting = "ALDI_USER_AGENT"

    def point_request(self, point, meta, offset=0):
        latitude, longitude = point
        params = {"latitude": latitude, "longitude": longitude, "serviceType": "walk-in",
                  "includeNearbyServicePoints": "true"}
        if offset:
            params["offset"] = offset
        return self.site_request("/v2/service-points", callback=self.parse_point, params=params,
                                 meta={**meta, "coordinates": point})

    def read_point(self, data, response):
        stores = data["data"]
        if not isinstance(stores, list):
            raise TypeError("data is not a list")
        offset = as_int(dig(data, "meta", "pagination", "offset")) or 0
        total = as_int(dig(data, "meta", "pagination", "totalCount"))
        following = offset + len(stores)
        if stores and total is not None and following < total:
            return stores, self.point_request(response.meta["coordinates"],
                                              {"point": response.meta["point"]}, following)
        return stores, None

    def store_fields(self, raw):
        address = raw.get("address") or {}
        return {
            "store_code": text(raw.get("id")), "site_store_id": None, "name": text(raw.get("name")),
            "division": None, "address": text(address.get("address1")),
            "suburb": text(address.get("city")),
            "state": text(address.get("regionIsoCode")) or text(address.get("regionName")),
            "postcode": text(address.get("zipCode")),
            "latitude": as_float(address.get("latitude")),
            "longitude": as_float(address.get("longitude")),
            "opening_hours": None,
        }
