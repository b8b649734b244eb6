"""Server time of the merchant dashboard's pages on a big shop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/synchub_dashbench \
        .venv/bin/python bench/dashboard_pages.py --products 100000 --api-calls 1000000

One tenant with one Xero connection: `--products` products, each linked, `--api-calls` API-call
rows over 30 days (with their hourly usage counters), plus sync runs, customers, sales and outbox
entries in proportion. Rows are written with INSERT ... SELECT generate_series on PostgreSQL (one
statement per table). Each page is then fetched through Django's test client, signed in as the
merchant, `--repeats` times after two warm-up fetches; the times are the server's own (request
in, response rendered), no network. Use a scratch database: the tables are filled, not cleaned.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import django_on_scratch_database

# Generated rows are SQL over `g`, the generate_series number; `%(name)s` is a parameter.
NOW = "now()"


def sql_default(field) -> str | None:
    """A SQL expression for a NOT NULL column the benchmark does not set: the field's default."""
    from django.db.models import NOT_PROVIDED

    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return NOW
    default = field.default
    if default is NOT_PROVIDED:
        # Django stores "" for a text field left blank.
        return "''" if field.empty_strings_allowed else None
    if callable(default):
        name = getattr(default, "__name__", "")
        if name == "uuid4":
            return "gen_random_uuid()"
        if name == "now":
            return NOW
        if name == "token_urlsafe":
            return "md5(random()::text || g::text)"
        default = default()
    if isinstance(default, (dict, list)):
        return "'[]'::jsonb" if isinstance(default, list) else "'{}'::jsonb"
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, (int, float)):
        return str(default)
    if hasattr(default, "total_seconds"):
        return f"interval '{int(default.total_seconds())} seconds'"
    return "'" + str(default).replace("'", "''") + "'"


def fill(model, count: int, values: dict[str, str], params: dict | None = None) -> float:
    """INSERT `count` rows of `model` in one statement; `values` maps column -> SQL over `g`."""
    from django.db import connection

    columns, expressions = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        column = field.column
        if column in values:
            expression = values[column]
        elif field.null:
            continue
        else:
            expression = sql_default(field)
            if expression is None:
                raise SystemExit(f"{model.__name__}.{field.name} needs a value in the benchmark.")
        columns.append(f'"{column}"')
        expressions.append(expression)
    sql = (
        f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) '
        f"SELECT {', '.join(expressions)} FROM generate_series(1, %(count)s) AS g"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, {"count": count, **(params or {})})
    return time.perf_counter() - started


