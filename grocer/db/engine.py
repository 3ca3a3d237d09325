"""Engines and sessions: the one place that knows how grocer talks to each database."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

# The defaults of callers without Scrapy settings (benchmarks, the web app): the project's own.
from grocer.settings import GROCER_DATABASE_URL as DEFAULT_DATABASE_URL
from grocer.settings import GROCER_DB_TIMEOUT as DEFAULT_TIMEOUT


def normalize_url(url: str):
    """Parse a database URL; MySQL/MariaDB always speak utf8mb4 through pymysql."""
    parsed = make_url(url)
    if parsed.get_backend_name() in ("mysql", "mariadb"):
        if parsed.drivername in ("mysql", "mariadb"):
            parsed = parsed.set(drivername=f"{parsed.drivername}+pymysql")
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def _sqlite_pragmas(timeout: float):
    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: reconciliation reads whole tables
        cursor.close()
    return on_connect


def make_engine(url: str = DEFAULT_DATABASE_URL, timeout: float = DEFAULT_TIMEOUT,
                **kwargs) -> Engine:
    """An engine that never waits longer than `timeout` seconds for the database: to connect,
    for a pooled connection, for one answer or write (MySQL), for a lock (SQLite's busy wait).
    A database that stops answering then raises instead of hanging its caller."""
    parsed = normalize_url(url)
    kwargs.setdefault("pool_timeout", timeout)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": timeout})
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas(timeout))
        return engine
    # A row lock waited for ends in a retryable error (1205) well before the read timeout would
    # take the answer for a dead server.
    lock_wait = max(1, int(timeout / 2))
    kwargs.setdefault("connect_args", {
        "connect_timeout": timeout, "read_timeout": timeout, "write_timeout": timeout,
        "init_command": f"SET SESSION innodb_lock_wait_timeout = {lock_wait}"})
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_recycle", 3600)
    # Several crawls write into one database at once: under InnoDB's default REPEATABLE READ a
    # product another crawl committed after this transaction's first read stays invisible, so
    # a duplicate-key skip could not find the row that caused it. READ COMMITTED sees it.
    kwargs.setdefault("isolation_level", "READ COMMITTED")
    return create_engine(parsed, **kwargs)


_engines: dict[tuple[str, float], Engine] = {}  # get_engine's, by (URL, timeout)


def get_engine(url: str = DEFAULT_DATABASE_URL, timeout: float = DEFAULT_TIMEOUT) -> Engine:
    """One engine (and pool) per URL and timeout for the whole process."""
    engine = _engines.get((url, timeout))
    if engine is None:
        engine = _engines.setdefault((url, timeout), make_engine(url, timeout))
    return engine


def dispose_engines() -> None:
    """Close the pooled connections of every engine get_engine made: a process about to exit
    closes them itself (SQLite folds its write-ahead log into the file) instead of leaving them
    to the interpreter's teardown. An engine used again opens new ones."""
    for engine in list(_engines.values()):
        engine.dispose()


def engine_from_settings(settings) -> Engine:
    return get_engine(settings.get("GROCER_DATABASE_URL"), settings.getfloat("GROCER_DB_TIMEOUT"))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine):
    """A session whose transaction commits on success and rolls back on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session


def is_mysql(bind: Engine | Connection) -> bool:
    return bind.dialect.name in ("mysql", "mariadb")


def forget_inherited_engines() -> None:
    """In a process forked from one that used get_engine: the pooled connections belong to the
    parent; this process opens its own (SQLAlchemy's `dispose(close=False)`)."""
    for engine in _engines.values():
        engine.dispose(close=False)
