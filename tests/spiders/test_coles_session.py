"""The Coles browser session against the fixture site's own JavaScript challenge, with a real
headless Chromium (tests/helpers/browser.py): passed, renewed when the site blocks it mid-crawl,
given up after COLES_SESSION_RENEWALS renewals (per request and in a row); 429/5xx left to the
retry middleware. The middleware's rules also with a fake browser (FakeBrowser), no Chromium."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from grocer.outcome import EXIT_BLOCKED
from grocer.spiders.coles import ColesSpider
from grocer.spiders.coles_session import ColesSessionMiddleware, SessionState
from tests.helpers.browser import chromium_executable
from tests.helpers.fixture_server import BLOCK_PAGE
from tests.helpers.spiders import project_settings

STORES = {"stores": "COL:401,COL:402"}
DATA_ROUTE = "https://www.coles.com.au/_next/data/b1/en/browse/meat-seafood.json?page=1"


@pytest.fixture
def browser_env():
    executable = chromium_executable()
    if not executable:
        pytest.skip("no Chromium: install the chromium package or set COLES_BROWSER_EXECUTABLE")
    return {"COLES_SESSION": "browser", "COLES_BROWSER_EXECUTABLE": executable,
            "COLES_BROWSER_TIMEOUT": "30"}


@pytest.fixture
def challenge(site):
    site.coles_challenge = True
    return site


def browser_visits(site) -> list:
    """The browser's requests of the home page (a browser sends Sec-Fetch-Mode)."""
    return [r for r in site.requests_to("/") if r.path == "/" and "sec-fetch-mode" in r.headers]


def test_without_a_browser_session_the_challenge_blocks_the_crawl(crawl, challenge):
    result = crawl("coles", args=STORES)  # the cookie file's reese84 is no token of the site
    assert result.reason == "blocked", result.log[-3000:]
    assert result.returncode == EXIT_BLOCKED
    assert not result.items


def test_the_browser_passes_the_challenge_and_the_crawl_stores_prices(crawl, challenge,
                                                                      browser_env):
    result = crawl("coles", args=STORES, env=browser_env)
    assert result.reason == "finished", result.log[-3000:]
    assert result.store_status() == {"COL:401": "completed", "COL:402": "completed"}
    assert {item["store_code"] for item in result.items} == {"COL:401", "COL:402"}
    assert all(item["product"]["price_current"] for item in result.items)
    # The challenge page, then its reload with the token (Chromium may send that reload more
    # than once: a navigation restarted inside the browser is the browser's, not grocer's).
    first, *reloads = browser_visits(challenge)
    assert "reese84" not in first.cookies  # a fresh browser
    assert reloads and all(r.cookies["reese84"] in challenge.coles_tokens for r in reloads)
    assert result.stat("grocer/coles/session/browser_visits") == 1
    data = [r for r in challenge.log if "/_next/data/" in r.path]
    assert data and all(r.cookies["reese84"] in challenge.coles_tokens for r in data)
    user_agents = {r.headers["user-agent"] for r in data}
    assert len(user_agents) == 1 and "Chrome/" in user_agents.pop()  # the browser's own


def test_a_session_expiring_mid_crawl_is_renewed_and_the_crawl_completes(crawl, challenge,
                                                                       browser_env):
    reference = crawl("coles", args=STORES, env=browser_env)
    assert reference.reason == "finished", reference.log[-3000:]
    challenge.log.clear()
    # The site forgets every session at the fourth data request.
    challenge.fault("/_next/data/", "serve", "serve", "serve", "expire_session")
    result = crawl("coles", args=STORES, env=browser_env)
    assert result.reason == "finished", result.log[-3000:]
    assert result.store_status() == {"COL:401": "completed", "COL:402": "completed"}
    assert result.stat("grocer/coles/session/renewals") == 1
    assert result.stat("grocer/coles/session/browser_visits") == 2
    assert result.stat("grocer/coles/blocked") == 0
    assert sorted((i["store_code"], i["raw"]["id"]) for i in result.items) == sorted(
        (i["store_code"], i["raw"]["id"]) for i in reference.items)
    blocked = [r for r in challenge.log if "/_next/data/" in r.path][3]
    retried = [r for r in challenge.log if r.path == blocked.path and r.query == blocked.query
               and r.cookies.get("fulfillmentStoreId") == blocked.cookies["fulfillmentStoreId"]]
    assert len(retried) == 2 and retried[1].cookies["reese84"] in challenge.coles_tokens


