"""`python -m tests.helpers.exit_report ARGS` runs `scrapy ARGS` and, after every exit hook of
the command, writes to the file TEST_EXIT_REPORT_FILE names one JSON object: whether the
garbage collector was frozen while the spider closed and at the exit, and how many database
connections were still open."""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys

from pydispatch import dispatcher
from scrapy import signals
from sqlalchemy import event
from sqlalchemy.pool import Pool

connections = {"opened": 0, "closed": 0}
frozen_at_close = []


def spider_closed() -> None:
    frozen_at_close.append(gc.get_freeze_count() > 0)


@event.listens_for(Pool, "connect")
def opened(*_) -> None:
    connections["opened"] += 1


@event.listens_for(Pool, "close")
@event.listens_for(Pool, "close_detached")
def closed(*_) -> None:
    connections["closed"] += 1


def report() -> None:
    with open(os.environ["TEST_EXIT_REPORT_FILE"], "w", encoding="utf-8") as output:
        json.dump({"gc_frozen_while_crawling": frozen_at_close == [True],
                   "gc_frozen": gc.get_freeze_count() > 0,
                   "connections_open": connections["opened"] - connections["closed"]}, output)


if __name__ == "__main__":
    atexit.register(report)  # the first registered runs last: after the command's own hooks
    # Connected for any sender: every crawler's spider_closed (the crawler is made later).
    dispatcher.connect(spider_closed, signal=signals.spider_closed)
    from scrapy.cmdline import execute

    execute(["scrapy", *sys.argv[1:]])
