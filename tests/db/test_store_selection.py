"""The default store works before any store list is loaded (zero set-up)."""

from __future__ import annotations

import pytest

from grocer.chains import CHAINS
from grocer.crawlstate import StoreSelectionError
from grocer.db.storeselection import select_stores


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
