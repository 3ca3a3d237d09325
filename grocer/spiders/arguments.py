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


def valid_arguments(spider_class) -> list[str]:
    """The `-a` names a spider class takes: the keyword parameters of its __init__s."""
    names: dict[str, None] = {}
    for cls in spider_class.__mro__:
        init = cls.__dict__.get("__init__")
        code = getattr(init, "__code__", None)
        if code is None:
            continue
        count = code.co_argcount + code.co_kwonlyargcount
        for name in code.co_varnames[1:count]:
            if name not in ("args", "kwargs", "name"):
                names[name] = None
    return sorted(names)


def unknown_arguments(spider_class, kwargs: dict) -> list[str]:
    """Arguments the spider does not take (scrapyd's own, `_job` etc., are expected)."""
    valid = set(valid_arguments(spider_class))
    return sorted(name for name in kwargs if not name.startswith("_") and name not in valid)
