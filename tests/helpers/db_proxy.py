"""A loopback TCP proxy in front of a database server that can freeze: a database that stops
answering without closing its connections (what a SIGSTOPped or wedged server looks like to a
client), simulated without touching the shared server.

Forwards both ways until frozen; `freeze_on` (bytes) freezes it when a client sends them (that
packet is held). Frozen, it keeps every connection open and forwards nothing, and new
connections are accepted but never answered. Loopback only; stops by itself on exit.
"""

from __future__ import annotations

import selectors
import socket
import threading


class FreezingProxy:
    def __init__(self, target: tuple[str, int], freeze_on: bytes | None = None):
        self.target = target
        self.freeze_on = freeze_on
        self.frozen = threading.Event()
        self.stopped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FreezingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(10)
        for sock in self.sockets:
            sock.close()

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ)
        while not self.stopped.is_set():
            for key, _ in selector.select(0.05):
                if key.fileobj is self.listener:
                    client, _ = self.listener.accept()
                    self.sockets.append(client)
                    if self.frozen.is_set():
                        continue  # accepted, never answered
                    upstream = socket.create_connection(self.target)
                    self.sockets.append(upstream)
                    selector.register(client, selectors.EVENT_READ, (upstream, True))
                    selector.register(upstream, selectors.EVENT_READ, (client, False))
                    continue
                if self.frozen.is_set():
                    continue  # read nothing: the client's writes and reads stall
                peer, from_client = key.data
                data = key.fileobj.recv(65536)
                if from_client and self.freeze_on and self.freeze_on in data:
                    self.frozen.set()
                    continue
                if not data:
                    selector.unregister(key.fileobj)
                    selector.unregister(peer)
                    key.fileobj.close()
                    peer.close()
                    continue
                peer.sendall(data)
            if self.frozen.is_set():
                self.stopped.wait(0.05)  # nothing to forward; don't spin on readable sockets
        selector.close()
