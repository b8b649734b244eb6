"""Run the same work in several threads released at once, as racing workers would be."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection as db_connection


def race(work: Callable[[int], object], *, workers: int = 2) -> tuple[list, list[Exception]]:
    """Call `work(i)` for i in range(workers), all released together by a barrier; each thread
    closes its own database connection. Returns (results, errors) in finishing order."""
    start = threading.Barrier(workers)
    results, errors = [], []

    def run(i: int) -> None:
        start.wait()
        try:
            results.append(work(i))
        except Exception as exc:
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors
