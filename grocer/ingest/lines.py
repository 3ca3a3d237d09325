"""The lines of an ingest file: read (plain or gzip) and turned into ProductItems.

A line is either a grocer item (as written by `scrapy crawl … -O items.jsonl`; replayed from
`raw`) or a SplitCart archive line `{"product": {...}, "metadata": {"company", "scraped_date",
…}}` whose product is already cleaned: it skips the field map, not the validation. Derived
fields in a line are never trusted; the pipelines recompute them. Whatever a line holds (bytes
that are not UTF-8, nesting deeper than the parser goes, numbers too long to convert), it is a
`BadLine` of its own and never stops the file.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from grocer.chains import CHAINS
from grocer.items import ProductItem
from grocer.normalization.dates import as_utc, sydney_midday

GZIP_MAGIC = b"\x1f\x8b"


class BadLine(ValueError):
    pass


def splitcart_scraped_at(metadata: dict) -> dt.datetime:
    """Midday in Sydney of the archive's scraped_date: the date survives the trip to UTC."""
    text = metadata.get("scraped_date")
    if not text:
        return dt.datetime.now(dt.timezone.utc)
    return sydney_midday(dt.date.fromisoformat(str(text)[:10]))


def feed_scraped_at(value) -> dt.datetime:
    """A feed line's scraped_at (ISO text; Scrapy's JSON encoder writes UTC without a zone)."""
    if value is None:
        return dt.datetime.now(dt.timezone.utc)
    try:
        return as_utc(value)
    except (TypeError, ValueError):
        raise BadLine(f"bad scraped_at {value!r}") from None


def default_store(company: str) -> str:
    chain = CHAINS.get(company)
    if chain is None or chain.default_store is None:
        raise BadLine(f"no store for company {company!r}: pass --store")
    return chain.default_store


def line_company(own, company: str | None, what: str) -> str:
    """The line's company: its own, which must agree with --company when both are given."""
    own = own.strip().lower() if isinstance(own, str) else ""
    if company and own and own != company:
        raise BadLine(f"{what} is {own!r}, not --company {company!r}")
    if not (company or own):
        raise BadLine(f"line without {what}")
    return company or own


def item_from_line(record, company: str | None, store: str | None) -> ProductItem:
    """The ProductItem for one decoded JSON line; BadLine when it is neither shape or names
    another company than `company` (--company, lower case)."""
    if not isinstance(record, dict):
        raise BadLine("not a JSON object")
    if isinstance(record.get("raw"), dict):
        slug = line_company(record.get("company"), company, "company")
        return ProductItem(
            raw=record["raw"], company=slug,
            store_code=str(store or record.get("store_code") or default_store(slug)),
            scraped_at=feed_scraped_at(record.get("scraped_at")),
            category_path=record.get("category_path"),
        )
    if isinstance(record.get("product"), dict):
        metadata = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
        slug = line_company(metadata.get("company") or metadata.get("company_name"), company,
                            "metadata.company")
        try:
            scraped_at = splitcart_scraped_at(metadata)
        except ValueError:
            raise BadLine(f"bad scraped_date {metadata.get('scraped_date')!r}") from None
        return ProductItem(
            product=record["product"], company=slug,
            store_code=str(store or metadata.get("store_id") or default_store(slug)),
            scraped_at=scraped_at,
        )
    raise BadLine("neither a grocer item (raw) nor a SplitCart line (product)")


def parse_line(data: bytes, company: str | None, store: str | None) -> ProductItem:
    """One line of the file (bytes) → its item; BadLine for anything that is not one."""
    try:
        record = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise BadLine(f"not UTF-8 ({error.reason} at byte {error.start})") from None
    except RecursionError:
        raise BadLine("nested too deeply to parse") from None
    except ValueError as error:  # JSONDecodeError, and integers past Python's digit limit
        raise BadLine(f"not JSON: {str(error)[:120]}") from None
    return item_from_line(record, company, store)


@dataclass
class Line:
    number: int
    data: bytes
    position: int  # bytes of the file on disk read so far (compressed ones for gzip)


class LineReader:
    """Streams the lines of a JSON-lines file, gzip or not (told by its first bytes, not its
    name), with how far into the file on disk each one is (for the progress ETA)."""

    def __init__(self, path: str | os.PathLike):
        self.path = path
        self.size = os.path.getsize(path)

    def __iter__(self) -> Iterator[Line]:
        with open(self.path, "rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            lines: BinaryIO = gzip.GzipFile(fileobj=raw) if compressed else raw
            position = 0
            for number, data in enumerate(lines, start=1):
                position = raw.tell() if compressed else position + len(data)
                if data.strip():
                    yield Line(number, data, position)
