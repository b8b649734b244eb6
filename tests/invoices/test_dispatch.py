"""The outbox dispatcher queues one posting task per connection that has entries due."""

from datetime import timedelta

from django.utils import timezone
from django_q.models import OrmQ

from invoices.models import OutboxEntry
from invoices.tasks import dispatch_due_outbox
from syncing.models import Connection
from tests import factories


def test_connection_with_a_due_entry_gets_one_posting_task(tenant):
    connection = factories.ConnectionFactory(tenant=tenant, provider="sage")
    for _ in range(3):
        factories.OutboxEntryFactory(sale__tenant=tenant, connection=connection)

    assert dispatch_due_outbox() == 1
    assert [task.args() for task in OrmQ.objects.all()] == [(connection.pk,)]


def test_entries_not_due_yet_or_posted_queue_nothing(tenant):
    connection = factories.ConnectionFactory(tenant=tenant)
    factories.OutboxEntryFactory(
        sale__tenant=tenant, connection=connection, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    factories.OutboxEntryFactory(
        sale__tenant=tenant, connection=connection, state=OutboxEntry.State.POSTED, remote_id="INV-1"
    )

    assert dispatch_due_outbox() == 0


def test_entries_of_a_connection_needing_reauthorisation_wait(tenant):
    connection = factories.ConnectionFactory(tenant=tenant, status=Connection.Status.NEEDS_REAUTH)
    factories.OutboxEntryFactory(sale__tenant=tenant, connection=connection)

    assert dispatch_due_outbox() == 0


def test_entry_claimed_by_a_dead_worker_is_due_again(tenant):
    connection = factories.ConnectionFactory(tenant=tenant)
    factories.OutboxEntryFactory(
        sale__tenant=tenant,
        connection=connection,
        state=OutboxEntry.State.IN_FLIGHT,
        claimed_until=timezone.now() - timedelta(minutes=1),
    )

    assert dispatch_due_outbox() == 1
