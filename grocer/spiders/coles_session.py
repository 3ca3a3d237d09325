"""The Coles session: the cookies and User-Agent the Coles website wants behind its
Imperva/Incapsula bot protection, given to the spiders' plain Scrapy requests, and renewed on a
block (README, *Coles session*).

`COLES_SESSION=browser`: a headless Chromium driven by Playwright (async API, on Scrapy's
asyncio reactor) opens the home page, lets the challenge's JavaScript run until the page has
`__NEXT_DATA__`, and hands over its cookies and User-Agent. A block or challenge page (or any
non-JSON answer of a Next.js data route) renews the session with a new browser visit and the
request is retried with it. `COLES_SESSION_RENEWALS` bounds both the new sessions one request
is retried with and the renewals in a row (no response getting through in between); past
either, the response goes on to the spider (ColesSite.check_blocked). An answer with a status
of RETRY_HTTP_CODES (429, 5xx) is no block: it goes on to the retry middleware (backoff,
Retry-After), whatever its body.

`COLES_SESSION=file` (default): the cookies of `COLES_COOKIES_FILE`, read once, never renewed.

Either way the session's cookies go into each cookie jar once (with the jar's first request of
the session); after that the jar keeps what the site sets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from grocer.spiders.coles import block_evidence, read_cookies_file

logger = logging.getLogger(__name__)

BROWSER, FILE = "browser", "file"
# Headless Chromium as root (containers, CI) needs no sandbox; there is no GPU to use.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu")
# The names of the cookies this middleware put on a request (taken off again on a retry).
ADDED_COOKIES = "coles_session_cookies"
SESSION_OF_REQUEST = "coles_session"  # the generation of the session a request went out with
# How many times a request was retried with a newer session after a block (its retries and
# replacements carry it): a URL the site always blocks is given up, however others fare.
RENEWALS_OF_REQUEST = "coles_session_renewals"


@dataclass
class SessionState:
    # As Scrapy takes them: {name, value, path[, domain, secure]}; with the browser's domain and
    # path, a cookie the site sets again replaces the session's in the jar instead of doubling it.
    cookies: list[dict] = field(default_factory=list)
    user_agent: str | None = None  # None: the spider's own (COLES_USER_AGENT)
    generation: int = 0  # 0: not started; each browser visit adds one


class BrowserVisit:
    """One visit of the home page in a fresh headless Chromium: its cookies and User-Agent."""

    def __init__(self, home_url: str, executable: str, timeout: float):
        self.home_url = home_url
        self.executable = executable
        self.timeout_ms = timeout * 1000

    async def __call__(self) -> SessionState:
        from playwright.async_api import async_playwright

        async with async_playwright() as playwright:
            executable = self.executable or chromium_executable(playwright)
            browser = await playwright.chromium.launch(
                executable_path=executable, headless=True, args=list(CHROMIUM_ARGS))
            try:
                probe = await browser.new_page()
                # The header must not say what the challenge's JavaScript cannot see.
                user_agent = (await probe.evaluate("navigator.userAgent")).replace(
                    "HeadlessChrome", "Chrome")
                await probe.close()
                context = await browser.new_context(user_agent=user_agent, locale="en-AU")
                page = await context.new_page()
                await page.goto(self.home_url, wait_until="domcontentloaded",
                                timeout=self.timeout_ms)
                # The challenge reloads the page once it has set its cookie; a locator waits
                # across that navigation.
                await page.locator("script#__NEXT_DATA__").wait_for(state="attached",
                                                                     timeout=self.timeout_ms)
                cookies = await context.cookies(self.home_url)
            finally:
                await browser.close()
        return SessionState([{key: cookie[key] for key in COOKIE_FIELDS} for cookie in cookies],
                            user_agent)


COOKIE_FIELDS = ("name", "value", "domain", "path", "secure")


def cookie_list(cookies) -> list[dict]:
    """A request's cookies as a list of cookie dicts; names only (a dict) are for the whole
    site (path /), not for the directory of the request that brought them."""
    if isinstance(cookies, dict):
        return [{"name": name, "value": value, "path": "/"} for name, value in cookies.items()]
    return list(cookies or [])


def chromium_executable(playwright) -> str | None:
    """Playwright's own Chromium when installed (`playwright install chromium`), else the
    system's; None lets Playwright say what is missing."""
    own = playwright.chromium.executable_path
    if own and os.path.exists(own):
        return own
    return shutil.which("chromium") or shutil.which("chromium-browser")


