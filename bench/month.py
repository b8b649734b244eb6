"""A simulated trading month: API calls by connection and job, freshness, invoices, convergence.

    .venv/bin/python bench/month.py [--days 30] [--products 10000] [--chaos] [--json month.json]

One merchant on Xero (accounting, a 5,000-calls-a-month plan) and Lightspeed (inventory), driven
through simulated days by the real services and the real schedule policy over loopback HTTP; how
the clock, the worker and the faults are simulated is in `bench/simulation.py`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _setup import django_on_scratch_database

JOBS = ("pulls", "webhooks", "sweep", "posting", "linking")
SIGN_IN = "sign-in"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--sales", type=int, default=300, help="local sales a day")
    parser.add_argument("--chaos", action="store_true")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    django_on_scratch_database()
    from django.conf import settings

    # Django keeps every SQL statement in memory under DEBUG: a month runs millions.
    settings.DEBUG = False
    # The merchant's emails are counted, not printed.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    from bench.simulation import Plan, TradingMonth

    plan = Plan(
        days=args.days,
        products=args.products,
        customers=args.customers,
        sales=args.sales,
        chaos=args.chaos,
        seed=args.seed,
    )
    started = time.monotonic()

    def progress(day: int, month: TradingMonth) -> None:
        print(f"day {day} done after {time.monotonic() - started:.0f} s", flush=True)
        if args.json and day % 5 == 0:
            # A long run leaves its figures so far, should it be stopped before the end.
            partial = {**month.report(), "partial_after_day": day}
            args.json.with_suffix(".partial.json").write_text(json.dumps(partial, indent=2, default=str))

    report = TradingMonth(plan).run(progress=progress)
    report["wall_seconds"] = round(time.monotonic() - started)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))


def table(header: list[str], rows: list[list]) -> None:
    print("\n| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def print_report(report: dict) -> None:
    plan = report["plan"]
    print(
        f"\n{plan['days']} simulated days{' with chaos' if plan['chaos'] else ''}, "
        f"{report['wall_seconds']} s wall; imported {report['imported']}"
    )
    table(
        ["connection", *JOBS, "month", "per day (mean / max)", "lower bound", "ratio", "import", SIGN_IN],
        [
            [
                key,
                *(calls["month"].get(job, 0) for job in JOBS),
                calls["month_total"],
                f"{calls['per_day_mean']} / {calls['per_day_max']}",
                report["lower_bound"][key],
                report["ratio_to_lower_bound"][key],
                calls["import_day_0"],
                calls["month"].get(SIGN_IN, 0),
            ]
            for key, calls in report["calls"].items()
        ],
    )
    seed = report["seed_reference"]
    print(
        f"\nseed reference: nightly re-read {seed['nightly_full_reread_per_day']} calls/day, ours "
        f"{seed['ours_per_day']}/day (ratio {seed['ratio_to_nightly_reread']}); seed month figure "
        f"{seed['seed_month_figure']}, ours {seed['ours_month']} (ratio {seed['ratio_to_seed_month']})"
    )
    table(
        ["freshness", "changes", "median s", "p95 s", "max s"],
        [[route, *spread.values()] for route, spread in report["freshness"].items()],
    )
    print(f"targets: {report['freshness_targets_s']}; changes never seen: {report['unseen_changes']}")
    table(
        ["poll interval s", "configured", "longest effective"],
        [[key, *interval.values()] for key, interval in report["poll_intervals_s"].items()],
    )
    table(
        [
            "invoices",
            "sales",
            "posted",
            "duplicates remote",
            "lost",
            "waiting",
            "median sale->posted s",
            "max s",
        ],
        [
            [key, *(value for name, value in invoices.items() if name != "duplicated_references")]
            for key, invoices in report["invoices"].items()
        ],
    )
    for key, invoices in report["invoices"].items():
        if invoices["duplicated_references"]:
            print(f"{key} duplicated references: {invoices['duplicated_references']}")
    print(f"\nconvergence differences: {report['convergence']}")
    print(f"faults injected: {report['faults']}")
    print(f"merchant emails: {len(report['merchant_emails'])} {sorted(set(report['merchant_emails']))[:5]}")
    print(f"task crashes: {report['task_crashes']}")
    for sample in report["crash_samples"]:
        print(sample)


if __name__ == "__main__":
    main()
