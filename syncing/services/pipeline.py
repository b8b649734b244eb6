"""Storing a feed's pages two at a time, each on a database connection of its own, committed in
page order.

Storing a page is mostly the database's work, and with one connection the database works on one
core while we wait. With two, page N+1 is looked up, decided and written while page N is. What
must not change: a page commits with its cursor, and only after the page before it has committed
(a crash resumes after the last committed page, losing nothing); and two pages never race on a
row. So a page says, before its lookups, which keys it will look up (`Turn.claim`), and after
them, which rows it will write (`Turn.touching`). A page whose lookups meet the rows the page
before writes waits for that page to commit first, and so reads what it wrote. Every page waits
for the page before to commit before it writes its cursor (`Turn.follow`).

SQLite has one writer: a second connection would only wait for the first, so there pages are
stored one at a time on the caller's connection. So they are inside a transaction (a test's, or a
caller's), which another connection could neither see nor wait for.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable

from django.db import connections, transaction

# Pages being stored at once: this machine's cores, one for each connection's database backend.
WIDTH = 2


class PageAbandoned(Exception):
    """The page before this one did not commit, so this one must not either."""


class Turn:
    """One page's place in line behind the page before it."""

    def __init__(self, before: Turn | None) -> None:
        self.before = before
        self.committed = False
        self.error: BaseException | None = None
        self._touched: dict[str, frozenset] | None = None
        self._known = threading.Event()
        self._finished = threading.Event()

    def claim(self, **keys: Iterable) -> None:
        """Before the page's lookups, by kind of key: wait for the page before to commit if it
        writes rows under any of these keys (or has not said which it writes)."""
        before = self.before
        if before is None:
            return
        before._known.wait()
        touched = before._touched
        if touched is None or any(
            not touched.get(kind, frozenset()).isdisjoint(values) for kind, values in keys.items()
        ):
            self.follow()

    def touching(self, **keys: Iterable) -> None:
        """After the page's lookups, by kind of key: the rows it will write, for the page after."""
        self._touched = {kind: frozenset(values) for kind, values in keys.items()}
        self._known.set()

    def follow(self) -> None:
        """Wait until the page before has committed; raise `PageAbandoned` if it will not."""
        before = self.before
        if before is None:
            return
        before._finished.wait()
        if not before.committed:
            raise PageAbandoned("The page before this one was not stored.")

    def finish(self, error: BaseException | None) -> None:
        self.committed = error is None
        self.error = error
        # Only the page after reads this turn from now on; the chain stops here.
        self.before = None
        self._known.set()
        self._finished.set()


def available() -> bool:
    """Whether pages can be stored side by side here: not inside a transaction, not on SQLite."""
    connection = transaction.get_connection()
    return connection.vendor != "sqlite" and not connection.in_atomic_block


class _Storer:
    """A thread with its own database connection, storing the pages handed to it."""

    def __init__(self) -> None:
        self.work: queue.Queue = queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (item := self.work.get()) is not None:
                store, turn = item
                del item  # the page is freed once stored, not when the next one arrives
                try:
                    store(turn)
                except BaseException as error:  # handed to the conductor, raised in its thread
                    turn.finish(error)
                else:
                    turn.finish(None)
                del store
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.work.put(None)
        self.thread.join()


class InPlace:
    """A `Line` one page wide on the caller's connection: each page is stored as it is handed over
    and retired at once (SQLite, or inside a transaction)."""

    def store(self, store: Callable[[Turn | None], None], label: object) -> list:
        store(None)
        return [label]

    def close(self) -> list:
        return []

    def __enter__(self) -> InPlace:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        return None


class Line:
    """Pages stored `WIDTH` at a time, retired in page order. `store` hands the next page over and
    returns the labels of the pages retired to make room for it; `close` retires the rest. A
    page's error is raised when it is retired, after every page before it has committed."""

    def __init__(self) -> None:
        self._storers = [_Storer() for _ in range(WIDTH)]
        self._pages: deque[tuple[Turn, object]] = deque()
        self._count = 0
        self._last: Turn | None = None
        self._failed = False

    def store(self, store: Callable[[Turn], None], label: object) -> list:
        retired = []
        if len(self._pages) == WIDTH:
            retired.append(self._retire())
        self._last = turn = Turn(self._last)
        self._pages.append((turn, label))
        self._storers[self._count % WIDTH].work.put((store, turn))
        self._count += 1
        return retired

    def close(self) -> list:
        return [self._retire() for _ in range(len(self._pages))]

    def _retire(self) -> object:
        turn, label = self._pages.popleft()
        turn._finished.wait()
        if turn.error is not None:
            self._failed = True
            raise turn.error
        return label

    def __enter__(self) -> Line:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        # Pages already handed over finish (commit, or abandon behind a page that failed) before
        # the run ends. The first page that failed, in page order, is the run's error: one raised
        # already, else one among these, all before the page whose fetch may have failed.
        first = None
        while self._pages:
            turn, _ = self._pages.popleft()
            turn._finished.wait()
            if first is None and turn.error is not None and not isinstance(turn.error, PageAbandoned):
                first = turn.error
        for storer in self._storers:
            storer.stop()
        self._last = None
        if first is not None and not self._failed:
            raise first
