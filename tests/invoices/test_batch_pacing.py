"""New invoices for a provider that takes many per call wait for a full batch, or until the oldest
has waited the batch wait, which stretches while the month's plan is spent ahead of the calendar
or cannot pay for polls every two hours.
Providers that take one per call, retries and entries retried by hand are not held."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from invoices.models import OutboxEntry
from invoices.selectors import connections_with_due_entries
from invoices.services.pacing import MAX_BATCH_WAIT, batch_wait
from invoices.services.posting import retry_outbox_entry
from invoices.tasks import post_outbox_task
from syncing.models import SyncRun
from tests import factories

State = OutboxEntry.State
# March has 744 hours: a plan of 7,440 calls is ten calls an hour, so each ten calls spent ahead of
# the calendar are an hour.
MARCH_1 = datetime(2026, 3, 1, tzinfo=UTC)
MARCH_11 = datetime(2026, 3, 11, tzinfo=UTC)


def queue(connection, count, *, queued_at=None):
    return [
        factories.OutboxEntryFactory(
            sale__tenant=connection.tenant, connection=connection, next_attempt_at=queued_at or timezone.now()
        )
        for _ in range(count)
    ]


def test_new_invoices_wait_for_their_batch_to_fill(tenant):
    connection = factories.ConnectionFactory(tenant=tenant, provider="xero")
    queue(connection, 3)

    assert connections_with_due_entries(timezone.now()) == []


def test_a_full_batch_is_posted_at_once(tenant):
    connection = factories.ConnectionFactory(tenant=tenant, provider="xero")
    queue(connection, 50)

    assert connections_with_due_entries(timezone.now()) == [connection.pk]


def test_waiting_invoices_are_posted_once_the_oldest_has_waited_the_batch_wait(
    xero, xero_connection, mug_on_xero, sell, settings
):
    settings.OUTBOX_BATCH_WAIT_MINUTES = 30
    sales = [sell(f"S-{n}", mug_on_xero) for n in range(3)]
    now = timezone.now()
    assert connections_with_due_entries(now + timedelta(minutes=29)) == []

    assert connections_with_due_entries(now + timedelta(minutes=31)) == [xero_connection.pk]
    post_outbox_task(xero_connection.pk)

    assert {entry.state for entry in OutboxEntry.objects.filter(sale__in=sales)} == {State.POSTED}
    assert xero.calls("PUT", "Invoices") == 1


@pytest.mark.parametrize(
    "used, wait",
    [
        (2_000, timedelta(minutes=30)),  # behind the calendar (240 hours in): the plain wait
        (2_420, timedelta(hours=2, minutes=30)),  # two hours ahead: two hours longer
        (4_000, MAX_BATCH_WAIT),  # far ahead: never longer than the bound
    ],
)
def test_the_wait_stretches_as_the_plan_is_spent_ahead_of_the_calendar(tenant, settings, used, wait):
    settings.OUTBOX_BATCH_WAIT_MINUTES = 30
    connection = factories.xero_on_plan(tenant, limit=7_440, used=used, month_starts_at=MARCH_1)

    assert batch_wait(connection, now=MARCH_11) == wait


def test_the_wait_stretches_as_far_as_the_plan_falls_short_of_two_hour_polls(tenant, settings):
    # A 5,000-call plan, 1,370 spent by March 11, 60 of them on polls of 3 calls: the other 1,310
    # in 240 hours project to 2,751 in the 504 left, so polls may spend 4,500 - 1,370 - 2,751 = 379
    # calls where a poll every two hours needs 3 x 252 = 756. Short by 756 / 379: invoices wait
    # 30 minutes x 1.995, to the second.
    settings.OUTBOX_BATCH_WAIT_MINUTES = 30
    connection = factories.xero_on_plan(tenant, limit=5_000, used=1_370, month_starts_at=MARCH_1)
    for hour in range(20):
        for kind in (SyncRun.Kind.PRODUCTS, SyncRun.Kind.STOCK, SyncRun.Kind.CUSTOMERS):
            factories.succeeded_run(connection, kind=kind, started_at=MARCH_1 + timedelta(hours=hour))

    assert batch_wait(connection, now=MARCH_11) == timedelta(seconds=3_591)


def test_providers_taking_one_invoice_per_call_post_each_at_once(tenant):
    connection = factories.ConnectionFactory(tenant=tenant, provider="sage")
    queue(connection, 1)

    assert connections_with_due_entries(timezone.now()) == [connection.pk]


def test_a_retry_due_takes_the_waiting_invoices_along(tenant):
    connection = factories.ConnectionFactory(tenant=tenant, provider="xero")
    queue(connection, 3)
    factories.OutboxEntryFactory(sale__tenant=tenant, connection=connection, state=State.RETRYING, attempts=1)

    assert connections_with_due_entries(timezone.now()) == [connection.pk]


def test_a_retry_not_due_yet_keeps_its_own_time(tenant):
    connection = factories.ConnectionFactory(tenant=tenant, provider="xero")
    factories.OutboxEntryFactory(
        sale__tenant=tenant,
        connection=connection,
        state=State.RETRYING,
        attempts=1,
        next_attempt_at=timezone.now() + timedelta(minutes=4),
    )

    assert connections_with_due_entries(timezone.now()) == []


def test_an_invoice_retried_by_hand_is_not_held(tenant):
    connection = factories.ConnectionFactory(tenant=tenant, provider="xero")
    (entry,) = queue(connection, 1)
    OutboxEntry.objects.filter(pk=entry.pk).update(state=State.GIVEN_UP, attempts=8)
    retry_outbox_entry(entry)

    assert connections_with_due_entries(timezone.now()) == [connection.pk]
