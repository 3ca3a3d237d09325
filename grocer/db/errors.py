"""Database failures as one line a person can act on (no traceback): what `scrapy crawl` and
the other commands print when the database is unreachable, missing or not grocer's; and which
failures mean "the database is unavailable" rather than "it refused these rows"."""

from __future__ import annotations

from sqlalchemy import exc
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from grocer.db.migrate import SchemaNotCurrent

# Any error of the database layer: what code outside grocer/db catches (it never names
# SQLAlchemy's classes itself).
DatabaseError = SQLAlchemyError

MYSQL_UNKNOWN_DATABASE = 1049
MYSQL_ACCESS_DENIED = 1045
MYSQL_NO_REFERENCED_ROW = 1452
# Too many connections, server shutdown, lock wait timeout; the client's: cannot connect (2002,
# 2003, 2005), server gone or connection lost — a read/write timeout included (2006, 2013, 2055).
MYSQL_UNAVAILABLE = frozenset({1040, 1053, 1205, 2002, 2003, 2005, 2006, 2013, 2055})
SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk I/O error")


class DatabaseUnavailable(RuntimeError):
    """The database cannot be used; the message says what to do."""


def describe(error: BaseException, engine=None) -> str:
    """One line for a database error."""
    if isinstance(error, SchemaNotCurrent):
        return str(error)
    url = engine.url.render_as_string(hide_password=True) if engine is not None else "?"
    database = getattr(getattr(engine, "url", None), "database", None)
    original = getattr(error, "orig", None)
    code = original.args[0] if original is not None and original.args else None
    if code == MYSQL_UNKNOWN_DATABASE:
        return (f"the database {database!r} does not exist on {url}: create it with "
                f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4, then run `scrapy migrate`")
    if code == MYSQL_ACCESS_DENIED:
        return f"access to the database {url} denied: check the user and password"
    if isinstance(error, OperationalError):
        detail = str(original if original is not None else error).strip().splitlines()[0]
        return f"cannot use the database {url}: {detail}"
    if isinstance(error, DBAPIError):
        detail = str(original if original is not None else error).strip().splitlines()[0]
        return f"database error on {url}: {detail}"
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def is_unavailable(error: BaseException) -> bool:
    """The database did not answer: refused or lost connection, a timeout (GROCER_DB_TIMEOUT),
    no pooled connection, or it was found down before. Splitting the batch cannot help then.
    Any other error (a row refused by a constraint, a trigger or strict mode) is the rows'."""
    if isinstance(error, DatabaseUnavailable | exc.TimeoutError | exc.DisconnectionError
                  | exc.InterfaceError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    original = error.orig
    code = original.args[0] if original is not None and original.args else None
    if isinstance(code, int):  # MySQL/MariaDB: the server's or the client library's code
        return code in MYSQL_UNAVAILABLE
    return any(text in str(original) for text in SQLITE_UNAVAILABLE)


def is_missing_reference(error: BaseException) -> bool:
    """A foreign key names a row that is gone (e.g. a product another crawl merged away)."""
    if not isinstance(error, exc.IntegrityError):
        return False
    original = error.orig
    code = original.args[0] if original is not None and original.args else None
    return code == MYSQL_NO_REFERENCED_ROW or "FOREIGN KEY constraint failed" in str(original)
