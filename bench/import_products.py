"""Initial import and incremental poll of a large catalogue, through the real sync services.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/synchub_bench \
        .venv/bin/python bench/import_products.py --products 100000 --providers xero,vend

Per provider: seed its emulator with N products and stock at 2 locations; run the floor (fetch and
decode every page through the connector, no database); run the initial import
(`pull_changed_products` then `pull_changed_stock`); change 1% of the products remotely and poll
again. Reports wall time, products per second, database queries per 1,000 products, peak Python
memory, the ratio to the floor, and the incremental poll's calls against the lower bound
ceil(changed / page size) per resource.

The emulator is served from a process of its own, over real HTTP on loopback: a real provider is
not in our process, so neither its time (sharing our GIL) nor its memory is counted as ours.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

from _setup import connect, django_on_scratch_database


def _serve_emulator(emulator: str, options: dict, products: int, requests) -> None:
    """The emulator's own process: seed, serve on loopback, then answer the benchmark's calls on
    the emulator (call counts, products, changes) as (method, args, kwargs) -> result."""
    from django.utils.module_loading import import_string

    from connectors.emulation import serve

    app = import_string(emulator)(**options)
    app.seed(products=products, customers=0, locations=2)
    server = serve(app)
    requests.send((server.url, app.issue_credentials()))
    while (asked := requests.recv()) is not None:
        method, args, kwargs = asked
        requests.send(getattr(app, method)(*args, **kwargs))
    server.stop()


class EmulatorProcess:
    """A seeded emulator served by another process; its methods are called over a pipe."""

    def __init__(self, emulator: str, *, options: dict, products: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve_emulator, args=(emulator, options, products, theirs), daemon=True
        )
        self._process.start()
        self.url, self.issued = self._pipe.recv()

    def __getattr__(self, method: str):
        def call(*args, **kwargs):
            self._pipe.send((method, args, kwargs))
            return self._pipe.recv()

        return call

    def stop(self) -> None:
        self._pipe.send(None)
        self._process.join()


def connected_emulator(tenant, key: str, *, products: int, registers: int) -> tuple[EmulatorProcess, object]:
    """Seed and serve `key`'s emulator in its own process and connect `tenant` to it with a budget
    that never binds. Returns (emulator, Connection)."""
    from connectors.registry import get_provider

    # Lightspeed's emulator sizes its rate limit by registers, as Lightspeed does.
    options = {"registers": registers} if key == "vend" else {}
    app = EmulatorProcess(get_provider(key).emulator, options=options, products=products)
    return app, connect(tenant, key, app.issued, base_url=app.url, registers=registers)


class QueryCounter:
    """Counts every query of the process, on the main thread's connection and on those the sync's
    page reader thread opens (budget and call log), from `start()` on."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def start(self) -> None:
        from django.db import connection
        from django.db.backends.signals import connection_created

        connection.execute_wrappers.append(self)
        connection_created.connect(self._watch, weak=False)

    def _watch(self, sender, connection, **kwargs) -> None:
        connection.execute_wrappers.append(self)

    def stop(self) -> None:
        from django.db import connection
        from django.db.backends.signals import connection_created

        connection.execute_wrappers.remove(self)
        connection_created.disconnect(self._watch)


def measure(fn, *, trace_memory: bool):
    """Run fn; tracing allocations slows Python down, so times are only taken without it. Returns
    (result, wall seconds, CPU seconds of this process, peak traced bytes): on a shared machine
    the CPU time, all threads of ours and none of the emulator's, moves less with the load."""
    if trace_memory:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = fn()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = tracemalloc.get_traced_memory()[1] if trace_memory else 0
    tracemalloc.stop()
    return result, elapsed, cpu, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--providers", default="xero,vend")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--registers", type=int, default=10, help="Lightspeed registers (rate limit)")
    parser.add_argument("--memory", action="store_true", help="report peak Python memory (slower: no times)")
    args = parser.parse_args()
    django_on_scratch_database()

    from django.db import connection as db

    from connectors.base import Priority
    from connectors.http import connector_for
    from connectors.registry import get_provider
    from syncing.models import SyncRun, Tenant
    from syncing.services.products import pull_changed_products
    from syncing.services.stock import pull_changed_stock

    def bench_provider(key: str) -> dict:
        spec = get_provider(key)
        tenant = Tenant.objects.create(
            name=f"Bench {key}", slug=f"bench-{key}-{time.time_ns()}", monthly_call_allowance=10**9
        )
        app, connection = connected_emulator(tenant, key, products=args.products, registers=args.registers)

        def floor():
            connector = connector_for(connection, priority=Priority.POLL)
            count = 0
            for pull in (connector.pull_products, connector.pull_stock):
                page = None
                while True:
                    result = pull(since=None, page=page)
                    count += len(result.records)
                    page = result.next_page
                    if page is None:
                        break
            return count

        _, floor_seconds, floor_cpu, floor_peak = measure(floor, trace_memory=args.memory)

        counter = QueryCounter()
        app.reset_calls()

        def initial_import():
            products = pull_changed_products(connection=connection, trigger=SyncRun.Trigger.MANUAL)
            stock = pull_changed_stock(connection=connection, trigger=SyncRun.Trigger.MANUAL)
            return products, stock

        db.ensure_connection()
        counter.start()

        (products_run, stock_run), seconds, cpu, peak = measure(initial_import, trace_memory=args.memory)
        import_calls = app.calls()
        counter.stop()
        assert products_run.status == SyncRun.Status.SUCCEEDED, products_run.error_summary
        connection.refresh_from_db()

        changed = max(1, args.products // 100)
        remote_ids = [p["remote_id"] for p in app.products()[:changed]]
        for remote_id in remote_ids:
            app.update_product(remote_id, price=Decimal("99.95"))
        app.reset_calls()
        poll_started = time.perf_counter()
        poll = pull_changed_products(connection=connection, trigger=SyncRun.Trigger.SCHEDULE)
        poll_seconds = time.perf_counter() - poll_started
        app.stop()
        lower_bound = max(1, math.ceil(changed / spec.page_size))
        return {
            "provider": key,
            "products": args.products,
            "stock_rows_fetched": stock_run.fetched,
            "import_seconds": round(seconds, 1),
            "products_per_second": round(args.products / seconds),
            "floor_seconds": round(floor_seconds, 1),
            "ratio_to_floor": round(seconds / floor_seconds, 2),
            "import_cpu_seconds": round(cpu, 1),
            "floor_cpu_seconds": round(floor_cpu, 1),
            "queries_per_1000_products": round(counter.count / (args.products / 1000), 1),
            "peak_python_mib": round(peak / 2**20, 1),
            "floor_peak_python_mib": round(floor_peak / 2**20, 1),
            "import_calls": import_calls,
            "poll_changed": changed,
            "poll_updated": poll.updated,
            "poll_calls": poll.api_calls,
            "poll_lower_bound": lower_bound,
            "poll_seconds": round(poll_seconds, 2),
        }

    rows = [bench_provider(key) for key in args.providers.split(",")]

    for row in rows:
        print(" ".join(f"{k}={v}" for k, v in row.items()))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
