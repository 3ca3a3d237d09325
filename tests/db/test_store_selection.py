"""The default store works before any store list is loaded (zero set-up)."""

from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler

from grocer.chains import CHAINS
from grocer.crawlstate import StoreSelectionError
from grocer.db.errors import DatabaseUnavailable
from grocer.db.storeselection import select_stores
from grocer.db.targets import known_stores, known_zones, store_targets


def test_the_default_store_is_created_when_no_store_list_was_loaded(engine, caplog):
    (target,) = select_stores(engine, CHAINS["coles"], None)
    assert (target.code, target.site_id) == ("COL:401", "401")
    assert "not in the database: created it" in caplog.text
    assert select_stores(engine, CHAINS["coles"], "") == [target]  # found the second time


def test_a_named_unknown_store_is_still_an_error(engine):
    with pytest.raises(StoreSelectionError, match="unknown Aldi store code"):
        select_stores(engine, CHAINS["aldi"], "G999")


def test_iga_has_no_default_without_a_store_list(engine):
    with pytest.raises(StoreSelectionError, match="loadstores"):
        select_stores(engine, CHAINS["iga"], None)


@pytest.mark.parametrize("read", [
    lambda crawler: store_targets(crawler, CHAINS["coles"], None),
    lambda crawler: known_stores(crawler, CHAINS["coles"]),  # the drift guard's, in start()
    lambda crawler: known_zones(crawler, CHAINS["coles"]),  # a zone crawl's plan
], ids=["stores", "known stores", "zones"])
def test_every_read_of_a_crawl_start_says_in_one_line_that_the_database_cannot_be_used(read):
    """Before, only the store selection did: the known stores and zones read at the start of
    the same crawl gave the driver's multi-line error."""
    crawler = get_crawler(settings_dict={  # nothing listens on port 1 of the loopback
        "GROCER_DATABASE_URL": "mysql+pymysql://grocer@127.0.0.1:1/grocer",
        "GROCER_DB_TIMEOUT": 2})
    with pytest.raises(DatabaseUnavailable) as raised:
        read(crawler)
    message = str(raised.value)
    assert message.startswith("cannot use the database mysql+pymysql://grocer@127.0.0.1:1/")
    assert "\n" not in message
