"""Dialect-specific bulk statements (SQLite `ON CONFLICT`, MySQL `ON DUPLICATE KEY UPDATE`)."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import Session

from grocer.db.engine import is_mysql


def insert_ignore(connection: Connection, model):
    """INSERT that skips rows colliding with a unique constraint (another crawl was first).

    On MySQL not `INSERT IGNORE`, which also turns foreign-key errors and truncation into
    warnings: `ON DUPLICATE KEY UPDATE id = id` ignores duplicate keys only."""
    if is_mysql(connection):
        statement = mysql.insert(model)
        return statement.on_duplicate_key_update({"id": model.__table__.c.id})
    if connection.dialect.name == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    return insert(model)


def find_or_insert(session: Session, model, values: dict, *match):
    """The row of `model` that `match` selects, inserted with `values` when there is none.

    Another writer inserting the same row at the same moment is no error: the insert waits for
    theirs and skips it, and the second read sees their committed row (READ COMMITTED). A row
    skipped for colliding on *another* unique column is still not there: that is a LookupError
    naming the values, not a None for the caller to trip over."""
    row = session.scalar(select(model).where(*match))
    if row is None:
        session.execute(insert_ignore(session.connection(), model), [values])
        row = session.scalar(select(model).where(*match))
    if row is None:
        raise LookupError(f"{model.__tablename__} {values} could not be inserted: another row "
                          "holds one of its unique values")
    return row


def upsert(connection: Connection, model, conflict_columns: list[str], update_columns: list[str]):
    """INSERT … or UPDATE `update_columns` when a row with the same `conflict_columns` exists."""
    if is_mysql(connection):
        statement = mysql.insert(model)
        return statement.on_duplicate_key_update(
            {name: statement.inserted[name] for name in update_columns})
    statement = sqlite.insert(model)
    return statement.on_conflict_do_update(
        index_elements=conflict_columns,
        set_={name: statement.excluded[name] for name in update_columns})
