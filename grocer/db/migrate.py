"""Alembic, driven from code: `scrapy migrate` and the tests bring a database to head.

Alembic is imported only to migrate: the schema check before every crawl reads the revision
with one query and the head from the revision files' text.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from grocer.db.migrations import versions
from grocer.db.models import is_search_index_table

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
REVISION_LINE = re.compile(r"^(revision|down_revision)\s*=\s*(.+)$", re.MULTILINE)


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def include_name(name, type_, parent_names) -> bool:
    """What schema comparisons (autogenerate) look at: not SQLite's full-text index tables."""
    return not (type_ == "table" and is_search_index_table(name))


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The database's revision (one query); None for a database without grocer's schema."""
    with engine.connect() as connection:
        try:
            return connection.scalar(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:  # no alembic_version table
            return None


def head_revision() -> str:
    """The newest revision, read from the revision modules' text (revision = "…",
    down_revision = "…" or a tuple): this also works inside a zipped egg (scrapyd), where
    Alembic cannot list the migrations directory, and imports neither Alembic nor them."""
    revisions, parents = set(), set()
    for resource in importlib.resources.files(versions).iterdir():
        if not resource.name.endswith(".py") or resource.name.startswith("__"):
            continue
        found = dict(REVISION_LINE.findall(resource.read_text(encoding="utf-8")))
        revisions.add(_literal(found["revision"]))
        down = found.get("down_revision", "None")
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", down))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"grocer's migrations must have one head, not {sorted(heads)}")
    return heads.pop()


def _literal(value: str) -> str:
    return value.strip().strip("\"'")


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
