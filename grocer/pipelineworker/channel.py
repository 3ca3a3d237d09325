"""Messages between the crawl and its pipeline worker: pickled, over two one-way pipes, each
end read by a thread and written by a thread, so neither event loop ever blocks on the other
process (a pipe holds 64 KiB; a batch of items is more)."""

from __future__ import annotations

import pickle
import queue
import threading
from collections.abc import Callable

EOF_MESSAGE = ("eof",)  # what the reader delivers once the other process is gone


class Channel:
    def __init__(self, inbox, outbox, deliver: Callable[[tuple], None], name: str):
        """`inbox`/`outbox`: the receiving and sending multiprocessing connections;
        `deliver(message)` is called in the reader thread for every message, then once with
        EOF_MESSAGE."""
        self.inbox, self.outbox, self.deliver = inbox, outbox, deliver
        self.sending: queue.SimpleQueue = queue.SimpleQueue()
        self.reader = threading.Thread(target=self._read, name=f"{name}-reader", daemon=True)
        self.sender = threading.Thread(target=self._send, name=f"{name}-sender", daemon=True)
        self.reader.start()
        self.sender.start()

    def send(self, message: tuple) -> None:
        """Pickled here (an unpicklable message raises to the caller), written by the sender
        thread."""
        self.sending.put(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def close(self) -> None:
        """Write what was sent, then close the sending end (the other side reads EOF)."""
        self.sending.put(None)
        self.sender.join()

    def _send(self) -> None:
        while (data := self.sending.get()) is not None:
            try:
                self.outbox.send_bytes(data)
            except OSError:  # the other process is gone: its reader reports it
                break
        self.outbox.close()

    def _read(self) -> None:
        while True:
            try:
                data = self.inbox.recv_bytes()
            except (EOFError, OSError):
                break
            self.deliver(pickle.loads(data))
        self.deliver(EOF_MESSAGE)
