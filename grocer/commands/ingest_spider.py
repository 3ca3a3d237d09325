"""`scrapy ingest`: replay JSON lines through the four pipelines, like a finished crawl.

A line is either a grocer item (as written by `scrapy crawl … -O items.jsonl`; replayed from
`raw`) or a SplitCart archive line `{"product": {...}, "metadata": {"company", "scraped_date",
…}}` whose product is already cleaned: it skips the field map, not the validation. Derived
fields in a line are never trusted; the pipelines recompute them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging

import scrapy
from scrapy import signals

from grocer.chains import CHAINS
from grocer.crawlstate import CrawlState
from grocer.db.engine import engine_from_settings
from grocer.db.migrate import prepare_schema
from grocer.items import ProductItem
from grocer.normalization.dates import as_utc, sydney_midday

logger = logging.getLogger(__name__)

INVALID_LINES = "grocer/ingest/invalid_lines"
# Invalid lines logged one by one; the rest only counted.
LOGGED_INVALID_LINES = 20


class BadLine(ValueError):
    pass


def splitcart_scraped_at(metadata: dict) -> dt.datetime:
    """Midday in Sydney of the archive's scraped_date: the date survives the trip to UTC."""
    text = metadata.get("scraped_date")
    if not text:
        return dt.datetime.now(dt.timezone.utc)
    return sydney_midday(dt.date.fromisoformat(str(text)[:10]))


def feed_scraped_at(value) -> dt.datetime:
    """A feed line's scraped_at (ISO text; Scrapy's JSON encoder writes UTC without a zone)."""
    if value is None:
        return dt.datetime.now(dt.timezone.utc)
    try:
        return as_utc(value)
    except (TypeError, ValueError):
        raise BadLine(f"bad scraped_at {value!r}") from None


def default_store(company: str) -> str:
    chain = CHAINS.get(company)
    if chain is None or chain.default_store is None:
        raise BadLine(f"no store for company {company!r}: pass --store")
    return chain.default_store


def item_from_line(record, company: str | None, store: str | None) -> ProductItem:
    """The ProductItem for one decoded JSON line; BadLine when it is neither shape."""
    if not isinstance(record, dict):
        raise BadLine("not a JSON object")
    if isinstance(record.get("raw"), dict):
        line_company = (company or record.get("company") or "").strip().lower()
        if not line_company:
            raise BadLine("grocer item without company")
        return ProductItem(
            raw=record["raw"], company=line_company,
            store_code=str(store or record.get("store_code") or default_store(line_company)),
            scraped_at=feed_scraped_at(record.get("scraped_at")),
        )
    if isinstance(record.get("product"), dict):
        metadata = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
        line_company = (company or metadata.get("company") or metadata.get("company_name")
                        or "").strip().lower()
        if not line_company:
            raise BadLine("SplitCart line without metadata.company")
        try:
            scraped_at = splitcart_scraped_at(metadata)
        except ValueError:
            raise BadLine(f"bad scraped_date {metadata.get('scraped_date')!r}") from None
        return ProductItem(
            product=record["product"], company=line_company,
            store_code=str(store or metadata.get("store_id") or default_store(line_company)),
            scraped_at=scraped_at,
        )
    raise BadLine("neither a grocer item (raw) nor a SplitCart line (product)")


class IngestSpider(scrapy.Spider):
    """Yields one item per line of a JSON-lines file; makes no requests."""

    name = "ingest"
    custom_settings = {"ROBOTSTXT_OBEY": False}

    def __init__(self, path: str, company: str | None = None, store: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.path = path
        self.company = company.strip().lower() if company else None
        self.store = store
        # Replays never delist: a file is no proof that a product left the shelf.
        self.crawl_state = CrawlState(company=self.company or "ingest", partial=True)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        prepare_schema(engine_from_settings(crawler.settings), logger)
        spider.in_flight = 0
        spider.all_done = None  # an asyncio.Future once start() waits for the last items
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider._item_done, signal=signal)
        return spider

    async def start(self):
        with open(self.path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    item = item_from_line(json.loads(line), self.company, self.store)
                except (json.JSONDecodeError, BadLine) as error:
                    self._invalid(number, error)
                    continue
                self.in_flight += 1
                yield item
        # Return only when every item went through the pipelines: the engine then finds the
        # crawl idle at once instead of at its next 5-second heartbeat.
        if self.in_flight:
            self.all_done = asyncio.get_running_loop().create_future()
            await self.all_done

    def _item_done(self, *args, **kwargs) -> None:
        self.in_flight -= 1
        if not self.in_flight and self.all_done is not None and not self.all_done.done():
            self.all_done.set_result(None)

    def _invalid(self, number: int, error: Exception) -> None:
        self.crawler.stats.inc_value(INVALID_LINES)
        if self.crawler.stats.get_value(INVALID_LINES) <= LOGGED_INVALID_LINES:
            logger.warning("%s line %d skipped: %s", self.path, number, error)
