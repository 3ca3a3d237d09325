"""An item pipeline whose process dies (SIGKILL, as the OOM killer does) at its N-th item
(`GROCER_TEST_DIE_AT_ITEM`): run in the pipeline worker, it kills the worker mid-crawl."""

from __future__ import annotations

import os
import signal


class DiesAtItem:
    def __init__(self):
        self.items = 0
        self.die_at = int(os.environ["GROCER_TEST_DIE_AT_ITEM"])

    def process_item(self, item):
        self.items += 1
        if self.items == self.die_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return item
