"""`scrapy ingest`: JSON lines (a crawl feed or a SplitCart archive) through the item pipelines,
without the crawl engine. `lines` reads and parses a file; `run` drives the pipelines."""
