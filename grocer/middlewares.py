"""Downloader middlewares of grocer."""

from __future__ import annotations

import hashlib

from scrapy.exceptions import NotConfigured
from scrapy.utils.request import RequestFingerprinter

try:
    from scrapy.utils.asyncio import sleep  # Scrapy >= 2.18: asyncio or Twisted
except ImportError:  # pragma: no cover - Scrapy 2.14-2.17 always run a Twisted reactor
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet.task import deferLater

    async def sleep(seconds: float) -> None:
        from twisted.internet import reactor

        await maybe_deferred_to_future(deferLater(reactor, seconds))


class RetryBackoffMiddleware:
    """Waits before sending a retried request: RETRY_BACKOFF_BASE ** retry_times seconds,
    at most RETRY_BACKOFF_MAX.

    Scrapy's RetryMiddleware resends at once; a struggling site gets a breather instead. Placed
    after the HTTP cache (> 900), so replays from the cache never wait. The waiting request
    counts as active in the downloader, so the spider does not go idle (and a store does not
    end) while a retry is pending.
    """

    def __init__(self, base: float, cap: float, stats=None):
        self.base = base
        self.cap = cap
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        base = settings.getfloat("RETRY_BACKOFF_BASE")
        if base <= 0:
            raise NotConfigured
        return cls(base, settings.getfloat("RETRY_BACKOFF_MAX"), crawler.stats)

    def delay_for(self, retry_times: int) -> float:
        return min(self.base ** retry_times, self.cap) if retry_times > 0 else 0.0

    async def process_request(self, request):
        delay = self.delay_for(request.meta.get("retry_times", 0))
        if delay > 0:
            if self.stats is not None:
                self.stats.inc_value("grocer/retry/backoff_waits")
            await sleep(delay)  # asyncio or Twisted, whichever runs the crawl
        return None


class StoreAwareRequestFingerprinter:
    """Scrapy's request fingerprint plus the store in `meta["store"]`.

    Coles names the store only in a cookie, so one URL is a different page at another store:
    without the store, the duplicate filter would drop the second store's pages and an HTTP
    cache replay would answer every store with the first store's page.
    """

    def __init__(self, crawler=None):
        self._default = RequestFingerprinter(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def fingerprint(self, request) -> bytes:
        fingerprint = self._default.fingerprint(request)
        store = request.meta.get("store")
        if not store:
            return fingerprint
        return hashlib.sha1(fingerprint + b"|store:" + str(store).encode("utf-8")).digest()
