"""Alembic, driven from code: `scrapy migrate` and the tests bring a database to head."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from grocer.db.migrations import versions
from grocer.db.models import is_search_index_table

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def include_name(name, type_, parent_names) -> bool:
    """What schema comparisons (autogenerate) look at: not SQLite's full-text index tables."""
    return not (type_ == "table" and is_search_index_table(name))


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision, read by importing the revision modules: this also works inside a
    zipped egg (scrapyd), where Alembic cannot list the migrations directory."""
    revisions, parents = set(), set()
    for module in pkgutil.iter_modules(versions.__path__):
        migration = importlib.import_module(f"{versions.__name__}.{module.name}")
        revisions.add(migration.revision)
        down = migration.down_revision
        parents.update(down if isinstance(down, tuple) else (down,))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"grocer's migrations must have one head, not {sorted(heads)}")
    return heads.pop()


class SchemaNotCurrent(RuntimeError):
    """The database holds an older (or newer) grocer schema: `scrapy migrate` decides."""


def prepare_schema(engine: Engine, logger) -> None:
    """Before a crawl: an empty database gets the schema (zero set-up on the SQLite default);
    one at another revision is refused rather than migrated behind the operator's back."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None and not inspect(engine).get_table_names() and MIGRATIONS_DIR.is_dir():
        logger.info("empty database: creating grocer's schema (revision %s)", head)
        upgrade(engine)
        return
    raise SchemaNotCurrent(
        f"the database is at schema revision {current or 'none (not a grocer database?)'}, grocer needs "
        f"{head}: run `scrapy migrate`")
