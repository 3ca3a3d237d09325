"""Alembic, driven from code: `scrapy migrate` and the tests bring a database to head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


class SchemaNotCurrent(RuntimeError):
    """The database holds an older (or newer) grocer schema: `scrapy migrate` decides."""


def prepare_schema(engine: Engine, logger) -> None:
    """Before a crawl: an empty database gets the schema (zero set-up on the SQLite default);
    one at another revision is refused rather than migrated behind the operator's back."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None and not inspect(engine).get_table_names():
        logger.info("empty database: creating grocer's schema (revision %s)", head)
        upgrade(engine)
        return
    raise SchemaNotCurrent(
        f"the database is at schema revision {current or 'none (not a grocer database?)'}, grocer needs "
        f"{head}: run `scrapy migrate`")
