"""A sale rung up while a connection waits for the merchant to reconnect is kept for it: its
entry waits, untried, and posts once the connection is active again."""

from datetime import timedelta

import pytest

from invoices.models import OutboxEntry
from invoices.selectors import connections_with_due_entries
from invoices.services.pacing import MAX_BATCH_WAIT
from invoices.services.posting import post_due_outbox_entries
from syncing.services import connections
from tests.consent import reconnect

pytestmark = pytest.mark.django_db

# Past the longest a new invoice waits for its Xero batch to fill.
BATCH_WAITED = MAX_BATCH_WAIT + timedelta(minutes=1)


def test_sale_made_while_xero_needs_reconnecting_is_queued_for_it(xero_connection, mug_on_xero, sell):
    connections.mark_needs_reauth(xero_connection, reason="Xero refused to renew our access.")

    sale = sell("S-1", mug_on_xero)

    entry = OutboxEntry.objects.get(sale=sale)
    assert (entry.connection_id, entry.state) == (xero_connection.pk, OutboxEntry.State.PENDING)


def test_entry_waits_untried_while_xero_needs_reconnecting(xero, xero_connection, mug_on_xero, sell):
    connections.mark_needs_reauth(xero_connection, reason="Xero refused to renew our access.")
    sale = sell("S-1", mug_on_xero)

    assert connections_with_due_entries(sale.created_at + BATCH_WAITED) == []
    assert post_due_outbox_entries(connection=xero_connection).claimed == 0

    entry = OutboxEntry.objects.get(sale=sale)
    assert (entry.state, entry.attempts) == (OutboxEntry.State.PENDING, 0)
    assert xero.invoices() == []


def test_entry_posts_once_xero_is_reconnected(xero, xero_connection, mug_on_xero, sell):
    connections.mark_needs_reauth(xero_connection, reason="Xero refused to renew our access.")
    sale = sell("S-1", mug_on_xero)

    connection = reconnect(xero_connection)
    assert connections_with_due_entries(sale.created_at + BATCH_WAITED) == [connection.pk]
    summary = post_due_outbox_entries(connection=connection)

    entry = OutboxEntry.objects.get(sale=sale)
    assert (summary.posted, entry.state, entry.attempts) == (1, OutboxEntry.State.POSTED, 1)
    assert [invoice["reference"] for invoice in xero.invoices()] == ["S-1"]
