"""What the ghost sweep costs over a month, and whether it confirms every link in that month.

    .venv/bin/python bench/sweep_month.py --products 10000 [--providers xero,sage,vend,unleashed]

Per provider: import the catalogue, then run a sample of sweeps of the connection's default size
back to back, counting calls and the links they confirmed that no earlier sweep had (a sweep that
walks the catalogue a page per run, as Sage's does, confirms a whole page).
From those: sweeps (and days, at the default interval) needed to re-confirm every link, and the
month's cost, the measured calls per sweep times the sweeps a month holds.
"""

from __future__ import annotations

import argparse
import json
import math
from datetime import timedelta
from pathlib import Path

from _setup import connected_emulator, django_on_scratch_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--providers", default="xero,sage,vend,unleashed")
    parser.add_argument("--sample-sweeps", type=int, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    django_on_scratch_database()

    from syncing.models import ProductLink, SyncRun, Tenant
    from syncing.services.products import pull_changed_products, sweep_stale_products

    def bench_provider(key: str) -> dict:
        tenant = Tenant.objects.create(name=f"Sweep {key}", slug=f"sweep-{key}", monthly_call_allowance=10**9)
        app, server, connection = connected_emulator(tenant, key, products=args.products, registers=50)
        if key == "sage":
            app.rate_limit = 10**6
        imported = pull_changed_products(connection=connection, trigger=SyncRun.Trigger.MANUAL)
        assert imported.status == SyncRun.Status.SUCCEEDED, imported.error_summary
        started = (
            ProductLink.objects.filter(connection=connection).latest("last_confirmed_at").last_confirmed_at
        )
        links = ProductLink.objects.filter(connection=connection).count()
        app.reset_calls()
        for _ in range(args.sample_sweeps):
            run = sweep_stale_products(connection=connection, trigger=SyncRun.Trigger.MANUAL)
            assert run.status == SyncRun.Status.SUCCEEDED, run.error_summary
        calls = app.calls()
        server.stop()
        confirmed = ProductLink.objects.filter(connection=connection, last_confirmed_at__gt=started).count()
        # Each sweep confirms at least its size; one that walks whole pages (Sage) confirms a page.
        assert confirmed >= min(links, args.sample_sweeps * connection.sweep_size), confirmed
        sweeps = math.ceil(links / (confirmed / args.sample_sweeps))
        per_day = timedelta(days=1) / connection.sweep_interval
        calls_per_sweep = calls / args.sample_sweeps
        return {
            "provider": key,
            "links": links,
            "sweep_size": connection.sweep_size,
            "confirmed_per_sweep": round(confirmed / args.sample_sweeps),
            "sweeps_to_confirm_all": sweeps,
            "days_to_confirm_all": round(sweeps / per_day, 1),
            "calls_per_sweep": round(calls_per_sweep, 2),
            "calls_per_month": math.ceil(calls_per_sweep * per_day * 30),
        }

    rows = [bench_provider(key) for key in args.providers.split(",")]
    for row in rows:
        print(" ".join(f"{k}={v}" for k, v in row.items()))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