def test_renewals_stop_after_coles_session_renewals_and_the_crawl_closes_blocked(
        crawl, challenge, browser_env):
    challenge.coles_blocks_plain_requests = True  # the browser passes; grocer's requests never
    result = crawl("coles", args=STORES, env={**browser_env, "COLES_SESSION_RENEWALS": "2"})
    assert result.reason == "blocked", result.log[-3000:]
    assert result.returncode == EXIT_BLOCKED
    assert result.stat("grocer/coles/session/renewals") == 2
    assert result.stat("grocer/coles/session/browser_visits") == 3
    assert "blocked" in result.crawl_state["stores"]["COL:401"]["error"]
    assert not result.items


def test_the_cookie_file_goes_into_the_jar_once_and_the_site_may_change_it(crawl, site):
    site.coles_rotated_cookie = "set-by-the-site"  # the home page sets a new reese84
    result = crawl("coles", args={"stores": "COL:401"})
    assert result.reason == "finished", result.log[-3000:]
    home, *later = [r for r in site.log if r.path != "/robots.txt"]
    assert home.path == "/" and home.cookies["reese84"] == "browser-session"  # from the file
    assert later and all(r.cookies["reese84"] == "set-by-the-site" for r in later)


def test_a_data_route_answering_html_is_checked_as_a_block_not_read_as_a_page(crawl, site):
    site.fault(("/_next/data/", "page=1"), "html")
    result = crawl("coles", args={"stores": "COL:401"})  # a fixed session: retried as bad
    assert result.reason == "finished", result.log[-3000:]
    assert result.stat("grocer/coles/not_json") == 1
    assert result.stat("grocer/bad_response/invalid_json") == 1


def test_with_a_browser_session_a_data_route_answering_html_renews_it(crawl, challenge,
                                                                     browser_env):
    challenge.fault(("/_next/data/", "page=1"), "html")
    result = crawl("coles", args={"stores": "COL:401"}, env=browser_env)
    assert result.reason == "finished", result.log[-3000:]
    assert result.stat("grocer/coles/session/renewals") == 1
    assert result.stat("grocer/coles/not_json") == 0  # the retry with the new session passed


def test_renewals_count_in_a_row_and_a_stale_block_only_retries():
    import asyncio

    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy.utils.test import get_crawler

    from grocer.spiders.coles_session import ColesSession, SessionState

    visits = []

    async def visit():
        visits.append(1)
        return SessionState([{"name": "reese84", "value": f"t{len(visits)}", "path": "/"}], "UA")

    async def scenario():
        session = ColesSession(SessionState(), visit, 2, MemoryStatsCollector(get_crawler()))
        first = (await session.ready()).generation
        assert await session.renew(first)  # renewal 1 of 2
        assert await session.renew(first)  # blocked with the old session: retried, no visit
        assert await session.renew(first + 1)  # renewal 2 of 2
        assert not await session.renew(first + 2)  # exhausted
        session.passed(first + 2)  # a page got through: the count starts again
        assert await session.renew(first + 2)
        return session

    session = asyncio.run(scenario())
    assert len(visits) == 4 and session.state.cookies[0]["value"] == "t4"
    assert session.stats.get_value("grocer/coles/session/renewals") == 3


class FakeBrowser:
    """Browser visits without a browser: each gives a new reese84 token."""

    def __init__(self):
        self.visits = 0

    async def __call__(self) -> SessionState:
        self.visits += 1
        return SessionState([{"name": "reese84", "value": f"t{self.visits}", "path": "/"}], "UA")


def session_middleware(**settings) -> tuple[ColesSessionMiddleware, FakeBrowser]:
    """The middleware as a browser-session crawl builds it, with a fake browser."""
    crawler = get_crawler(ColesSpider, project_settings(COLES_SESSION="browser", **settings))
    middleware = ColesSessionMiddleware.from_crawler(crawler)
    middleware.session.visit = browser = FakeBrowser()
    return middleware, browser