class ColesSession:
    """The current session and its renewals; one per crawl."""

    def __init__(self, state: SessionState, visit: BrowserVisit | None, renewals: int, stats):
        self.state = state
        self.visit = visit  # None: a fixed session (cookie file)
        self.max_renewals = renewals
        self.renewals_in_row = 0  # since a response last got through: the crawl-wide guard
        self.stats = stats
        self.lock = asyncio.Lock()

    @property
    def renewable(self) -> bool:
        return self.visit is not None

    async def ready(self) -> SessionState:
        """The session, opened by the first request that needs it."""
        if self.state.generation == 0:
            async with self.lock:
                if self.state.generation == 0:
                    await self.open()
        return self.state

    async def open(self) -> None:
        generation = self.state.generation + 1
        try:
            self.state = await self.visit()
            self.stats.inc_value("grocer/coles/session/browser_visits")
        except Exception as error:  # a visit that does not pass leaves a session to be blocked
            self.stats.inc_value("grocer/coles/session/failed_visits")
            logger.error("the Coles browser session did not pass the challenge: %s",
                         (str(error).strip().splitlines() or [type(error).__name__])[0])
            self.state = SessionState(user_agent=self.state.user_agent)
        self.state.generation = generation

    async def renew(self, blocked_generation: int | None) -> bool:
        """After a block of a request sent with `blocked_generation`: True when a newer session
        is there to retry with (renewed now or since), False when renewals are exhausted."""
        async with self.lock:
            if blocked_generation != self.state.generation:
                return True
            if self.renewals_in_row >= self.max_renewals:
                return False
            self.renewals_in_row += 1
            self.stats.inc_value("grocer/coles/session/renewals")
            logger.warning("Coles blocked the session: renewing it (%d of %d in a row)",
                           self.renewals_in_row, self.max_renewals)
            await self.open()
            return True

    def passed(self, generation: int | None) -> None:
        """A response of the current session got through: its renewals start again."""
        if generation == self.state.generation:
            self.renewals_in_row = 0


def session_from_settings(settings, stats) -> ColesSession:
    mode = settings.get("COLES_SESSION").strip().lower()
    renewals = settings.getint("COLES_SESSION_RENEWALS")
    if mode == BROWSER:
        home = settings.get("COLES_BASE_URL").rstrip("/") + "/"
        visit = BrowserVisit(home, settings.get("COLES_BROWSER_EXECUTABLE"),
                             settings.getfloat("COLES_BROWSER_TIMEOUT"))
        return ColesSession(SessionState(), visit, renewals, stats)
    if mode != FILE:
        raise ValueError(f"COLES_SESSION={mode!r}: expected {BROWSER!r} or {FILE!r}")
    path = settings.get("COLES_COOKIES_FILE")
    cookies = {}
    if path:
        try:
            cookies = read_cookies_file(path)
        except (OSError, ValueError) as error:
            raise ValueError(f"COLES_COOKIES_FILE={path}: cannot read cookies: {error}") from None
    if not cookies:
        logger.warning("no Coles session (COLES_SESSION=browser or COLES_COOKIES_FILE): the site "
                       "will probably answer with a block page")
    return ColesSession(SessionState(cookie_list(cookies), generation=1), None, renewals, stats)


class ColesSessionMiddleware:
    """Downloader middleware of the Coles spiders (before the cookies middleware): puts the
    session on every request to the Coles site and renews it on a block."""

    def __init__(self, session: ColesSession, host: str, retry_statuses=()):
        self.session = session
        self.host = host
        # The statuses of the retry middleware (RETRY_HTTP_CODES): an overloaded or
        # rate-limiting site, retried with backoff and Retry-After; a new browser visit would
        # only add load. Imperva's block and challenge pages come with 200 or 403.
        self.retry_statuses = frozenset(retry_statuses)
        self.jar_generations: dict = {}  # cookie jar → the session generation it holds

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(session_from_settings(settings, crawler.stats),
                   urlsplit(settings.get("COLES_BASE_URL")).netloc,
                   (int(status) for status in settings.getlist("RETRY_HTTP_CODES")))

    def is_site(self, request) -> bool:
        return urlsplit(request.url).netloc == self.host

    async def process_request(self, request):
        if not self.is_site(request):
            return None
        state = await self.session.ready()
        added = request.meta.pop(ADDED_COOKIES, ())
        cookies = [cookie for cookie in cookie_list(request.cookies) if cookie["name"] not in added]
        jar = request.meta.get("cookiejar")
        if self.jar_generations.get(jar) != state.generation:
            self.jar_generations[jar] = state.generation
            request.meta[ADDED_COOKIES] = tuple(cookie["name"] for cookie in state.cookies)
            cookies += state.cookies
        request.cookies = cookies
        if state.user_agent:
            request.headers["User-Agent"] = state.user_agent
        request.meta[SESSION_OF_REQUEST] = state.generation
        return None

    async def process_response(self, request, response):
        if not (self.session.renewable and self.is_site(request)
                and urlsplit(request.url).path != "/robots.txt"):
            return response
        if response.status in self.retry_statuses:
            return response  # the retry middleware's; says nothing of the session either way
        generation = request.meta.get(SESSION_OF_REQUEST)
        if block_evidence(response) is None:
            self.session.passed(generation)
            return response
        renewals = request.meta.get(RENEWALS_OF_REQUEST, 0)
        if renewals >= self.session.max_renewals:
            logger.warning("Coles still blocks %s after %d new sessions: giving up on it",
                           request.url, renewals)
            return response  # on to the spider (ColesSite.check_blocked)
        if not await self.session.renew(generation):
            return response  # renewals in a row exhausted: on to the spider
        retry = request.replace(dont_filter=True)
        retry.meta[RENEWALS_OF_REQUEST] = renewals + 1
        return retry
