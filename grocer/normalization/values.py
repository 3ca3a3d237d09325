"""Small safe readers of JSON data (pure): a path into nested data, an integer, a finite
number. Spiders read site responses with them, cleaners raw products."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any


def dig(data: Any, *path) -> Any:
    """data[path[0]][path[1]]…, or None where the path does not exist (never raises)."""
    for step in path:
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and isinstance(step, int) and -len(data) <= step < len(data):
            data = data[step]
        else:
            return None
        if data is None:
            return None
    return data


def as_int(value) -> int | None:
    """An int that is not a bool, else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def finite_number(value) -> int | float | Decimal | None:
    """A finite real number keeping its type, else None (bools are not numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    return None