def build_shop(products: int, api_calls: int):
    from django.contrib.auth import get_user_model
    from django.db import connection as db

    from invoices.models import OutboxEntry, Sale
    from syncing.models import (
        ApiCall,
        ApiUsage,
        Connection,
        Customer,
        CustomerLink,
        Membership,
        Product,
        ProductLink,
        SyncRun,
        Tenant,
    )

    slug = f"bench-{uuid.uuid4().hex[:8]}"
    tenant = Tenant.objects.create(name="Bench Shop", slug=slug)
    user = get_user_model().objects.create_user(slug, password="x")
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.OWNER)
    connection = Connection.objects.create(
        tenant=tenant, provider="xero", status=Connection.Status.ACTIVE, remote_org_name="Bench Org"
    )
    t, c = {"t": tenant.pk}, {"c": connection.pk}
    customers = max(products // 10, 1)
    sales = max(products // 5, 1)
    runs = max(products // 10, 1)
    timings = {
        "products": fill(
            Product,
            products,
            {"tenant_id": "%(t)s", "sku": "'SKU-' || lpad(g::text, 7, '0')", "name": "'Product ' || g"},
            t,
        ),
        "product links": fill(
            ProductLink,
            products,
            {
                "connection_id": "%(c)s",
                "product_id": "%(first)s + g - 1",
                "remote_id": "'R-' || g",
                "remote_code": "'SKU-' || lpad(g::text, 7, '0')",
                "method": "'imported'",
                "remote_deleted": "mod(g, 100) = 0",
            },
            c | {"first": Product.objects.filter(tenant=tenant).order_by("pk").values_list("pk")[0][0]},
        ),
        "api calls": fill(
            ApiCall,
            api_calls,
            {
                "connection_id": "%(c)s",
                "at": "now() - (mod(g, 2592000)) * interval '1 second'",
                "method": "'GET'",
                "path": "'/api.xro/2.0/Items'",
                "status": "CASE WHEN mod(g, 50) = 0 THEN 429 ELSE 200 END",
                "duration_ms": "mod(g, 400)",
            },
            c,
        ),
        "api usage": fill(
            ApiUsage,
            30 * 24,
            {
                "connection_id": "%(c)s",
                "hour": "date_trunc('hour', now()) - g * interval '1 hour'",
                "calls": str(api_calls // (30 * 24)),
            },
            c,
        ),
        "sync runs": fill(
            SyncRun,
            runs,
            {
                "connection_id": "%(c)s",
                "kind": "(ARRAY['products','stock','customers','sweep'])[1 + mod(g, 4)]",
                "trigger": "'schedule'",
                "status": "CASE WHEN mod(g, 20) = 0 THEN 'failed' ELSE 'succeeded' END",
                "started_at": "now() - g * interval '5 minutes'",
                "finished_at": "now() - g * interval '5 minutes' + interval '20 seconds'",
                "api_calls": "mod(g, 7)",
            },
            c,
        ),
        "customers": fill(
            Customer,
            customers,
            {"tenant_id": "%(t)s", "name": "'Customer ' || g", "email": "'c' || g || '@example.com'"},
            t,
        ),
        "customer links": fill(
            CustomerLink,
            customers // 2,
            {
                "connection_id": "%(c)s",
                "customer_id": "%(first)s + g * 2 - 1",
                "remote_id": "'C-' || g",
                "method": "'matched_email'",
            },
            c | {"first": Customer.objects.filter(tenant=tenant).order_by("pk").values_list("pk")[0][0]},
        ),
        "sales": fill(
            Sale,
            sales,
            {
                "tenant_id": "%(t)s",
                "number": "'S-' || g",
                "sold_at": "now() - g * interval '1 minute'",
            },
            t,
        ),
    }
    first_sale = Sale.objects.filter(tenant=tenant).order_by("pk").values_list("pk")[0][0]
    timings["outbox entries"] = fill(
        OutboxEntry,
        sales,
        {
            "sale_id": "%(first)s + g - 1",
            "connection_id": "%(c)s",
            "remote_id": "CASE WHEN mod(g, 10) = 0 THEN '' ELSE 'INV-' || g END",
            "posted_at": "CASE WHEN mod(g, 10) = 0 THEN NULL ELSE now() END",
            "state": "CASE WHEN mod(g, 100) = 0 THEN 'needs_attention' WHEN mod(g, 10) = 0 THEN 'pending' "
            "ELSE 'posted' END",
            "provider_messages": "CASE WHEN mod(g, 100) = 0 THEN "
            "'[\"Account code ''999'' is not a valid code for this document.\"]'::jsonb "
            "ELSE '[]'::jsonb END",
        },
        c | {"first": first_sale},
    )
    with db.cursor() as cursor:
        cursor.execute("ANALYZE")
    return user, timings


def measure(client, url: str, repeats: int) -> dict:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(repeats):
        reset_queries()
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(times), "p95": p95, "queries": len(captured)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--api-calls", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    django_on_scratch_database()
    from django.db import connection as db
    from django.test import Client
    from django.urls import reverse

    if db.vendor != "postgresql":
        raise SystemExit("Run this against PostgreSQL: set DATABASE_URL=postgres://...")
    user, timings = build_shop(args.products, args.api_calls)
    for table, seconds in timings.items():
        print(f"filled {table}: {seconds:.1f} s")

    client = Client()
    client.force_login(user)
    last = (args.products + 49) // 50
    pages = {
        "overview": reverse("syncing:overview"),
        "products": reverse("syncing:products"),
        f"products page {last}": f"{reverse('syncing:products')}?page={last}",
        "products search": f"{reverse('syncing:products')}?q=SKU-00999",
        "outbox": reverse("syncing:outbox"),
        "outbox needing attention": f"{reverse('syncing:outbox')}?state=needs_attention",
        "customers": reverse("syncing:customers"),
        "customers unlinked": f"{reverse('syncing:customers')}?linked=no",
        "history": reverse("syncing:history"),
    }
    print(
        f"\n{args.products:,} products and links, {args.api_calls:,} API calls, {args.repeats} fetches each\n"
    )
    print("| page | median ms | p95 ms | queries |")
    print("| --- | --- | --- | --- |")
    for name, url in pages.items():
        result = measure(client, url, args.repeats)
        print(f"| {name} | {result['median']:.1f} | {result['p95']:.1f} | {result['queries']} |")


if __name__ == "__main__":
    main()
