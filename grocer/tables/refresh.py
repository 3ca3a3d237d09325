"""Translation tables during a crawl (DESIGN §4): refreshed at the start and every
TABLES_REFRESH_EVERY_STORES stores.

Without TRANSLATION_TABLES_URL the tables are whatever is in TRANSLATION_TABLES_DIR: at a
refresh the normalize pipeline is told to reload them. With it, both files are downloaded
through Scrapy's downloader (so retries, throttling and the HTTP cache settings apply) as
``GET <URL>/<table file>`` with ``X-Grocer-Token`` and ``If-None-Match``. A 304 keeps the file;
a download that is not a valid table, or an empty table where a non-empty one exists, never
replaces a good file; a new table is written atomically and its ETag kept beside it in
``<table file>.etag``. The normalize pipeline reloads on the `tables_refreshed` signal.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from scrapy import Request

from grocer.tables.files import (
    TABLE_FILES,
    TranslationTableError,
    load_table,
    validate_table_bytes,
    write_table_atomically,
)

logger = logging.getLogger(__name__)

# Sent by a spider after it refreshed the translation tables in TRANSLATION_TABLES_DIR
# (every TABLES_REFRESH_EVERY_STORES stores); the normalize pipeline reloads them.
tables_refreshed = object()

STATS = "grocer/tables"


def etag_path(table_path: Path) -> Path:
    return table_path.with_name(table_path.name + ".etag")


def _write_text_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class TablesRefresher:
    """Decides when tables are due and turns downloads into files. The spider owns the
    requests' callbacks (`parse_table`/`table_failed`) and hands the responses back here."""

    def __init__(self, crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.directory = Path(settings.get("TRANSLATION_TABLES_DIR"))
        self.base_url = settings.get("TRANSLATION_TABLES_URL").rstrip("/")
        self.token = settings.get("GROCER_TABLES_TOKEN")
        self.every = max(settings.getint("TABLES_REFRESH_EVERY_STORES"), 1)
        self._last_boundary: int | None = None
        self._downloading = False
        self._changed: list[str] = []

    @property
    def stats(self):
        return self.crawler.stats  # set only once the crawl starts

    def due(self, stores_finished: int) -> bool:
        """At the start (URL mode only: the pipeline has just read the directory) and after
        every `every` finished stores."""
        if stores_finished == self._last_boundary:
            return False
        if stores_finished == 0:
            return bool(self.base_url)
        return stores_finished % self.every == 0

    def begin(self, stores_finished: int, callback, errback) -> list[Request]:
        """The downloads of this refresh; with no URL, the reload is announced at once."""
        self._last_boundary = stores_finished
        if not self.base_url:
            self._announce(f"reload from {self.directory}")
            return []
        self.directory.mkdir(parents=True, exist_ok=True)
        self._downloading, self._changed = True, []
        return [self._request(name, callback, errback) for name in TABLE_FILES]

    def end(self) -> None:
        """Called once the downloads of a refresh are all done."""
        if not self._downloading:
            return
        self._downloading = False
        if self._changed:
            self._announce(f"downloaded {', '.join(self._changed)}")
        else:
            logger.info("translation tables unchanged")

    def _request(self, name: str, callback, errback) -> Request:
        headers = {}
        if self.token:
            headers["X-Grocer-Token"] = self.token
        etag = self._etag_of_local_file(self.directory / name)
        if etag:
            headers["If-None-Match"] = etag
        return Request(
            f"{self.base_url}/{name}", headers=headers, callback=callback, errback=errback,
            dont_filter=True, priority=100,
            meta={"grocer_table": name, "dont_obey_robotstxt": True, "dont_cache": True,
                  "dont_merge_cookies": True, "handle_httpstatus_list": [304]})

    def store(self, response) -> str:
        """Keep or replace one table from its download; returns what happened."""
        name = response.meta["grocer_table"]
        path = self.directory / name
        if response.status == 304:
            outcome = "not_modified"
        else:
            try:
                table = validate_table_bytes(response.body, name)
                if not table and self._has_entries(path):
                    raise TranslationTableError(name, "empty table would replace a non-empty one")
            except TranslationTableError as error:
                logger.error("translation table download rejected, keeping %s: %s", path, error)
                outcome = "invalid"
            else:
                write_table_atomically(path, table)
                etag = response.headers.get("ETag")
                if etag:
                    _write_text_atomically(etag_path(path), etag.decode("latin-1"))
                else:
                    etag_path(path).unlink(missing_ok=True)
                self._changed.append(name)
                outcome = "updated"
        self.stats.inc_value(f"{STATS}/{outcome}")
        logger.info("translation table %s: %s", name, outcome.replace("_", " "))
        return outcome

    def failed(self, failure) -> None:
        name = failure.request.meta.get("grocer_table")
        self.stats.inc_value(f"{STATS}/failed")
        logger.error("translation table %s not downloaded, keeping the local file: %s",
                     name, failure.getErrorMessage())

    @staticmethod
    def _etag_of_local_file(path: Path) -> str | None:
        """The ETag of the download the local file still is. The sidecar is written after the
        table, so a table rewritten since (by reconciliation, by hand) is newer than its sidecar
        and is downloaded again in full."""
        sidecar = etag_path(path)
        try:
            if sidecar.stat().st_mtime_ns < path.stat().st_mtime_ns:
                return None
            return sidecar.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    @staticmethod
    def _has_entries(path: Path) -> bool:
        try:
            return bool(load_table(path))
        except TranslationTableError:
            return False

    def _announce(self, what: str) -> None:
        self.stats.inc_value(f"{STATS}/refreshed")
        logger.info("translation tables refreshed (%s)", what)
        self.crawler.signals.send_catch_log(tables_refreshed)
