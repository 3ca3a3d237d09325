"""Reconciliation (DESIGN §5, spec §2.8): the whole sequence run after a crawl or by
`scrapy reconcile`, one module per step.

Order: delisting (grocer.db.delisting) → brand merges (brands) → product merges (products, with
merge_policy) → orphan clean-up (orphans) → table generation (grocer.db.tables), all under the
reconciliation lock. Every step is idempotent and works in chunks with bulk statements
(statements: IN lists, CASE re-pointing); nothing is done one query per product.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.engine import Engine

from grocer import settings as defaults
from grocer.db import tables
from grocer.db.delisting import CompletedStore, delist_unseen
from grocer.db.locks import reconcile_lock
from grocer.db.reconcile.brands import reconcile_brands
from grocer.db.reconcile.orphans import delete_orphans
from grocer.db.reconcile.products import reconcile_products
from grocer.db.reconcile.results import ReconcileResult
from grocer.normalization.dates import utcnow

logger = logging.getLogger(__name__)


def read_tables(tables_dir: str | os.PathLike) -> tuple[dict, dict, str | None]:
    """(brand_table, product_table, error): missing files are empty tables, an invalid file
    makes both empty (nothing is merged) and is reported as `error`."""
    directory = Path(tables_dir)
    if not any((directory / name).is_file()
               for name in (tables.BRAND_TABLE_FILE, tables.PRODUCT_TABLE_FILE)):
        logger.warning("no translation tables in %s (TRANSLATION_TABLES_DIR): nothing to merge",
                       directory)
        return {}, {}, None
    try:
        brand_table, product_table = tables.load_tables(directory)
    except tables.TranslationTableError as error:
        logger.error("translation tables in %s are invalid, no merges this time: %s",
                     directory, error)
        return {}, {}, str(error)
    return brand_table, product_table, None


def reconcile(engine: Engine, tables_dir: str | os.PathLike, *,
              company: str | None = None, completed_stores: Iterable[CompletedStore] = (),
              merge: bool = True, clean_orphans: bool = True, generate: bool = True,
              orphan_grace: dt.timedelta = dt.timedelta(0),
              lock_timeout: float = defaults.GROCER_RECONCILE_LOCK_TIMEOUT) -> ReconcileResult:
    """Delisting → brand merges → product merges → orphan clean-up → table generation, under
    the reconciliation lock (raises locks.LockTimeout if another run keeps it too long).

    `tables_dir` is the configured TRANSLATION_TABLES_DIR: both reconcilers read it and the
    generators write it. Delisting runs only for `completed_stores` of `company`.
    """
    started = time.monotonic()
    result = ReconcileResult()

    def timed(step, function, *args, **kwargs):
        step_started = time.monotonic()
        value = function(*args, **kwargs)
        result.timings[step] = round(time.monotonic() - step_started, 3)
        return value

    with reconcile_lock(engine, lock_timeout):
        result.timings["lock"] = round(time.monotonic() - started, 3)
        completed_stores = list(completed_stores)
        if company and completed_stores:
            result.delisted = timed("delisting", delist_unseen, engine, company,
                                    completed_stores)
        if merge:
            brand_table, product_table, result.table_error = read_tables(tables_dir)
            result.brands = timed("brands", reconcile_brands, engine, brand_table)
            result.products = timed("products", reconcile_products, engine, product_table)
        if clean_orphans:
            result.orphans_deleted = timed("orphans", delete_orphans, engine,
                                           created_before=utcnow() - orphan_grace)
        if generate:
            result.tables = timed("tables", tables.generate_tables, engine, tables_dir)
    result.seconds = round(time.monotonic() - started, 3)
    logger.info("reconciliation done in %.1f s: %s", result.seconds, result.summary())
    return result
