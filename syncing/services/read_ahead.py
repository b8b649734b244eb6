"""Reading a feed's next page while the current one is being stored.

Fetching a page (HTTP, decoding, mapping) and storing one (the database) take turns in a plain page
loop; one background reader that fetches page N+1 while page N is stored lets them overlap. At
most one page waits in the hand-over queue and one is being read, so memory stays that of a few
pages whatever the catalogue. The reader calls the same fetch function with the same arguments
the loop would, in the same order, so calls, cursors and errors are the loop's own: an error is
handed over in place of its page and raised when the loop asks for that page.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connections, transaction

from connectors.base import Page

# How often a reader whose page nobody has taken yet checks whether the run has stopped.
HAND_OVER_POLL_SECONDS = 0.5


@contextmanager
def read_ahead(fetch: Callable[..., Page]) -> Iterator[Callable[..., Page]]:
    """`fetch`, reading one page ahead in a thread. Inside a transaction (a test's, or a caller's)
    the reader's own database connection could neither see nor wait for it, so `fetch` is used
    as it is."""
    if transaction.get_connection().in_atomic_block:
        yield fetch
        return
    reader = _Reader(fetch)
    try:
        yield reader
    finally:
        reader.stop()


class _Reader:
    def __init__(self, fetch: Callable[..., Page]) -> None:
        self.fetch = fetch
        self.pages: queue.Queue = queue.Queue(maxsize=1)
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def __call__(self, *, since: str | None, page: str | None) -> Page:
        if self.thread is None:
            self.thread = threading.Thread(target=self._read, args=(since, page), daemon=True)
            self.thread.start()
        asked, outcome = self.pages.get()
        if asked != (since, page):
            raise RuntimeError(f"The feed asked for page {page!r} out of order.")
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _read(self, since: str | None, token: str | None) -> None:
        try:
            while True:
                try:
                    outcome = self.fetch(since=since, page=token)
                except Exception as error:  # handed over, raised in the loop's own thread
                    outcome = error
                if not self._hand_over(((since, token), outcome)):
                    return
                if isinstance(outcome, Exception) or outcome.next_page is None:
                    return
                token = outcome.next_page
        finally:
            # The budget and the call log wrote through this thread's own database connection.
            connections.close_all()

    def _hand_over(self, item) -> bool:
        while not self.stopping.is_set():
            try:
                self.pages.put(item, timeout=HAND_OVER_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join()
