"""A completed store is delisted in only when its crawl is proof of what it no longer sells."""

from __future__ import annotations

import pytest

from grocer.crawlstate import COMPLETED, StoreRun
from grocer.extensions.reconcile import ReconcileOnClose
from tests.helpers.spiders import project_settings


@pytest.mark.parametrize("run, counts, doubt", [
    (StoreRun("G102", COMPLETED), dict(stored=99, dropped=1, written=60, unchanged=39), None),
    (StoreRun("G102", COMPLETED), dict(dropped=100), "no price of it was stored"),
    (StoreRun("G102", COMPLETED), dict(stored=70, dropped=30, written=70),
     "30 of its 100 items were dropped"),
    (StoreRun("G102", COMPLETED), dict(stored=70, dropped=30, ignored=30, written=70),
     None),  # ad tiles, marketplace items: GROCER_BUDGET_IGNORED_REASONS
    (StoreRun("G102", COMPLETED, drift=3), dict(stored=10, written=10),
     "3 response(s) named another store"),
])
def test_delisting_doubt(run, counts, doubt):
    for name, value in counts.items():  # settled into the StoreRun by the health extension
        setattr(run, name, value)
    found = ReconcileOnClose.delisting_doubt(run, max_drop_rate=0.05)
    assert (found is None) if doubt is None else doubt in found


def test_an_item_error_forbids_reconciliation():
    from scrapy.utils.test import get_crawler

    crawler = get_crawler(settings_dict=project_settings())
    extension = ReconcileOnClose.from_crawler(crawler)
    assert extension.skip_reason("finished") is None
    extension.item_error(item={}, response=None, spider=None, failure=None)
    assert "failed in the pipelines" in extension.skip_reason("finished")
