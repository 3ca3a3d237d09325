"""Spider arguments (`-a name=value`; scrapyd passes every value as a string)."""

from __future__ import annotations


def split_argument(value) -> list[str]:
    """`-a x=a,b` (scrapyd passes every value as a string); a list is taken as it is."""
    if value is None:
        return []
    parts = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [part.strip() for part in parts if str(part).strip()]


def positive_int(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"-a {name}={value!r}: expected a positive whole number")
    return number
