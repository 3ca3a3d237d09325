"""`scrapy tables serve`: a small read-only HTTP server for the two translation tables.

Serves ``/brand_translation_table.json`` and ``/product_translation_table.json`` exactly as they
are on disk in ``TRANSLATION_TABLES_DIR`` (DESIGN §4; spec §2.9 with its bug fixed): the bytes
are read from the file — cached by (inode, size, mtime), so an atomic replace by the generator
is picked up at the next request — and never regenerated; this module does not import the
database layer at all. ETag = quoted MD5 of the bytes, ``304`` on a matching ``If-None-Match``,
``Content-Type: application/json``. Every request needs the header ``X-Grocer-Token`` equal to
``GROCER_TABLES_TOKEN`` (``401`` otherwise). Anything but the two names (or a missing file) is
``404``; methods other than GET and HEAD get ``405``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Grocer-Token"
TABLE_FILES = ("brand_translation_table.json", "product_translation_table.json")


class ServerConfigError(ValueError):
    """The server cannot start (no token, no directory)."""


class _FileCache:
    """Bytes and ETag of a file, re-read only when its (inode, size, mtime) changes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[Path, tuple[tuple, bytes, str]] = {}

    def get(self, path: Path) -> tuple[bytes, str] | None:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            with self._lock:
                self._entries.pop(path, None)
            return None
        signature = (st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            entry = self._entries.get(path)
            if entry is not None and entry[0] == signature:
                return entry[1], entry[2]
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None
        etag = '"' + hashlib.md5(data).hexdigest() + '"'
        with self._lock:
            self._entries[path] = (signature, data, etag)
        return data, etag


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


class TablesRequestHandler(BaseHTTPRequestHandler):
    server_version = "grocer-tables/1"
    protocol_version = "HTTP/1.1"

    # set on the server: directory (Path), token (bytes), cache (_FileCache)
    server: TablesServer

    def do_GET(self):
        self._serve(body=True)

    def do_HEAD(self):
        self._serve(body=False)

    def _not_allowed(self):
        self._reply(HTTPStatus.METHOD_NOT_ALLOWED, b'{"error":"method not allowed"}',
                    extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def _serve(self, body: bool):
        supplied = self.headers.get(TOKEN_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(supplied, self.server.token):
            self._reply(HTTPStatus.UNAUTHORIZED, b'{"error":"missing or invalid token"}',
                        body=body)
            return
        name = urlsplit(self.path).path.lstrip("/")
        if name not in TABLE_FILES:
            self._reply(HTTPStatus.NOT_FOUND, b'{"error":"not found"}', body=body)
            return
        found = self.server.cache.get(self.server.directory / name)
        if found is None:
            self._reply(HTTPStatus.NOT_FOUND,
                        b'{"error":"table not generated yet (run scrapy tables generate)"}',
                        body=body)
            return
        data, etag = found
        if _etag_matches(self.headers.get("If-None-Match"), etag):
            self._reply(HTTPStatus.NOT_MODIFIED, b"", body=False, extra={"ETag": etag})
            return
        self._reply(HTTPStatus.OK, data, body=body, extra={"ETag": etag})

    def _reply(self, status, data: bytes, body: bool = True, extra: dict | None = None):
        self.send_response(status)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        for header, value in (extra or {}).items():
            self.send_header(header, value)
        self.end_headers()
        if body and data:
            self.wfile.write(data)

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        logger.info("%s %s", self.address_string(), format % args)


class TablesServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, directory: Path, token: str):
        self.directory = Path(directory)
        self.token = token.encode("utf-8")
        self.cache = _FileCache()
        super().__init__(address, TablesRequestHandler)


def make_server(directory, token: str | None, host: str = "127.0.0.1",
                port: int = 8765) -> TablesServer:
    """A bound (not yet serving) server; port 0 picks a free port (see server_address)."""
    if not token:
        raise ServerConfigError("GROCER_TABLES_TOKEN is not set: refusing to serve the "
                                "translation tables without a token")
    directory = Path(directory)
    if not directory.is_dir():
        raise ServerConfigError(f"TRANSLATION_TABLES_DIR {directory} is not a directory")
    return TablesServer((host, port), directory, token)
