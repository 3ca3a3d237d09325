"""Scrapy extensions: crawl health (per-store outcomes, error budget), reconciliation on close,
zones; and the log formatter."""
