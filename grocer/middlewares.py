"""Downloader middlewares of grocer."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import logging
import time

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.utils.request import RequestFingerprinter

from scrapy.utils.asyncio import sleep


logger = logging.getLogger(__name__)


def count(stats, key: str) -> None:
    """Count on the crawl's stats; a middleware built without stats (tests, tools) counts
    nothing."""
    if stats is not None:
        stats.inc_value(key)

# Statuses whose Retry-After header says when to ask again (RFC 9110 §10.2.3).
RETRY_AFTER_STATUSES = frozenset({429, 503})
# Request meta of a retry the site asked to delay: time.monotonic() before which it is not sent.
NOT_BEFORE = "grocer_retry_not_before"


def retry_after_seconds(value, now: dt.datetime | None = None) -> float | None:
    """The wait a Retry-After header asks for: delay-seconds or an HTTP date (a past date: 0);
    None when the value is neither."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = (value or "").strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max((when - now).total_seconds(), 0.0)


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware that honours Retry-After on 429 and 503: the retry is sent no
    sooner than asked (RetryBackoffMiddleware waits for it, without blocking), and a wait
    longer than GROCER_MAX_RETRY_AFTER seconds is not waited for: the request is given up like
    one past its last retry (the response goes on to the spider's errback)."""

    def __init__(self, settings, stats=None):
        super().__init__(settings)
        self.max_retry_after = settings.getfloat("GROCER_MAX_RETRY_AFTER")
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        middleware = cls(crawler.settings, crawler.stats)
        middleware.crawler = crawler
        return middleware

    def process_response(self, request, response, spider=None):
        wait = None
        if response.status in RETRY_AFTER_STATUSES and not request.meta.get("dont_retry"):
            wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is not None and wait > self.max_retry_after:
            count(self.stats, "grocer/retry/retry_after_too_long")
            logger.error("gave up on %s: HTTP %d asks to retry in %.0f s, more than "
                         "GROCER_MAX_RETRY_AFTER (%.0f s)", request.url, response.status, wait,
                         self.max_retry_after)
            return response
        result = super().process_response(request, response)
        if wait and isinstance(result, Request):
            count(self.stats, "grocer/retry/retry_after")
            result.meta[NOT_BEFORE] = time.monotonic() + wait
        return result


class RetryBackoffMiddleware:
    """Waits before sending a retried request: RETRY_BACKOFF_BASE ** retry_times seconds,
    at most RETRY_BACKOFF_MAX — or, when the site said when to come back (Retry-After, see
    RetryAfterMiddleware), until then if that is later.

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
        if NOT_BEFORE in request.meta:
            delay = max(delay, request.meta[NOT_BEFORE] - time.monotonic())
        if delay > 0:
            count(self.stats, "grocer/retry/backoff_waits")
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
