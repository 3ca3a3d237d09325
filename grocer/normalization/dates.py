"""Time in grocer (pure): timestamps are timezone-aware UTC; a price's day is the day in Sydney,
where the chains' price weeks start."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SYDNEY = ZoneInfo("Australia/Sydney")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def as_utc(value) -> dt.datetime:
    """A datetime or ISO text as timezone-aware UTC; naive values are taken as UTC (Scrapy's
    JSON feed exporter writes UTC without a zone). Raises ValueError on text that is not ISO."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise ValueError(f"not a datetime: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def sydney_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SYDNEY).date()


def sydney_midday(day: dt.date) -> dt.datetime:
    """Midday in Sydney of a day, in UTC: the day survives the trip to UTC and back."""
    return dt.datetime.combine(day, dt.time(12), SYDNEY).astimezone(dt.timezone.utc)
