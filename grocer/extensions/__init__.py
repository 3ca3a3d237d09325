"""Scrapy extensions: crawl health (per-store outcomes, error budget) and reconciliation on close."""
