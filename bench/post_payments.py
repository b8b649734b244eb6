"""Paid sales through the outbox: calls spent on invoices and payments, detailed and daily summary.

    .venv/bin/python bench/post_payments.py --sales 2000 [--days 10] [--providers xero,sage]

Per provider and posting mode: record N paid cash sales (card and cash alternately, spread over
`--days` business days), then run `post_due_outbox_entries` in rounds until nothing is left.
Detailed mode posts one invoice and one payment per sale, so its lower bound is
2 x ceil(N / batch size) writes; daily-summary mode posts one invoice per day and one payment per
day and method, whatever N is. Reports the writes the emulator received per kind and the remote
invoices and payments it holds (each sale's money must be there once: the payments' total is the
sales' total). Emulator limits are lifted and our budget windows cleared between rounds.
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from _setup import connected_emulator, django_on_scratch_database

WRITES = {
    "xero": {"invoices": ("PUT", "/Invoices"), "payments": ("PUT", "/Payments")},
    "sage": {"invoices": ("POST", "/sales_invoices"), "payments": ("POST", "/contact_payments")},
}
# Per round, what one minute of the provider's limit carries (documents and then their payments):
# Xero's 60 calls take 50 batches; Sage's 200 take 90 invoices and their 90 payments, one each.
ROUND_SIZE = {"xero": 2_000, "sage": 90}
ACCOUNTS = {
    "xero": ("200", {"card": "090", "cash": "091"}),
    "sage": ("4000", {"card": "1200", "cash": "1210"}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--providers", default="xero,sage")
    args = parser.parse_args()
    django_on_scratch_database()

    from django.utils import timezone

    from connectors.registry import get_provider
    from invoices.models import OutboxEntry
    from invoices.services.outbox import NewSaleLine, record_sale
    from invoices.services.posting import post_due_outbox_entries
    from syncing.models import BudgetWindow, Connection, Product, SyncRun, Tenant
    from syncing.services.products import pull_changed_products

    def bench(key: str, mode: str) -> dict:
        spec = get_provider(key)
        tenant = Tenant.objects.create(
            name=f"{key} {mode}", slug=f"{key}-{mode}", monthly_call_allowance=10**9
        )
        app, server, connection = connected_emulator(tenant, key, products=10)
        if key == "xero":
            app.minute_limit = app.day_limit = 10**9
        else:
            app.rate_limit = 10**9
        pull_changed_products(connection=connection, trigger=SyncRun.Trigger.MANUAL)
        connection.cash_sale_contact_id = app.add_customer(name="Counter sales")
        connection.sales_account_code, connection.payment_accounts = ACCOUNTS[key]
        connection.posting_mode = mode
        connection.save()
        products = list(Product.objects.filter(tenant=tenant).order_by("sku"))
        first_day = datetime(2026, 11, 1, 12, tzinfo=UTC)
        started = time.perf_counter()
        for n in range(args.sales):
            line = NewSaleLine(
                product=products[n % len(products)], quantity=Decimal(1), unit_price=Decimal("9.50")
            )
            record_sale(
                tenant=tenant,
                number=f"S-{n:06d}",
                lines=[line],
                sold_at=first_day + timedelta(days=n % args.days),
                payment_method=("card", "cash")[(n // args.days) % 2],
                paid=True,
            )
        recording = time.perf_counter() - started
        app.reset_calls()
        rounds, started = 0, time.perf_counter()
        while (
            OutboxEntry.objects.filter(connection=connection).exclude(state=OutboxEntry.State.POSTED).exists()
        ):
            rounds += 1
            assert rounds <= 4 * math.ceil(args.sales / 100) + 10, "posting does not converge"
            BudgetWindow.objects.filter(connection=connection).delete()
            post_due_outbox_entries(
                connection=connection, now=timezone.now() + timedelta(days=60), limit=ROUND_SIZE[key]
            )
        posting = time.perf_counter() - started
        server.stop()
        paid = sum(p["amount"] for p in app.payments())
        documents = args.days if mode == Connection.PostingMode.DAILY_SUMMARY else args.sales
        return {
            "provider": key,
            "mode": mode,
            "sales": args.sales,
            "invoice_writes": app.calls(*WRITES[key]["invoices"]),
            "payment_writes": app.calls(*WRITES[key]["payments"]),
            "calls": app.calls(),
            "lower_bound": math.ceil(documents / spec.invoice_batch_size)
            + math.ceil((documents if mode == "detailed" else 2 * args.days) / spec.invoice_batch_size),
            "remote_invoices": len(app.invoices()),
            "remote_payments": len(app.payments()),
            "money_once": paid == Decimal("9.50") * args.sales,
            "rounds": rounds,
            "record_s": round(recording, 1),
            "post_s": round(posting, 1),
            "sales_per_s": round(args.sales / posting),
        }

    rows = [bench(key, mode) for key in args.providers.split(",") for mode in ("detailed", "daily_summary")]
    for row in rows:
        print(" ".join(f"{k}={v}" for k, v in row.items()))
    assert all(row["money_once"] for row in rows), rows


if __name__ == "__main__":
    main()
