"""How many calls, and how long, to read a catalogue from each provider's emulator.

    .venv/bin/python bench/read_products.py --products 10000 [--providers xero,sage,vend,unleashed]

For each provider: seed its emulator, connect, read every product through the real connector and
HTTP session (budget, call log and all), and report calls, wall time, products per second, and
the share of the time spent outside the wait for HTTP responses (our own code: mapping, budget,
logging). The emulator runs in this process, so its own work counts as network wait.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _setup import connected_emulator, django_on_scratch_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--providers", default="xero,sage,vend,unleashed")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    django_on_scratch_database()

    import requests

    from connectors.base import Priority
    from connectors.http import connector_for
    from connectors.registry import get_provider
    from syncing.models import Tenant

    waited = 0.0
    real_send = requests.Session.send

    def timed_send(self, *a, **kw):
        nonlocal waited
        started = time.perf_counter()
        try:
            return real_send(self, *a, **kw)
        finally:
            waited += time.perf_counter() - started

    requests.Session.send = timed_send
    tenant, _ = Tenant.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "monthly_call_allowance": 10_000_000}
    )
    rows = []
    for key in args.providers.split(","):
        spec = get_provider(key)
        app, server, connection = connected_emulator(tenant, key, products=args.products)
        connector = connector_for(connection, priority=Priority.POLL)
        waited = 0.0
        app.reset_calls()
        started = time.perf_counter()
        count, page = 0, None
        while True:
            result = connector.pull_products(since=None, page=page)
            count += len(result.records)
            page = result.next_page
            if page is None:
                break
        elapsed = time.perf_counter() - started
        server.stop()
        rows.append(
            {
                "provider": key,
                "products": count,
                "calls": app.calls(),
                "page_size": spec.page_size,
                "seconds": round(elapsed, 2),
                "products_per_second": round(count / elapsed),
                "share_outside_network_wait": round(1 - waited / elapsed, 3),
            }
        )

    header = f"{'provider':<10} {'products':>8} {'calls':>6} {'seconds':>8} {'per s':>7} {'ours':>6}"
    print(header)
    for row in rows:
        print(
            f"{row['provider']:<10} {row['products']:>8} {row['calls']:>6} {row['seconds']:>8} "
            f"{row['products_per_second']:>7} {row['share_outside_network_wait']:>6.1%}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
