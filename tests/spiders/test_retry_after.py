"""Retry-After on 429/503 is honoured, capped by GROCER_MAX_RETRY_AFTER (issue 14)."""

from __future__ import annotations

import datetime as dt
import email.utils
import time

from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from grocer.middlewares import NOT_BEFORE, RetryAfterMiddleware, retry_after_seconds
from grocer.spiders.aldi import AldiSpider
from tests.helpers.spiders import project_settings

NOW = dt.datetime(2026, 7, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(b" 120 ") == 120.0
    assert retry_after_seconds("Wed, 01 Jul 2026 12:00:30 GMT", NOW) == 30.0
    assert retry_after_seconds("Wednesday, 01-Jul-26 12:01:00 GMT", NOW) == 60.0  # RFC 850
    assert retry_after_seconds("Wed, 01 Jul 2026 11:00:00 GMT", NOW) == 0.0  # already past
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert retry_after_seconds("-5") is None


def middleware(**settings) -> RetryAfterMiddleware:
    crawler = get_crawler(AldiSpider, project_settings(**settings))
    crawler.spider = AldiSpider.from_crawler(crawler)
    return RetryAfterMiddleware.from_crawler(crawler)


def test_an_http_date_delays_the_retry_until_then():
    retry_middleware = middleware()
    request = Request("https://api.aldi.com.au/v3/product-search")
    when = email.utils.format_datetime(dt.datetime.now(dt.timezone.utc)
                                       + dt.timedelta(seconds=40), usegmt=True)
    before = time.monotonic()
    retry = retry_middleware.process_response(
        request, Response(request.url, status=503, headers={"Retry-After": when},
                          request=request))
    assert isinstance(retry, Request) and retry.meta["retry_times"] == 1
    assert 38 <= retry.meta[NOT_BEFORE] - before <= 41


def test_a_wait_beyond_the_cap_gives_the_request_up():
    retry_middleware = middleware(GROCER_MAX_RETRY_AFTER=10)
    request = Request("https://api.aldi.com.au/v3/product-search")
    response = Response(request.url, status=429, headers={"Retry-After": "3600"},
                        request=request)
    assert retry_middleware.process_response(request, response) is response
    # Without Retry-After, Scrapy's retry as always.
    plain = Response(request.url, status=429, request=request)
    assert NOT_BEFORE not in retry_middleware.process_response(request, plain).meta


def test_a_retry_after_middleware_without_stats_still_retries_and_gives_up():
    crawler = get_crawler(AldiSpider, project_settings(GROCER_MAX_RETRY_AFTER=10))
    crawler.spider = AldiSpider.from_crawler(crawler)
    retry_middleware = RetryAfterMiddleware(crawler.settings)  # no stats: counts nothing
    retry_middleware.crawler = crawler
    request = Request("https://api.aldi.com.au/v3/product-search")
    soon = Response(request.url, status=503, headers={"Retry-After": "2"}, request=request)
    assert NOT_BEFORE in retry_middleware.process_response(request, soon).meta
    too_late = Response(request.url, status=429, headers={"Retry-After": "3600"},
                        request=request)
    assert retry_middleware.process_response(request, too_late) is too_late


def test_a_429_with_retry_after_3_is_retried_no_sooner_than_3_seconds_later(crawl, site):
    site.fault("/v2/product-category-tree", "429:3")
    result = crawl("aldi", args={"stores": "G102"})  # backoff itself waits 0.01 s here
    assert result.close_reason == "finished", result.log[-4000:]
    first, retry = site.requests_to("/v2/product-category-tree")
    assert retry.received_at - first.received_at >= 3.0
    assert result.stat("grocer/retry/retry_after") == 1


def test_a_retry_after_beyond_the_cap_fails_the_request_at_once(crawl, site):
    site.fault("/v2/product-category-tree", "503:600")
    result = crawl("aldi", args={"stores": "G102"}, settings={"GROCER_MAX_RETRY_AFTER": "5"})
    assert len(site.requests_to("/v2/product-category-tree")) == 1  # not retried
    assert result.store_status() == {"G102": "failed"}
    assert "HTTP 503" in result.crawl_state["stores"]["G102"]["error"]
    assert result.stat("grocer/retry/retry_after_too_long") == 1
