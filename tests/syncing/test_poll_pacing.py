"""Polls slow down when the month's plan could not pay for them until it resets at the configured
interval, never beyond the two hours the product promises; sweeps wait in the same proportion."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from connectors.base import Window
from connectors.budget import window_start
from syncing import selectors
from syncing.models import SyncRun
from tests import factories

# 21 days (504 hours) before March's plan resets.
MARCH_11 = datetime(2026, 3, 11, tzinfo=UTC)


def xero_with_plan(tenant, *, limit, used):
    """A Xero connection polling every 30 minutes (3 resources, a call each) on a plan of `limit`
    calls a month, `used` of them spent (the merchant's plan allows more)."""
    tenant.monthly_call_allowance = 10**9
    tenant.save()
    connection = factories.ConnectionFactory(
        tenant=tenant, provider="xero", poll_interval=timedelta(minutes=30), monthly_call_limit=limit
    )
    factories.BudgetWindowFactory(
        connection=connection,
        kind=Window.MONTH,
        starts_at=datetime(2026, 3, 1, tzinfo=UTC),
        limit=limit,
        used=used,
    )
    return connection


def test_polls_keep_their_interval_while_the_plan_can_pay_for_them(tenant):
    connection = xero_with_plan(tenant, limit=100_000, used=30_000)

    assert selectors.effective_poll_interval(connection, now=MARCH_11) == timedelta(minutes=30)


def test_polls_stretch_to_what_the_plan_can_pay_for_until_it_resets(tenant):
    # Polls may spend 7,440 - 744 (kept for invoices) - 2,400 = 4,296 calls, half of them on polls:
    # 2,148 calls for 504 hours at 3 calls a poll is a poll every 504 h * 3 / 2,148 = 2,534 s.
    connection = xero_with_plan(tenant, limit=7_440, used=2_400)

    assert selectors.effective_poll_interval(connection, now=MARCH_11) == timedelta(seconds=2_534)


def test_polls_that_cost_more_calls_stretch_further(tenant):
    connection = xero_with_plan(tenant, limit=7_440, used=2_400)
    for _ in range(3):
        factories.SyncRunFactory(
            connection=connection, kind=SyncRun.Kind.PRODUCTS, status=SyncRun.Status.SUCCEEDED, api_calls=2
        )

    assert selectors.effective_poll_interval(connection, now=MARCH_11) == timedelta(seconds=5_068)


@pytest.mark.parametrize("used", [6_600, 7_440])
def test_polls_on_a_plan_nearly_or_fully_spent_stretch_to_two_hours_and_no_further(tenant, used):
    connection = xero_with_plan(tenant, limit=7_440, used=used)

    assert selectors.effective_poll_interval(connection, now=MARCH_11) == timedelta(hours=2)


def test_sweeps_wait_longer_in_the_same_proportion_as_polls(tenant):
    connection = xero_with_plan(tenant, limit=7_440, used=6_600)
    connection.sweep_interval = timedelta(hours=4)

    assert selectors.effective_sweep_interval(connection, now=MARCH_11) == timedelta(hours=16)


def test_the_freshness_promise_shows_the_stretched_interval(tenant):
    connection = factories.ConnectionFactory(tenant=tenant, provider="xero", monthly_call_limit=7_440)
    this_month = window_start(Window.MONTH, timezone.now())
    factories.BudgetWindowFactory(
        connection=connection, kind=Window.MONTH, starts_at=this_month, limit=7_440, used=7_440
    )

    assert selectors.freshness_promise(connection) == timedelta(hours=2) + selectors.DEFAULT_RUN_TIME
