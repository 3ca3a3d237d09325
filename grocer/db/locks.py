"""The reconciliation lock: two crawls closing at once take turns.

MySQL/MariaDB: a named lock (``GET_LOCK``/``RELEASE_LOCK``) held by a dedicated connection, so it
is released by the server even if the process dies. SQLite: an exclusive ``flock`` on a file
next to the database file (``<db>.reconcile.lock``); in-memory SQLite databases are private to
one process, so a process-wide lock per URL is enough there.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from grocer.db.engine import is_mysql

LOCK_NAME = "grocer_reconcile"
_POLL_SECONDS = 0.05

_memory_locks: dict[str, threading.Lock] = {}
_memory_locks_guard = threading.Lock()


class LockTimeout(RuntimeError):
    """The lock was not acquired within the timeout (another reconciliation kept it)."""


def mysql_lock_name(engine: Engine) -> str:
    """`grocer_reconcile.<database>`: one lock per database (names are server-wide, ≤ 64 chars)."""
    database = engine.url.database or ""
    return f"{LOCK_NAME}.{database}"[:64]


def sqlite_lock_path(engine: Engine) -> Path | None:
    """The lock file of a SQLite database file, or None for an in-memory database."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(f"{os.path.abspath(database)}.reconcile.lock")


@contextmanager
def _mysql_lock(engine: Engine, timeout: float):
    name = mysql_lock_name(engine)
    with engine.connect() as connection:
        # Asked one second at a time: a longer GET_LOCK would outlast the connection's read
        # timeout (GROCER_DB_TIMEOUT). Whole seconds: old servers take no fractions.
        deadline = time.monotonic() + timeout
        while True:
            wait = 1 if time.monotonic() + 1 <= deadline else 0
            got = connection.execute(text("SELECT GET_LOCK(:name, :timeout)"),
                                     {"name": name, "timeout": wait}).scalar()
            connection.commit()
            if got == 1 or time.monotonic() >= deadline:
                break
            if not wait:  # less than a second left: one last try at the deadline
                time.sleep(max(0.0, deadline - time.monotonic()))
        if got != 1:
            raise LockTimeout(f"database lock {name!r} not acquired within {timeout:g} s")
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
                connection.commit()
            except Exception:  # a dead connection: the server released the lock with it
                connection.invalidate()


@contextmanager
def _file_lock(path: Path, timeout: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    # A new open file description per acquisition: flock then also excludes other threads.
    with open(path, "a+b") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"lock file {path} not acquired within {timeout:g} s") from None
                time.sleep(_POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def _memory_lock(key: str, timeout: float):
    with _memory_locks_guard:
        lock = _memory_locks.setdefault(key, threading.Lock())
    if not lock.acquire(timeout=max(timeout, 0)):
        raise LockTimeout(f"in-process lock for {key} not acquired within {timeout:g} s")
    try:
        yield
    finally:
        lock.release()


@contextmanager
def reconcile_lock(engine: Engine, timeout: float):
    """Hold grocer's reconciliation lock for the database of `engine` (raises LockTimeout)."""
    if is_mysql(engine):
        with _mysql_lock(engine, timeout):
            yield
        return
    path = sqlite_lock_path(engine)
    if path is None:
        with _memory_lock(str(engine.url), timeout):
            yield
        return
    with _file_lock(path, timeout):
        yield
