"""``/tables/<name>.json``: the two translation tables exactly as they are on disk (DESIGN §4).

The bytes are read from ``TRANSLATION_TABLES_DIR`` — cached by (inode, size, mtime), so an
atomic replace by the generator is picked up at the next request — and never regenerated; no
database is opened for them. ETag = quoted MD5 of the bytes, ``304`` on a matching
``If-None-Match``, ``Content-Type: application/json``. Every request needs the header
``X-Grocer-Token`` equal to ``GROCER_TABLES_TOKEN`` (``401`` otherwise). Anything but the two
names, a missing file, or a table that is a symlink leading out of the directory is ``404``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from grocer.tables.files import TABLE_FILES

TOKEN_HEADER = "X-Grocer-Token"


class ServerConfigError(ValueError):
    """The tables cannot be served (no token, no directory)."""


class FileCache:
    """Bytes and ETag of a file, re-read only when its (inode, size, mtime) changes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[Path, tuple[tuple, bytes, str]] = {}

    def get(self, path: Path) -> tuple[bytes, str] | None:
        try:
            st = os.stat(path)
            signature = (st.st_ino, st.st_size, st.st_mtime_ns)
            with self._lock:
                entry = self._entries.get(path)
            if entry is not None and entry[0] == signature:
                return entry[1], entry[2]
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            with self._lock:
                self._entries.pop(path, None)
            return None
        etag = '"' + hashlib.md5(data).hexdigest() + '"'
        with self._lock:
            self._entries[path] = (signature, data, etag)
        return data, etag


class TablesSource:
    """Where the tables come from and the token that guards them."""

    def __init__(self, directory, token: str | None):
        if not token:
            raise ServerConfigError("GROCER_TABLES_TOKEN is not set: refusing to serve the "
                                    "translation tables without a token")
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ServerConfigError(f"TRANSLATION_TABLES_DIR {self.directory} is not a directory")
        self.token = token.encode("utf-8")
        self.cache = FileCache()

    def path_of(self, name: str) -> Path | None:
        """The file of a table name, None unless it is one of the two tables and (after every
        symlink) inside the directory."""
        if name not in TABLE_FILES:
            return None
        root = self.directory.resolve()
        path = (root / name).resolve()
        return path if path.parent == root else None


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(candidate.strip().removeprefix("W/") == etag for candidate in header.split(","))


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status,
                        headers={"Cache-Control": "no-cache"})


def serve_table(request: Request) -> Response:
    """The endpoint (sync: Starlette runs it in its threadpool, so disk reads never block)."""
    source: TablesSource | None = request.app.state.tables
    if source is None:
        return _error(404, "translation tables are not served here (GROCER_TABLES_TOKEN unset)")
    supplied = request.headers.get(TOKEN_HEADER, "").encode("utf-8", "replace")
    if not hmac.compare_digest(supplied, source.token):
        return _error(401, "missing or invalid token")
    path = source.path_of(request.path_params["name"])
    found = source.cache.get(path) if path is not None else None
    if path is None:
        return _error(404, "not found")
    if found is None:
        return _error(404, "table not generated yet (run scrapy tables generate)")
    data, etag = found
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if _etag_matches(request.headers.get("If-None-Match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="application/json", headers=headers)
