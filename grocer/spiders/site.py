"""`GrocerSpider`, the base of every grocer spider: arguments, the stores to crawl, requests to
a chain's site (base URL from settings, the chain's headers and cookies), a work loop driven by
`spider_idle` (the next unit of work starts when every request of the previous one is done), bad
responses and failures."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar
from urllib.parse import urlencode

from scrapy import Request, Spider, signals
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import CloseSpider, DontCloseSpider, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from twisted.internet import threads

from grocer.chains import get_chain
from grocer.outcome import BLOCKED, START_ERROR, STORE_LOOP_ERROR
from grocer.spiders.arguments import positive_int, unknown_arguments, valid_arguments
from grocer.crawlstate import StoreTarget


def describe_failure(failure) -> tuple[str, str]:
    """(stats kind, human reason) of a failed request."""
    error = failure.value
    if isinstance(error, HttpError):
        status = error.response.status
        return f"http_{status}", f"HTTP {status}"
    if isinstance(error, IgnoreRequest):
        return "ignored", str(error) or "request ignored"
    name = type(error).__name__
    return name.lower(), f"{name}: {failure.getErrorMessage()}"



class GrocerSpider(Spider):
    """Shared machinery of every grocer spider; see the module docstring."""

    company: ClassVar[str] = ""  # the chain slug; defaults to the spider name
    base_url_setting: ClassVar[str]
    user_agent_setting: ClassVar[str]
    # Statuses that reach the callbacks instead of the errback (e.g. "no more pages").
    handled_statuses: ClassVar[tuple[int, ...]] = ()
    # Statuses a bot protection answers transiently: retried with backoff; a request answered
    # with one of them past every retry closes the crawl as blocked (the next would be too).
    blocking_statuses: ClassVar[tuple[int, ...]] = ()

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        user_agent = settings.get(cls.user_agent_setting)
        if user_agent:  # the chain's User-Agent, also for robots.txt
            settings.set("USER_AGENT", user_agent, priority="spider")

    def __init__(self, *args, stores=None, limit=None, **kwargs):
        # Extra keyword arguments (scrapyd's _job, ...) become attributes, as in Scrapy.
        super().__init__(*args, **kwargs)
        unknown = unknown_arguments(type(self), kwargs)
        if unknown:  # `-a store=G102` would otherwise crawl the default store, silently
            self.logger.warning("unknown spider argument(s) %s ignored; %s takes: %s",
                                ", ".join(f"-a {name}=" for name in unknown), self.name,
                                ", ".join(valid_arguments(type(self))))
        self.company = self.company or self.name
        self.chain = get_chain(self.company)
        self.stores_argument = stores
        self.limit = positive_int(limit, "limit")

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.base_url = crawler.settings.get(cls.base_url_setting).rstrip("/")
        spider.targets = []  # resolved in start(): building a spider needs no database
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.on_spider_error, signal=signals.spider_error)
        return spider

    def select_targets(self) -> list[StoreTarget]:
        """The stores to crawl: one call into the store directory (GROCER_STORE_DIRECTORY, a
        callable (crawler, chain, stores argument) → StoreTargets; tests replace it)."""
        directory = load_object(self.crawler.settings.get("GROCER_STORE_DIRECTORY"))
        return directory(self.crawler, self.chain, self.stores_argument)

    # --- the work loop ------------------------------------------------------------------------

    def next_work(self) -> Iterable[Request] | None:
        """The requests of the next unit of work; None when there is none left."""
        raise NotImplementedError

    def _next_requests(self) -> list[Request]:
        while (work := self.next_work()) is not None:
            requests = list(work)
            if requests:
                return requests
        return []

    async def start(self):
        try:
            # In a thread: the directory may wait for the database.
            self.targets = await maybe_deferred_to_future(threads.deferToThread(
                self.select_targets))
        except Exception as error:
            # One line, no traceback: a bad -a stores=, an unreachable or unmigrated database.
            self.logger.error("the crawl cannot start: %s", str(error).strip().splitlines()[0])
            raise CloseSpider(START_ERROR) from None
        self.targets_selected()
        for request in self._next_requests():
            yield request

    def targets_selected(self) -> None:
        """Called once the stores to crawl are known."""

    def on_idle(self):
        try:
            requests = self._next_requests()
        except Exception as error:
            # Scrapy ignores other exceptions of idle handlers and would close as `finished`,
            # silently skipping the stores left.
            self.logger.exception("the store loop failed")
            raise CloseSpider(STORE_LOOP_ERROR) from error
        if requests:
            for request in requests:
                self.crawler.engine.crawl(request)
            raise DontCloseSpider

    # --- requests -----------------------------------------------------------------------------

    def request_headers(self) -> dict[str, str]:
        return {}

    def store_cookies(self, store: StoreTarget) -> dict[str, str]:
        return {}

    def site_request(self, path: str, *, callback, store: StoreTarget | None = None,
                     params: dict | None = None, meta: dict | None = None,
                     headers: dict | None = None, **kwargs) -> Request:
        """A request to the chain's site: only scheme and host come from settings."""
        url = f"{self.base_url}{path}" + (f"?{urlencode(params)}" if params else "")
        meta = {"handle_httpstatus_list": list(self.handled_statuses), **(meta or {})}
        cookies = None
        if store is not None:
            # One cookie jar per store: a store's cookies never leak into the next store.
            meta.setdefault("store", store.code)
            meta.setdefault("cookiejar", store.code)
            cookies = self.store_cookies(store) or None
        return Request(url, callback=callback, errback=self.request_failed, meta=meta,
                       headers={**self.request_headers(), **(headers or {})}, cookies=cookies,
                       **kwargs)

    # --- bad responses and failures -----------------------------------------------------------

    def count(self, key: str, value: int = 1) -> None:
        self.crawler.stats.inc_value(key, value)

    def read_json(self, response):
        """The JSON of a response, or None when it is not JSON (truncated, HTML, empty)."""
        try:
            return response.json()
        except (ValueError, AttributeError, UnicodeDecodeError):
            return None

    def retry_or_give_up(self, response, kind: str, **failure) -> Request | None:
        """Count an unusable response: its retry while retries last, else None — given up,
        recorded as a failure (`failure`: record_failure's keywords)."""
        self.count(f"grocer/bad_response/{kind}")
        retry = get_retry_request(response.request, spider=self, reason=f"bad_response/{kind}")
        if retry is None:
            self.record_failure(response.request, f"bad response ({kind}) after retries",
                                **failure)
        return retry

    def retry_bad_response(self, response, kind: str, **failure) -> Iterator[Request]:
        """Count an unusable response and retry it while retries last; then give up on it."""
        retry = self.retry_or_give_up(response, kind, **failure)
        if retry is not None:
            yield retry

    def request_failed(self, failure):
        error = failure.value
        if isinstance(error, HttpError) and error.response.status in self.blocking_statuses:
            status = error.response.status
            retry = get_retry_request(failure.request, spider=self, reason=f"http_{status}")
            if retry is not None:
                self.count(f"grocer/retried/http_{status}")
                return [retry]
            self.count(f"grocer/request_failed/http_{status}")
            self.record_failure(failure.request, f"HTTP {status} past every retry: blocked")
            raise CloseSpider(BLOCKED)
        kind, reason = describe_failure(failure)
        self.count(f"grocer/request_failed/{kind}")
        self.record_failure(failure.request, reason)

    def on_spider_error(self, failure, response, spider):
        """A callback that raised lost (part of) a page: its unit of work is not complete."""
        self.count("grocer/spider_errors")
        if response is not None and response.request is not None:
            self.record_failure(response.request,
                                f"error parsing a page: {type(failure.value).__name__}")

    def record_failure(self, request: Request, reason: str) -> None:
        self.logger.error("%s: %s", reason, request.url)
