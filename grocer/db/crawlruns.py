"""CrawlRun rows: what each crawl did and whether it was reconciled. A crawl's row is inserted
when it starts (close_reason NULL: running, or killed before it could close) and completed when
it closes."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy.engine import Engine

from grocer.db.engine import session_scope
from grocer.db.models import CrawlRun


def json_safe(value):
    """A JSON-serializable copy: datetimes/dates → ISO strings, Decimals → str, sets → sorted
    lists, NaN/inf → None, anything else unknown → str()."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((json_safe(item) for item in value), key=str)
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return str(value)


def start_crawl_run(engine: Engine, *, spider: str, started_at: dt.datetime) -> int:
    """Insert the row of a crawl that starts; returns its id."""
    with session_scope(engine) as session:
        run = CrawlRun(spider=spider[:50], stores=[], stores_completed=[], started_at=started_at,
                       reconciled=False, stats={}, store_stats={})
        session.add(run)
        session.flush()
        return run.id


def record_crawl_run(engine: Engine, *, spider: str, stores: list[str],
                     stores_completed: list[str], started_at: dt.datetime | None,
                     finished_at: dt.datetime | None, close_reason: str | None,
                     reconciled: bool, stats: Mapping | None = None,
                     store_stats: Mapping | None = None, run_id: int | None = None) -> int:
    """Complete the row `run_id` (from start_crawl_run), or insert one; returns its id."""
    with session_scope(engine) as session:
        run = session.get(CrawlRun, run_id) if run_id is not None else None
        if run is None:
            run = CrawlRun(spider=spider[:50], started_at=started_at)
            session.add(run)
        run.stores = list(stores)
        run.stores_completed = list(stores_completed)
        run.started_at = run.started_at or started_at
        run.finished_at = finished_at
        run.close_reason = (close_reason or "")[:100] or None
        run.reconciled = bool(reconciled)
        run.stats = json_safe(dict(stats or {}))
        run.store_stats = json_safe(dict(store_stats or {}))
        session.flush()
        return run.id
