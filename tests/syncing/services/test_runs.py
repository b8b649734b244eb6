"""The run lifecycle: how work ends decides the run's status, and nothing stays running forever."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from connectors.errors import AuthorizationRevoked, BudgetExhausted, ProviderBug, RateLimited
from syncing.models import Connection, SyncRun
from syncing.services import runs
from syncing.services.leases import LEASE_TTL, take_lease
from tests import factories


@pytest.fixture
def connection(tenant):
    return factories.ConnectionFactory(tenant=tenant, cursors={"products": "v1"})


def run_with(connection, work, **kwargs):
    return runs.leased_run(
        connection=connection,
        kind=SyncRun.Kind.PRODUCTS,
        trigger=SyncRun.Trigger.MANUAL,
        cursor_key="products",
        work=work,
        **kwargs,
    )


def test_run_without_errors_succeeds_and_records_its_cursor(connection):
    def work(job):
        job.run.fetched = 3

    run = run_with(connection, work)
    run.refresh_from_db()
    assert (run.status, run.fetched, run.cursor_before) == (SyncRun.Status.SUCCEEDED, 3, "v1")
    assert run.finished_at is not None


def test_a_bad_record_fails_only_itself_and_the_run_ends_partial(connection):
    def work(job):
        job.run.fetched = 2
        job.run.created = 1
        runs.record_error(job.run, record="ABC-1", message="SalesDetails.UnitPrice is not a number")

    run = run_with(connection, work)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.PARTIAL
    assert (run.created, run.failed) == (1, 1)
    assert run.record_errors == [{"record": "ABC-1", "message": "SalesDetails.UnitPrice is not a number"}]


def test_unreadable_provider_reply_fails_the_run_in_merchant_words_and_keeps_counts(connection):
    def work(job):
        job.run.created = 5
        runs.save_progress(job.run)
        raise ProviderBug("Item 'ABC-1': Code is missing")

    run = run_with(connection, work)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.created == 5
    assert "Xero sent a reply we could not read (Item 'ABC-1': Code is missing)" in run.error_summary


def test_spent_budget_defers_the_run_and_the_next_poll(connection):
    resets = datetime(2030, 1, 1, tzinfo=UTC)

    def work(job):
        raise BudgetExhausted("month spent", resets_at=resets, window="month")

    run = run_with(connection, work)
    connection.refresh_from_db()
    assert (run.status, run.deferred_until) == (SyncRun.Status.DEFERRED, resets)
    assert connection.next_poll_at == resets


def test_rate_limit_defers_the_field_the_caller_names(connection):
    retry_at = timezone.now() + timedelta(minutes=3)

    def work(job):
        raise RateLimited("slow down", retry_at=retry_at)

    run = run_with(connection, work, due_field="next_sweep_at")
    connection.refresh_from_db()
    assert run.status == SyncRun.Status.DEFERRED
    assert connection.next_sweep_at == retry_at
    assert connection.next_poll_at is None


def test_revoked_authorisation_asks_the_merchant_to_reconnect(connection):
    def work(job):
        raise AuthorizationRevoked("invalid_grant")

    run = run_with(connection, work)
    assert run.status == SyncRun.Status.FAILED
    assert "Please reconnect Xero" in run.error_summary


def test_busy_lease_makes_the_run_skipped_without_running_the_work(connection):
    take_lease(connection, SyncRun.Kind.PRODUCTS, "another-worker")
    ran = []

    run = run_with(connection, lambda job: ran.append(job))
    assert run.status == SyncRun.Status.SKIPPED
    assert "still running" in run.error_summary
    assert ran == []


def test_connection_needing_reauthorisation_is_skipped(connection):
    connection.status = Connection.Status.NEEDS_REAUTH
    ran = []

    run = run_with(connection, lambda job: ran.append(job))
    assert run.status == SyncRun.Status.SKIPPED
    assert ran == []


def test_lease_is_released_when_the_work_crashes(connection):
    def work(job):
        raise RuntimeError("bug in our code")

    with pytest.raises(RuntimeError):
        run_with(connection, work)
    assert take_lease(connection, SyncRun.Kind.PRODUCTS, "next-worker")
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED


def test_run_whose_heartbeat_stopped_is_marked_stalled(connection):
    now = timezone.now()
    dead = factories.SyncRunFactory(
        connection=connection, heartbeat_at=now - LEASE_TTL - timedelta(seconds=1)
    )
    alive = factories.SyncRunFactory(connection=connection, heartbeat_at=now - timedelta(seconds=30))

    assert runs.mark_stalled_runs(now) == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, alive.status) == (SyncRun.Status.STALLED, SyncRun.Status.RUNNING)
