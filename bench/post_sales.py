"""Posting sales through the outbox: calls spent and sales per second, and no duplicates.

    .venv/bin/python bench/post_sales.py --sales 10000 [--providers xero,sage] [--fault-rate 0.1]

Per provider: seed its emulator with a small catalogue, import and link it, record N cash sales
of two lines each through `record_sale` (one outbox entry each), then run
`post_due_outbox_entries` in rounds until every entry is posted. Reports the calls the emulator
received (all of them, and the invoice writes alone) against the lower bound ceil(N / batch size),
the posting rate, and the duplicates found in the emulator's store by reference (must be 0).

The provider's per-minute limits are lifted in the emulator, and our own budget windows are
cleared between rounds as a passing minute clears them, so the figure is our own throughput; the
limits' own ceiling is reported beside it. `--fault-rate` makes that share of requests fail at
random (5xx before the write, a lost or garbled answer after it), seeded.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from _setup import connected_emulator, django_on_scratch_database

CATALOGUE = 20
# Per round: Xero's 60 calls a minute carry 50 batches; Sage's 200 carry 150 single posts and
# the few reads its connector makes once.
ROUND_SIZE = {"xero": 2_500, "sage": 150}


def random_faults(rate: float, seed: int):
    from connectors.emulation.app import Fault

    rng = random.Random(seed)

    def source(request):
        if rng.random() >= rate:
            return None
        return Fault(rng.choice(["status", "lose_response", "malform"]), status=rng.choice([500, 502, 503]))

    return source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=10_000)
    parser.add_argument("--providers", default="xero,sage")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument(
        "--round-size",
        type=int,
        help="entries per posting round (default: what one minute's budget carries); with faults use "
        "about 40 for Xero, so that a round's lookups by reference also fit in that minute",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    django_on_scratch_database()

    from django.utils import timezone

    from connectors.base import Window
    from connectors.registry import get_provider
    from invoices.models import OutboxEntry
    from invoices.services.outbox import NewSaleLine, record_sale
    from invoices.services.posting import post_due_outbox_entries
    from syncing.models import BudgetWindow, Product, SyncRun, Tenant
    from syncing.services.products import pull_changed_products

    def bench_provider(key: str) -> dict:
        spec = get_provider(key)
        tenant = Tenant.objects.create(name=f"Post {key}", slug=f"post-{key}", monthly_call_allowance=10**9)
        app, server, connection = connected_emulator(tenant, key, products=CATALOGUE)
        # Our own budget still counts every call; the emulator's limit would only repeat it.
        if key == "xero":
            app.minute_limit = app.day_limit = 10**9
        else:
            app.rate_limit = 10**9
        imported = pull_changed_products(connection=connection, trigger=SyncRun.Trigger.MANUAL)
        assert imported.status == SyncRun.Status.SUCCEEDED, imported.error_summary
        connection.cash_sale_contact_id = app.add_customer(name="Counter sales")
        connection.sales_account_code = {"xero": "200", "sage": "4000"}[key]
        connection.save()
        products = list(Product.objects.filter(tenant=tenant).order_by("sku"))

        started = time.perf_counter()
        for n in range(args.sales):
            lines = [
                NewSaleLine(
                    product=products[(n + i) % len(products)],
                    quantity=Decimal(1 + i),
                    unit_price=Decimal("9.50"),
                )
                for i in range(2)
            ]
            record_sale(tenant=tenant, number=f"S-{n:06d}", lines=lines)
        recording = time.perf_counter() - started

        app.reset_calls()
        if args.fault_rate:
            app.fault_source = random_faults(args.fault_rate, args.seed)
        round_size = args.round_size or ROUND_SIZE[key]
        rounds = 0
        started = time.perf_counter()
        while (
            OutboxEntry.objects.filter(connection=connection).exclude(state=OutboxEntry.State.POSTED).exists()
        ):
            rounds += 1
            assert rounds <= 10 * math.ceil(args.sales / round_size), "posting does not converge"
            BudgetWindow.objects.filter(connection=connection).delete()
            # Retries wait for their backoff: each round runs an hour later on the outbox's clock.
            post_due_outbox_entries(
                connection=connection,
                now=timezone.now() + timedelta(hours=rounds - 1),
                limit=round_size,
            )
        posting = time.perf_counter() - started
        server.stop()

        method, path = {"xero": ("PUT", "/Invoices"), "sage": ("POST", "/sales_invoices")}[key]
        references = Counter(invoice["reference"] for invoice in app.invoices())
        minute_limit = next(limit.calls for limit in spec.limits if limit.window == Window.MINUTE)
        bound = math.ceil(args.sales / spec.invoice_batch_size)
        return {
            "provider": key,
            "sales": args.sales,
            "fault_rate": args.fault_rate,
            "calls": app.calls(),
            "invoice_calls": app.calls(method, path),
            "lower_bound": bound,
            "round_size": round_size,
            "rounds": rounds,
            "record_s": round(recording, 1),
            "post_s": round(posting, 1),
            "sales_per_s": round(args.sales / posting),
            "limit_bound_s": round(app.calls() / minute_limit * 60),
            "remote_invoices": sum(references.values()),
            "duplicates": sum(count - 1 for count in references.values()),
            "faults": sum(app.faults_injected.values()),
        }

    rows = [bench_provider(key) for key in args.providers.split(",")]
    for row in rows:
        print(" ".join(f"{k}={v}" for k, v in row.items()))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    assert all(row["duplicates"] == 0 and row["remote_invoices"] == args.sales for row in rows), rows


if __name__ == "__main__":
    main()
