"""Database set-up shared by the test suite and the benchmarks (not used by crawls)."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from grocer.db import migrate
from grocer.db.engine import make_engine, normalize_url
from grocer.db.models import SQLITE_SEARCH_TABLE, Base


def ensure_mysql_database(url: str) -> None:
    """CREATE DATABASE IF NOT EXISTS for a MySQL/MariaDB URL (a no-op for SQLite)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() not in ("mysql", "mariadb") or not parsed.database:
        return
    server = create_engine(parsed._replace(database=None))  # namedtuple API: set() keeps it
    with server.begin() as connection:
        connection.execute(text(
            f"CREATE DATABASE IF NOT EXISTS `{parsed.database}` "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    server.dispose()


def drop_everything(engine: Engine) -> None:
    """Drop grocer's tables and Alembic's version table: an empty database again."""
    with engine.begin() as connection:
        if engine.dialect.name in ("mysql", "mariadb"):
            connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        Base.metadata.drop_all(connection)
        if engine.dialect.name == "sqlite":  # the full-text index of migration 0004
            connection.execute(text(f"DROP TABLE IF EXISTS {SQLITE_SEARCH_TABLE}"))
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if engine.dialect.name in ("mysql", "mariadb"):
            connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))


def fresh_database(url: str) -> Engine:
    """An engine on an empty database brought to the newest schema by the migrations."""
    ensure_mysql_database(url)
    engine = make_engine(url)
    drop_everything(engine)
    migrate.upgrade(engine)
    return engine


def empty_tables(engine: Engine) -> None:
    """Delete every row (children first) but keep the schema: fast isolation between tests."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
