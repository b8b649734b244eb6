"""Simulated trading days (bench/simulation.py) against the emulators over loopback HTTP: the real
services and schedule policy must post every sale exactly once and end in step with the
providers, with and without faults. The full month and its figures are `bench/month.py`."""

from datetime import timedelta

import pytest

from bench.simulation import Plan, TradingMonth

pytestmark = pytest.mark.django_db(transaction=True)

# Small enough for the suite: 2-hour polls (the longest the product allows) keep the runs per day
# few; the day still has product and stock changes, new customers and sales of every kind.
SMALL = {
    "days": 1,
    "products": 600,
    "customers": 100,
    "new_remote_customers": 6,
    "sales": 40,
    "new_product_share": 0.1,
    "poll_interval": timedelta(hours=2),
    "settle_hours": 5,
}
# Faults often enough that a day of 40 sales meets each kind several times.
FAULTY = {"chaos": True, "kills": 4, "server_error_rate": 0.08, "lost_write_rate": 0.05}


def run(**options) -> dict:
    return TradingMonth(Plan(**{**SMALL, **options})).run()


def assert_exactly_once_and_converged(report: dict) -> None:
    for provider, invoices in report["invoices"].items():
        assert invoices["duplicates_remote"] == 0, (provider, invoices["duplicated_references"])
        assert invoices["lost"] == 0, provider
        assert invoices["posted"] == invoices["sales"], provider
        assert invoices["waiting"] == 0, provider
    assert report["convergence"] == dict.fromkeys(report["convergence"], 0)
    assert report["unseen_changes"] == 0
    assert report["task_crashes"] == 0, report["crash_samples"]


def test_a_quiet_day_posts_every_sale_once_and_converges():
    report = run()

    assert_exactly_once_and_converged(report)
    assert report["freshness"]["webhook"]["max_s"] < 60


def test_a_day_of_faults_and_killed_workers_posts_every_sale_once_and_converges():
    report = run(**FAULTY, revoke_day=0)

    assert report["faults"]["worker_killed"] == 4
    assert report["faults"]["status"] > 0 and report["faults"]["lose_response"] > 0
    assert_exactly_once_and_converged(report)


def test_sales_made_while_a_connection_awaits_reconnection_are_posted_after_it():
    no_other_faults = {"server_error_rate": 0, "timeout_rate": 0, "lost_write_rate": 0, "burst_rate": 0}
    report = run(chaos=True, kills=0, days=2, revoke_day=1, **no_other_faults)

    assert report["events"]["reconnected"] == 1
    assert_exactly_once_and_converged(report)


def test_the_merchant_is_emailed_once_when_xero_stops_accepting_our_access():
    no_other_faults = {"server_error_rate": 0, "timeout_rate": 0, "lost_write_rate": 0, "burst_rate": 0}
    report = run(chaos=True, kills=0, days=2, revoke_day=1, **no_other_faults)

    # Nothing else fails in this run, so every email is about the revoked access: one in all, not
    # one more per sale that met the refusal.
    assert report["merchant_emails"] == [
        "Xero stopped accepting our access for Month Trading Co: please reconnect"
    ]
