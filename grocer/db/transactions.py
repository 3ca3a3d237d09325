"""Small helpers for batched maintenance work: chunking and retried transactions."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from grocer.db.engine import session_scope

logger = logging.getLogger(__name__)

T = TypeVar("T")

# MySQL/MariaDB: 1213 deadlock, 1205 lock wait timeout. SQLite: "database is locked".
_RETRYABLE_MYSQL_CODES = {1205, 1213}


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def is_retryable(error: OperationalError) -> bool:
    original = getattr(error, "orig", None)
    args = getattr(original, "args", ()) or ()
    if args and isinstance(args[0], int) and args[0] in _RETRYABLE_MYSQL_CODES:
        return True
    return "database is locked" in str(original or error)


def run_transaction(engine: Engine, work: Callable[[Session], T], attempts: int = 6) -> T:
    """`work(session)` in one transaction; a deadlock or lock timeout rolls back and retries.

    `work` must read what it needs inside the transaction, so a retry starts from fresh data.
    Blocking (it sleeps between attempts): call it from a worker thread, never on the loop.
    The waits are jittered: crawls that deadlocked on the same rows must not retry in step.
    """
    for attempt in range(1, attempts + 1):
        try:
            with session_scope(engine) as session:
                return work(session)
        except OperationalError as error:
            if attempt == attempts or not is_retryable(error):
                raise
            delay = 0.2 * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
            logger.warning("transaction hit %s; retrying in %.1f s (attempt %d of %d)",
                           error.orig if error.orig is not None else error, delay, attempt + 1,
                           attempts)
            time.sleep(delay)
    raise AssertionError("unreachable")


def in_chunks(values: Sequence[T], size: int = 1000) -> Iterator[Sequence[T]]:
    """Slices of a sequence for IN lists that stay well under every driver's parameter limit."""
    for start in range(0, len(values), size):
        yield values[start:start + size]