def answer(middleware, request, status=200, body=b"<html>Service Unavailable</html>"):
    """What the middleware makes of `request` (sent through it) answered with `body`."""
    async def exchange():
        await middleware.process_request(request)
        response_class = TextResponse if body.lstrip().startswith(b"{") else HtmlResponse
        response = response_class(request.url, status=status, body=body, request=request)
        return response, await middleware.process_response(request, response)

    return asyncio.run(exchange())


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_retryable_status_goes_on_to_the_retry_middleware_without_a_renewal(status):
    middleware, browser = session_middleware()
    response, result = answer(middleware, Request(DATA_ROUTE), status)
    assert result is response  # RetryAfterMiddleware's to retry, with backoff and Retry-After
    assert browser.visits == 1  # the session's opening, no renewal
    assert middleware.session.stats.get_value("grocer/coles/session/renewals") is None


@pytest.mark.parametrize("status, body", [(200, BLOCK_PAGE.read_bytes()),  # as Imperva sends it
                                          (403, b"<html>Access denied</html>"),
                                          (200, b"<html>no JSON on a data route</html>")])
def test_a_block_that_is_no_retryable_status_renews_the_session(status, body):
    middleware, browser = session_middleware()
    _, result = answer(middleware, Request(DATA_ROUTE), status, body)
    assert isinstance(result, Request) and result.url == DATA_ROUTE
    assert browser.visits == 2


def test_a_503_and_a_429_of_a_data_route_are_retried_with_backoff_not_renewed(
        crawl, challenge, browser_env):
    challenge.fault(("/_next/data/", "meat-seafood", "page=1"), "503", "429:1")
    result = crawl("coles", args={"stores": "COL:401"}, env=browser_env)
    assert result.reason == "finished", result.log[-3000:]
    assert result.store_status() == {"COL:401": "completed"}
    assert result.stat("grocer/coles/session/renewals") == 0
    assert result.stat("grocer/coles/session/browser_visits") == 1
    assert result.stat("retry/count") == 2 and result.stat("grocer/retry/retry_after") == 1


def test_a_url_always_blocked_is_given_up_after_its_renewals_while_others_pass():
    middleware, browser = session_middleware(COLES_SESSION_RENEWALS=2)
    blocked_page = BLOCK_PAGE.read_bytes()
    request = Request(DATA_ROUTE)
    for renewal in (1, 2):
        _, request = answer(middleware, request, 200, blocked_page)
        assert isinstance(request, Request), f"renewal {renewal}"
        other = Request(DATA_ROUTE.replace("meat-seafood", "dairy-eggs-fridge"))
        response, passed = answer(middleware, other, 200, b'{"pageProps": {}}')
        assert passed is response  # other pages get through with the new session
    response, given_up = answer(middleware, request, 200, blocked_page)
    assert given_up is response  # on to the spider, which closes the crawl blocked
    assert browser.visits == 3  # the opening and two renewals, not one per block


def test_a_page_the_site_keeps_blocking_closes_the_crawl_after_its_renewals(
        crawl, challenge, browser_env):
    challenge.fault(("/_next/data/", "meat-seafood", "page=1"), *["block"] * 5)
    result = crawl("coles", args=STORES, env={**browser_env, "COLES_SESSION_RENEWALS": "2"})
    assert result.reason == "blocked", result.log[-3000:]
    assert len(challenge.requests_to("/en/browse/meat-seafood.json")) == 3  # 1 + 2 renewals
    assert result.stat("grocer/coles/session/renewals") == 2
    assert "blocked" in result.crawl_state["stores"]["COL:401"]["error"]


def test_a_data_route_staying_html_past_its_renewals_fails_the_store_incomplete(
        crawl, challenge, browser_env):
    renewals, retries = 1, 4  # COLES_SESSION_RENEWALS, RETRY_TIMES
    challenge.fault(("/_next/data/", "meat-seafood", "page=1"), *["html"] * (1 + renewals + retries))
    result = crawl("coles", args={"stores": "COL:401"},
                   env={**browser_env, "COLES_SESSION_RENEWALS": str(renewals)})
    assert result.store_status() == {"COL:401": "failed"}, result.log[-3000:]
    assert result.crawl_state["stores"]["COL:401"]["reason"] == "incomplete_page"
    assert result.stat("grocer/coles/session/renewals") == renewals  # none for the bad retries
    assert result.stat("grocer/coles/not_json") == 1 + retries
    assert result.stat("grocer/coles/blocked") == 0
