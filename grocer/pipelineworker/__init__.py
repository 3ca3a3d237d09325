"""The item pipelines in a worker process of their own (GROCER_PIPELINE_WORKER).

A crawl is bound by its one interpreter's CPU: downloading and parsing use most of a core, and
cleaning, normalizing, resolving and writing prices add as much again under the same GIL. With
the worker, Scrapy's `ITEM_PROCESSOR` (`processor.PipelineWorker`) forks the crawl at start-up
into a second process that runs `ITEM_PIPELINES` (`host`), and the crawl only sends each item's
fields over a pipe (`channel`) and waits for its outcome: the same pipelines, stats, drops, log
lines and close, on the second core.
"""
