"""Woolworths' store locator: `/apis/ui/StoreLocator/Stores` around a position (spec §4.2
[hist]), after the home-page visit whose cookies the API wants (as the `woolworths` spider)."""

import re

from grocer.spiders.locator import LocatorSpider, as_float, text
from grocer.spiders.woolworths import WARM_UP_HEADERS, WoolworthsSpider

DIVISIONS = ("SUPERMARKETS", "EG", "AMPOL")  # supermarkets and the fuel partners' shops
MAX_STORES = 100  # per point, nearest first
# "Mon: 0600-2000", "Sat: Closed"
TRADING_HOURS = re.compile(r"^\s*(\w{3})\w*:\s*(?:(\d\d)(\d\d)\s*-\s*(\d\d)(\d\d)|(closed))",
                           re.I)


def opening_hours(trading_hours) -> dict[str, str] | None:
    """{"Mon": "06:00-20:00", "Sat": "closed", ...} from TradingHours (its "Today" and
    "Tomorrow" entries are named by their display text, so the result is the same every day)."""
    hours = {}
    for entry in trading_hours or []:
        match = TRADING_HOURS.match(str((entry or {}).get("TradingHourForDisplay") or ""))
        if match:
            day, *times, closed = match.groups()
            hours[day.title()] = "closed" if closed else "{}:{}-{}:{}".format(*times)
    return hours or None


class WoolworthsStoresSpider(LocatorSpider):
    name = "woolworths_stores"
    company = "woolworths"
    base_url_setting = "WOOLWORTHS_BASE_URL"
    user_agent_setting = "WOOLWORTHS_USER_AGENT"
    divisions = DIVISIONS

    request_headers = WoolworthsSpider.request_headers  # the browser-like API headers

    def warm_up_requests(self):
        yield self.site_request("/", callback=self.sweep, headers=WARM_UP_HEADERS)

    def point_request(self, point, meta):
        latitude, longitude = point
        return self.site_request(
            "/apis/ui/StoreLocator/Stores", callback=self.parse_point, meta=meta,
            params={"latitude": latitude, "longitude": longitude, "Max": MAX_STORES,
                    "Division": ",".join(DIVISIONS), "Facility": ""})

    def read_point(self, data, response):
        stores = data["Stores"]
        if not isinstance(stores, list):
            raise TypeError("Stores is not a list")
        if len(stores) >= MAX_STORES:
            self.count("grocer/locator/saturated_points")  # a finer step may find more
        return stores, None

    def store_fields(self, raw):
        return {
            "store_code": text(raw.get("StoreNo")), "site_store_id": None,
            "name": text(raw.get("Name")), "division": text(raw.get("Division")),
            "address": text(raw.get("AddressLine1")), "suburb": text(raw.get("Suburb")),
            "state": text(raw.get("State")), "postcode": text(raw.get("Postcode")),
            "latitude": as_float(raw.get("Latitude")),
            "longitude": as_float(raw.get("Longitude")),
            "opening_hours": opening_hours(raw.get("TradingHours")),
        }
