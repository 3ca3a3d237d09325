"""How a run ended: the crawl close reasons and the exit code each one gives.

`finished` is the only success: at least one store completed and no item was lost. Every other
reason exits non-zero, so cron, scrapyd and `deploy/schedule.py --wait` see the failure.
"""

from scrapy.utils.defer import deferred_from_coro

from grocer import stats as keys

FINISHED = "finished"
NO_STORE_COMPLETED = "no_store_completed"  # every selected store failed (network, site, drift)
BLOCKED = "blocked"  # the site refused the crawl (bot protection) past its retries
ERROR_BUDGET = "error_budget"  # more items dropped than GROCER_MAX_DROP_RATE allows
DB_ERRORS = "db_errors"  # an item or batch was lost to the database
STORE_LOOP_ERROR = "store_loop_error"  # the spider's own store loop raised
START_ERROR = "start_error"  # bad arguments, missing files, unreachable or unmigrated database

# Why one store failed (StoreRun.error), where the reason is a fixed word.

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2  # bad arguments or a crawl that could not start
EXIT_BLOCKED = 3

EXIT_CODES = {
    FINISHED: EXIT_OK,
    BLOCKED: EXIT_BLOCKED,
    START_ERROR: EXIT_USAGE,
}


def exit_code(close_reason: str | None) -> int:
    """The process exit code for a crawl that closed with `close_reason`."""
    return EXIT_CODES.get(close_reason, EXIT_FAILED)


def crawl_close_reason(scrapy_reason: str | None, *, lost: int, stores: int,
                       completed: int) -> str:
    """The reason a crawl really closed with. Scrapy says `finished` whenever the crawl ran out
    of work; it is only one when no item was lost and, for a crawl of stores, one completed.
    Any other reason (blocked, error_budget, shutdown, ...) is kept as it is."""
    if scrapy_reason != FINISHED:
        return scrapy_reason or START_ERROR
    if lost:
        return DB_ERRORS
    if stores and not completed:
        return NO_STORE_COMPLETED
    return FINISHED


def close_crawl(crawler, reason: str) -> None:
    """Ask the run to close with `reason`, once: the first reason stays (grocer/closing). A
    crawl closes through its engine, `scrapy ingest` stops reading its file (its source's
    `close_run`); a pipeline worker's crawler runs neither, and the crawl it serves closes on
    what the worker reports."""
    close_run = getattr(crawler.spider, "close_run", None)
    if (close_run is None and not crawler.crawling) or crawler.stats.get_value(keys.CLOSING):
        return
    crawler.stats.set_value(keys.CLOSING, reason)
    if close_run is not None:
        close_run(reason)
    else:
        deferred_from_coro(crawler.engine.close_spider_async(reason=reason))
