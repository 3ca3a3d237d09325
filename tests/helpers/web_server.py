"""grocer web under a real uvicorn in a thread on 127.0.0.1 and a free port (browser tests,
the tables server tests)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from grocer.web.server import address, bind, make_server


@contextmanager
def running_app(app):
    """Yields the base URL (http://127.0.0.1:PORT) while uvicorn serves `app`."""
    sock = bind("127.0.0.1", 0)
    server = make_server(app, log_level="warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield address(sock)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
