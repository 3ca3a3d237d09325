"""Store-locator spiders: sweep the country, yield every store once (`scrapy crawl aldi_stores`).

A `LocatorSpider` asks a chain's store locator at every point of a sweep - a grid over
Australia's populated areas (plus a coarse one over the whole country) for locators searched by
position, ids for IGA's - follows a point's further pages, and yields each store once (by its
code) as a `StoreItem`. The items go only to the store pipeline (`custom_settings`), which
loads them as `scrapy loadstores` does and, after a complete sweep, marks the stores the
locator no longer lists closed.

A sweep with a failed point (a request lost past retries, an unusable response, a callback
error) closes with reason `sweep_incomplete` - at once after `max_failed_points` - and one that
found no store at all with `no_stores_found`; then no store is closed. No database is needed to build or run the spider.

A chain spider declares the request of a point (`point_request`), how to read a response
(`read_point`: its raw stores and the request of the point's next page, if any) and how a raw
store becomes a StoreItem (`store_fields`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from scrapy import Request
from scrapy.exceptions import CloseSpider

from grocer.items import StoreItem
from grocer.spiders.arguments import positive_int
from grocer.spiders.site import GrocerSpider

KM_PER_DEGREE = 111.2  # of latitude (and of longitude at the equator)


@dataclass(frozen=True)
class Area:
    south: float
    north: float
    west: float
    east: float


# Where nearly every Australian (and so nearly every supermarket) is; swept at the chain's step.
POPULATED_AREAS = (
    Area(-39.2, -15.5, 138.0, 153.7),  # Queensland to Victoria, the ACT
    Area(-38.1, -31.0, 133.5, 141.0),  # South Australia's south
    Area(-35.2, -27.5, 114.5, 122.0),  # Western Australia's south-west, the Goldfields
    Area(-43.7, -40.6, 144.5, 148.5),  # Tasmania
    Area(-14.8, -12.0, 130.5, 132.5),  # Darwin, Katherine
)
# The whole country, swept COARSE_FACTOR times coarser: remote towns.
AUSTRALIA = Area(-43.7, -10.6, 113.0, 153.7)
COARSE_FACTOR = 4


def grid(area: Area, step_km: float) -> list[tuple[float, float]]:
    """Cell centres of a grid of about step_km over an area (at least one point)."""
    rows = max(1, math.ceil((area.north - area.south) * KM_PER_DEGREE / step_km))
    lat_step = (area.north - area.south) / rows
    points = []
    for row in range(rows):
        lat = area.south + (row + 0.5) * lat_step
        width_km = (area.east - area.west) * KM_PER_DEGREE * math.cos(math.radians(lat))
        columns = max(1, math.ceil(width_km / step_km))
        lon_step = (area.east - area.west) / columns
        points += [(round(lat, 4), round(area.west + (column + 0.5) * lon_step, 4))
                   for column in range(columns)]
    return points


def australia_grid(step_km: float) -> list[tuple[float, float]]:
    """(latitude, longitude) points: the populated areas at step_km, the rest coarser."""
    points = [point for area in POPULATED_AREAS for point in grid(area, step_km)]
    return points + grid(AUSTRALIA, step_km * COARSE_FACTOR)


def as_float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def text(value) -> str | None:
    """A trimmed string, None for nothing."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


