"""Running the web application under uvicorn: `scrapy web`, `scrapy tables serve`, tests."""

from __future__ import annotations

import socket

import uvicorn

# Idle keep-alive connections are closed after this many seconds, so a client cannot hold a
# connection open forever; uvicorn also bounds concurrent connections and graceful shutdown.
KEEP_ALIVE_TIMEOUT = 5
MAX_CONNECTIONS = 200
SHUTDOWN_TIMEOUT = 5


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one); OSError when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def make_server(app, log_level: str = "info") -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(
        app, timeout_keep_alive=KEEP_ALIVE_TIMEOUT, limit_concurrency=MAX_CONNECTIONS,
        timeout_graceful_shutdown=SHUTDOWN_TIMEOUT, log_level=log_level, access_log=False,
        lifespan="off"))


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"
