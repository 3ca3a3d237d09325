"""The normalize pipeline holds the translation tables and reloads them when told to."""

from __future__ import annotations

import json

from scrapy.utils.test import get_crawler

from grocer.items import ProductItem
from grocer.pipelines.normalize import NormalizePipeline
from grocer.tables.refresh import tables_refreshed

CLEANED = {"name": "Whole Milk", "brand": "CC", "size": "2L", "price_current": 3.0}


def normalize(pipeline):
    item = ProductItem(product=dict(CLEANED))
    return pipeline.process_item(item)["product"]


def test_tables_come_from_the_configured_directory_and_reload_on_the_signal(tmp_path):
    (tmp_path / "brand_translation_table.json").write_text(json.dumps({"cc": "coca cola"}))
    crawler = get_crawler(settings_dict={"TRANSLATION_TABLES_DIR": str(tmp_path)})
    pipeline = NormalizePipeline.from_crawler(crawler)
    before = normalize(pipeline)
    assert before["normalized_brand"] == "coca cola"

    (tmp_path / "product_translation_table.json").write_text(
        json.dumps({before["normalized_name_brand_size"]: "canonical milk key"}))
    assert normalize(pipeline)["normalized_name_brand_size"] != "canonical milk key"
    crawler.signals.send_catch_log(tables_refreshed)
    assert normalize(pipeline)["normalized_name_brand_size"] == "canonical milk key"


def test_a_broken_table_keeps_the_previous_ones(tmp_path, caplog):
    (tmp_path / "brand_translation_table.json").write_text(json.dumps({"cc": "coca cola"}))
    pipeline = NormalizePipeline(str(tmp_path))
    (tmp_path / "brand_translation_table.json").write_text("{not json")
    pipeline.reload_tables()
    assert "keeping the previous ones" in caplog.text
    assert normalize(pipeline)["normalized_brand"] == "coca cola"


def test_the_item_remembers_the_key_it_came_with(tmp_path):
    pipeline = NormalizePipeline(str(tmp_path))
    item = pipeline.process_item(ProductItem(product=dict(CLEANED)))
    assert item["incoming_key"] == item["product"]["normalized_name_brand_size"]
    assert set(item["product"]) >= {"sizes", "unit_price", "unit_of_measure", "price_hash"}