class LocatorSpider(GrocerSpider):
    """Shared machinery of the store-locator spiders; see the module docstring."""

    custom_settings: ClassVar[dict] = {
        # Store items never meet the product pipelines, nor a crawl the product extensions.
        "ITEM_PIPELINES": {"grocer.pipelines.stores.StorePipeline": 100},
        # The store pipeline reads the spider's sweep at close: it runs in the crawl's process.
        "GROCER_PIPELINE_WORKER": False,
        "EXTENSIONS": {"grocer.extensions.health.CrawlHealth": None,
                       "grocer.extensions.reconcile.ReconcileOnClose": None},
    }
    # Divisions the locator lists (the scope in which unlisted stores close); None: all.
    divisions: ClassVar[tuple[str, ...] | None] = None
    default_step: ClassVar[int] = 50  # grid spacing in km (IGA: location-id stride); -a step=
    progress_share: ClassVar[float] = 0.05  # a progress line per 5% of the points
    # Past this many failed points the sweep stops: the rest would only load a failing site.
    max_failed_points: ClassVar[int] = 20

    def __init__(self, *args, step=None, **kwargs):
        if kwargs.get("stores") or kwargs.get("limit"):
            raise ValueError(f"{self.name} sweeps every store: it takes no -a stores= or "
                             "-a limit= (a coarser -a step= makes a quicker sweep)")
        super().__init__(*args, **kwargs)
        self.step = positive_int(step, "step") or self.default_step
        self.points = self.sweep_points()
        self.points_done = 0
        self.failed_points: set[int] = set()
        self.codes: set[str] = set()
        self.started = 0.0
        self.next_progress = 0

    # --- what a chain spider declares ---------------------------------------------------------

    def sweep_points(self) -> list:
        return australia_grid(self.step)

    def warm_up_requests(self) -> Iterable[Request]:
        """Requests before the sweep (session cookies); their callback must be `sweep`."""
        return ()

    def point_request(self, point, meta: dict) -> Request:
        raise NotImplementedError

    def read_point(self, data, response) -> tuple[list, Request | None]:
        """The raw stores of a response and the request of the point's next page (or None);
        raises KeyError/TypeError/... on a response of another shape."""
        raise NotImplementedError

    def store_fields(self, raw: dict) -> dict[str, Any]:
        """StoreItem fields (but `company`) of a raw store; no `store_code`: not a store."""
        raise NotImplementedError

    # --- the sweep ----------------------------------------------------------------------------

    async def start(self):
        self.started = time.monotonic()
        self.logger.info("sweeping %d points (step %d)", len(self.points), self.step)
        self.crawler.stats.set_value("grocer/locator/points", len(self.points))
        warm_up = list(self.warm_up_requests())
        for request in warm_up or self.sweep():
            yield request

    def sweep(self, response=None):
        for index, point in enumerate(self.points):
            yield self.point_request(point, {"point": index})

    def decode(self, response):
        return self.read_json(response)

    def parse_point(self, response):
        data = self.decode(response)
        if data is None:
            yield from self.retry_bad_response(response, "invalid_json")
            return
        try:
            stores, next_page = self.read_point(data, response)
            found = [self.store_fields(raw) if isinstance(raw, dict) else {} for raw in stores]
        except (KeyError, TypeError, AttributeError, IndexError, ValueError):
            yield from self.retry_bad_response(response, "unexpected_shape")
            return
        for fields in found:
            item = self.item(fields)
            if item is not None:
                yield item
        if next_page is not None:
            yield next_page
        else:
            self.point_finished()

    def item(self, fields: dict) -> StoreItem | None:
        """A StoreItem the first time a store code is seen; None for a repeat or no code."""
        code = fields.get("store_code")
        if not code:
            self.count("grocer/locator/stores_without_code")
            return None
        if code in self.codes:
            self.count("grocer/locator/duplicates")  # also listed near another point
            return None
        self.codes.add(code)
        self.count("grocer/locator/stores")
        return StoreItem(company=self.company, **fields)

    def point_finished(self) -> None:
        self.points_done += 1
        self.count("grocer/locator/points_done")
        if self.points_done >= self.next_progress or self.points_done == len(self.points):
            self.next_progress = self.points_done + max(1, int(len(self.points)
                                                               * self.progress_share))
            self.logger.info("%d/%d points done, %d stores found, %d points failed, %.0fs",
                             self.points_done, len(self.points), len(self.codes),
                             len(self.failed_points), time.monotonic() - self.started)

    def record_failure(self, request: Request, reason: str) -> None:
        index = request.meta.get("point")
        where = "warm-up" if index is None else f"point {index}"
        self.logger.error("%s: %s: %s", where, reason, request.url)
        self.count("grocer/locator/points_failed")
        if index is None:  # no session: no point can be swept
            self.failed_points.add(-1)
            return
        self.failed_points.add(index)
        self.point_finished()
        if len(self.failed_points) == self.max_failed_points:
            self.logger.error("%d points failed: the sweep stops", len(self.failed_points))
            raise CloseSpider("sweep_incomplete")

    def on_spider_error(self, failure, response, spider):
        try:
            super().on_spider_error(failure, response, spider)
        except CloseSpider:
            pass  # a signal handler cannot close the crawl; the next failure or idle does

    def sweep_complete(self) -> bool:
        """Every point done, none failed, a store found: the list is the locator's all."""
        return (self.points_done == len(self.points) and not self.failed_points
                and bool(self.codes))

    def on_idle(self):
        # The sweep is over: a failed point means the list is incomplete, and an empty list
        # a broken locator; either must not close any store.
        if self.failed_points:
            raise CloseSpider("sweep_incomplete")
        if not self.codes:
            raise CloseSpider("no_stores_found")

    def closed(self, reason):
        complete = self.sweep_complete()
        self.logger.log(
            logging.INFO if complete else logging.ERROR,
            "sweep closed (%s): %d/%d points done, %d failed, %d stores%s", reason,
            self.points_done, len(self.points), len(self.failed_points), len(self.codes),
            "" if complete else " - the sweep is incomplete: no store was closed")
