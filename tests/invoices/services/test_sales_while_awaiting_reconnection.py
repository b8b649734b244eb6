"""A sale rung up while a connection waits for the merchant to reconnect is kept for it: its
entry waits, untried, and posts once the connection is active again."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from invoices.models import OutboxEntry
from invoices.selectors import connections_with_due_entries
from invoices.services.pacing import MAX_BATCH_WAIT
from invoices.services.posting import post_due_outbox_entries
from syncing.models import Connection
from syncing.services import connections

pytestmark = pytest.mark.django_db

REDIRECT_URI = "http://testserver/connections/xero/callback/"
# Past the longest a new invoice waits for its Xero batch to fill.
BATCH_WAITED = MAX_BATCH_WAIT + timedelta(minutes=1)


def reconnect(connection: Connection) -> Connection:
    """The merchant presses Reconnect and then "Allow access" on the emulator's consent page."""
    url = connections.connect_start(connection, redirect_uri=REDIRECT_URI)
    params = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    answer = requests.post(url.split("?")[0], data={**params, "decision": "allow"}, allow_redirects=False)
    callback = {k: v[-1] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    return connections.connect_complete(
        state=callback["state"], code=callback["code"], redirect_uri=REDIRECT_URI
    )


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
