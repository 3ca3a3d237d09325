"""The layout's rules, checked on the source (README "Layout")."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import grocer.settings

PACKAGE = Path(__file__).resolve().parents[2] / "grocer"


def imports_of(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every import in a file, also those inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append((node.module or "", [alias.name for alias in node.names]))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_scrapy_api(path):
    for module, names in imports_of(path):
        if module.split(".")[0] == "scrapy":
            private = [n for n in [*module.split("."), *names] if n.startswith("_")]
            assert not private, f"{path}: imports {module} {names}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "normalization").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_normalization_is_stdlib_only(path):
    for module, _ in imports_of(path):
        top = module.split(".")[0]
        assert top in sys.stdlib_module_names or top == "__future__", f"{path}: {module}"


def test_only_the_db_room_imports_sqlalchemy_at_all():
    """Not even lazily: code outside grocer/db reaches the database through grocer.db functions
    and catches grocer.db.errors.DatabaseError. No exception is needed today."""
    outside = [f"{path.relative_to(PACKAGE)}: {module}" for path in SOURCES
               if not path.is_relative_to(PACKAGE / "db")
               for module, _ in imports_of(path) if module.split(".")[0] == "sqlalchemy"]
    assert outside == [], outside


@pytest.mark.parametrize("path", sorted((PACKAGE / "db").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_db_room_never_imports_the_spiders(path):
    """Spiders call into grocer/db (through the settings-named directories), never the reverse."""
    spiders = [module for module, names in imports_of(path)
               if module.startswith("grocer.spiders")
               or (module == "grocer" and "spiders" in names)]
    assert spiders == [], f"{path}: {spiders}"


SETTING_NAMES = {name for name in dir(grocer.settings) if name.isupper()}
SETTINGS_GETTERS = {"get", "getint", "getfloat", "getbool", "getlist", "getdict"}


def setting_read(node) -> str | None:
    """NAME of `….get("NAME", …)`-style reads of one of grocer's settings."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in SETTINGS_GETTERS and node.args
            and isinstance(node.args[0], ast.Constant) and node.args[0].value in SETTING_NAMES):
        return node.args[0].value
    return None


@pytest.mark.parametrize("path", [p for p in SOURCES if p != PACKAGE / "settings.py"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_setting_default_is_repeated_where_it_is_read(path):
    """`settings.getfloat("X", 600)` and `settings.get("X") or "dir"` restate settings.py's
    default (and drift from it): the default lives in grocer/settings.py only."""
    repeated = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        name = setting_read(node)
        if name and (len(node.args) > 1 or node.keywords):
            repeated.append(f"line {node.lineno}: {name}")
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            name = setting_read(node.values[0])
            fallback = node.values[1]
            if name and not (isinstance(fallback, ast.Constant) and fallback.value is None):
                repeated.append(f"line {node.lineno}: {name} or …")
    assert repeated == [], f"{path}: {repeated}"


def test_few_modules_loose_at_the_top():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= 9, loose
