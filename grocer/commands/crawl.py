"""`scrapy crawl`, exiting with the code of the crawl's real close reason (grocer.outcome:
0 finished, 1 failed, 2 usage or start_error, 3 blocked), so cron and scripts see a failure.
A spider that cannot be built (a bad -a value, an unreadable cookies file) is one line on
stderr, exit 2, and a CrawlRun closed `start_error`. When the crawl is over the database
connections are closed and the exit skips the interpreter's last collections, as grocer's
other commands (grocer.command_base.freeze_at_exit)."""

from __future__ import annotations

import gc
import sys

from scrapy import signals
from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.utils.defer import deferred_from_coro

from grocer import outcome
from grocer import stats as keys
from grocer.command_base import freeze_at_exit


class Command(ScrapyCrawlCommand):
    def process_options(self, args, opts):
        super().process_options(args, opts)
        freeze_at_exit()

    def run(self, args, opts):
        if len(args) != 1:
            raise UsageError("usage: scrapy crawl SPIDER [-a NAME=VALUE ...]"
                             if not args else "scrapy crawl runs one spider at a time")
        name = args[0]
        try:
            crawler = self.crawler_process.create_crawler(name)
        except KeyError:
            raise UsageError(f"no spider {name!r} (scrapy list shows them)",
                             print_help=False) from None
        # What the start-up built (modules, settings, middlewares, pipelines) lives as long as
        # the crawl: frozen once the spider is open, the full collections that the items'
        # allocations trigger no longer walk it each time (CPU the crawl is bound by).
        crawler.signals.connect(freeze_start_up, signal=signals.spider_opened)
        # A Deferred or (asyncio reactor) a Task, depending on the Scrapy version.
        started = deferred_from_coro(self.crawler_process.crawl(crawler, **opts.spargs))
        started.addErrback(self.start_failed, name)
        try:
            self.crawler_process.start()
        finally:
            # Imported here: `scrapy list` imports every command module (start-up time).
            from grocer.db.engine import dispose_engines

            dispose_engines()  # before the exit's freeze: nothing is left to finalize
        if self.exitcode:
            return
        reason = crawler.stats.get_value(keys.CLOSE_REASON) or crawler.stats.get_value(
            "finish_reason")
        self.exitcode = outcome.exit_code(reason)

    def start_failed(self, failure, name: str) -> None:
        error = failure.value
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"scrapy crawl {name}: {message}", file=sys.stderr)
        self.exitcode = outcome.exit_code(outcome.START_ERROR)
        self.record_start_error(name, message)

    def record_start_error(self, name: str, message: str) -> None:
        """The crawl could not even be built: its CrawlRun says so (when the database can)."""
        from grocer.db.crawlruns import record_crawl_run
        from grocer.db.engine import engine_from_settings
        from grocer.normalization.dates import utcnow

        try:
            now = utcnow()
            record_crawl_run(engine_from_settings(self.settings), spider=name, stores=[],
                             stores_completed=[], started_at=now, finished_at=now,
                             close_reason=outcome.START_ERROR, reconciled=False,
                             stats={"grocer/start_error": message})
        except Exception:  # noqa: BLE001 - the one line above is what matters
            pass


def freeze_start_up() -> None:
    gc.freeze()
