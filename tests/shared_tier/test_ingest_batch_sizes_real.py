"""Real-data tier (issue 13): the real Woolworths product tiles (corpus/matching, 1.4 % dropped
once marketplace items are left out of the budget) ingested at GROCER_BATCH_SIZE 1, 100 and
1000 close `finished` each time with the same counts — the batch size changes how grocer
writes, never what it stores or drops."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from grocer.db.models import CrawlRun
from tests.helpers.database import empty_tables
from tests.helpers.scrapy_cli import run_scrapy

CORPUS = ("corpus/matching/"
          "woolworths_products_2026-07__DERIVED_from_edward20-grocery-scraper_raw_pages.jsonl")
EVERY = 5  # a fixed slice (every 5th tile, 548 lines): batch size 1 on all 2,740 takes minutes


def feed_slice(shared_dir, target) -> int:
    """Every EVERY-th tile of the corpus as a grocer feed line (read in place, written to tmp)."""
    lines = (shared_dir / CORPUS).read_text(encoding="utf-8").splitlines()[::EVERY]
    with target.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps({"raw": json.loads(line), "company": "woolworths",
                                  "store_code": "1147",
                                  "scraped_at": "2026-07-15T02:00:00+00:00"}) + "\n")
    return len(lines)


@pytest.mark.slow
def test_the_woolworths_corpus_ingests_finished_with_the_same_counts_at_every_batch_size(
        shared_dir, db_url, engine, tmp_path):
    feed = tmp_path / "woolworths.jsonl"
    lines = feed_slice(shared_dir, feed)
    outcomes = {}
    for batch_size in (1, 100, 1000):
        empty_tables(engine)
        result = run_scrapy(["ingest", str(feed), "-s", f"GROCER_BATCH_SIZE={batch_size}",
                             "-s", "GROCER_RECONCILE_ON_CLOSE=0"],
                            db_url=db_url, workdir=tmp_path / "run", timeout=600)
        with engine.connect() as connection:
            run = connection.execute(select(CrawlRun.close_reason, CrawlRun.stats)).one()
        stats = run.stats
        outcomes[batch_size] = {
            "close_reason": run.close_reason, "stored": stats["grocer/health/stored"],
            "dropped": stats["grocer/health/dropped"], "ignored": stats["grocer/health/ignored"],
            "lost": stats["grocer/health/lost"], "history": stats.get("grocer/history_rows"),
            **{name: stats.get(f"grocer/prices/{name}", 0)
               for name in ("new", "changed", "unchanged", "duplicate")}}
        assert result.returncode == 0
    first = outcomes[1]
    assert first["close_reason"] == "finished" and first["lost"] == 0
    assert first["stored"] + first["dropped"] == lines and first["dropped"] > first["ignored"] > 0
    assert outcomes[100] == first and outcomes[1000] == first, outcomes
