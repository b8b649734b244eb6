"""What is due, what a sweep picks, and how fresh a connection promises to keep products."""

from datetime import timedelta

import pytest
from django.utils import timezone

from syncing import selectors
from syncing.models import Connection, SyncRun
from tests import factories


def test_newly_active_connection_is_due_for_poll_at_once(tenant):
    connection = factories.ConnectionFactory(tenant=tenant, next_poll_at=None)
    assert list(selectors.connections_due_for_poll(timezone.now())) == [connection]


def test_connection_polled_recently_or_not_active_is_not_due(tenant):
    now = timezone.now()
    factories.ConnectionFactory(tenant=tenant, next_poll_at=now + timedelta(minutes=5))
    factories.ConnectionFactory(tenant=tenant, status=Connection.Status.NEEDS_REAUTH)
    due = factories.ConnectionFactory(tenant=tenant, next_poll_at=now - timedelta(seconds=1))
    assert list(selectors.connections_due_for_poll(now)) == [due]


def test_sweep_due_only_where_next_sweep_time_has_come(tenant):
    now = timezone.now()
    factories.ConnectionFactory(tenant=tenant, next_sweep_at=now + timedelta(hours=1))
    due = factories.ConnectionFactory(tenant=tenant, next_sweep_at=now - timedelta(hours=1))
    assert list(selectors.connections_due_for_sweep(now)) == [due]


def test_links_oldest_confirmed_come_first_and_deleted_ones_are_left_out(tenant):
    connection = factories.ConnectionFactory(tenant=tenant)
    now = timezone.now()
    newest = factories.ProductLinkFactory(connection=connection, last_confirmed_at=now)
    oldest = factories.ProductLinkFactory(connection=connection, last_confirmed_at=now - timedelta(days=3))
    factories.ProductLinkFactory(
        connection=connection, last_confirmed_at=now - timedelta(days=9), remote_deleted=True
    )
    middle = factories.ProductLinkFactory(connection=connection, last_confirmed_at=now - timedelta(days=1))

    assert list(selectors.links_oldest_confirmed(connection, 2)) == [oldest, middle]
    assert newest not in selectors.links_oldest_confirmed(connection, 2)


def test_freshness_promise_is_poll_interval_plus_run_time_when_budget_allows(tenant):
    connection = factories.ConnectionFactory(tenant=tenant, poll_interval=timedelta(minutes=30))
    start = timezone.now() - timedelta(hours=1)
    for kind in (SyncRun.Kind.PRODUCTS, SyncRun.Kind.STOCK):
        factories.succeeded_run(connection, kind=kind, started_at=start, took=timedelta(seconds=20))
    tenant.monthly_call_allowance = 100_000
    tenant.save()
    assert selectors.freshness_promise(connection) == timedelta(minutes=30, seconds=20)


def test_observed_lag_runs_from_the_previous_pull_start_to_this_pull_end(tenant):
    connection = factories.ConnectionFactory(tenant=tenant)
    t0 = timezone.now() - timedelta(hours=2)
    for offset in (0, 30):
        factories.succeeded_run(connection, started_at=t0 + timedelta(minutes=offset))
    assert selectors.observed_lags(connection) == [timedelta(minutes=31)]


@pytest.mark.parametrize(
    "asked, got", [(timedelta(hours=6), timedelta(hours=2)), (timedelta(minutes=10), timedelta(minutes=10))]
)
def test_poll_interval_is_capped_at_two_hours(tenant, asked, got):
    tenant.monthly_call_allowance = 1_000_000
    tenant.save()
    connection = factories.ConnectionFactory(tenant=tenant, poll_interval=asked)
    assert selectors.effective_poll_interval(connection) == got
