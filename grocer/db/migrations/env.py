"""Alembic environment: the engine comes from grocer (`scrapy migrate`) or from
GROCER_DATABASE_URL when alembic is run by hand (`alembic -c alembic.ini revision ...`)."""

from alembic import context

from grocer import settings
from grocer.db.engine import make_engine
from grocer.db.migrate import include_name
from grocer.db.models import Base

config = context.config
engine = config.attributes.get("engine") or make_engine(settings.GROCER_DATABASE_URL)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
