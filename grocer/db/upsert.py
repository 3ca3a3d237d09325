"""Dialect-specific bulk statements (SQLite `ON CONFLICT`, MySQL `ON DUPLICATE KEY UPDATE`)."""

from __future__ import annotations

from sqlalchemy import Connection, insert
from sqlalchemy.dialects import mysql, sqlite

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
