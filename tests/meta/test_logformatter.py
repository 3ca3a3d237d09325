"""The per-item "Scraped from" message is built only when DEBUG is logged."""

from __future__ import annotations

from scrapy.utils.misc import build_from_crawler
from scrapy.utils.misc import load_object
from scrapy.utils.test import get_crawler

from grocer import settings as grocer_settings


def formatter(level):
    crawler = get_crawler(settings_dict={
        "LOG_LEVEL": level, "LOG_FORMATTER": grocer_settings.LOG_FORMATTER})
    return build_from_crawler(load_object(crawler.settings["LOG_FORMATTER"]), crawler)


def test_a_scraped_item_is_not_logged_under_info():
    assert formatter("INFO").scraped({"sku": "1"}, None, None) is None


def test_a_scraped_item_is_logged_under_debug_as_scrapy_logs_it():
    logkws = formatter("DEBUG").scraped({"sku": "1"}, None, None)
    assert logkws["msg"].startswith("Scraped from") and logkws["args"]["item"] == {"sku": "1"}

