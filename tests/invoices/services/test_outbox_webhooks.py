"""The outbox tells an embedding platform's webhook endpoints when a sale is posted, needs the
merchant's attention, or is given up (posting against the Xero emulator)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from invoices.services.posting import post_due_outbox_entries
from syncing.models import EventDelivery
from syncing.services import outbound

OUTBOX_EVENTS = ["outbox.posted", "outbox.needs_attention", "outbox.given_up"]


@pytest.fixture(autouse=True)
def endpoint(tenant):
    return outbound.create_endpoint(
        tenant=tenant, url="https://platform.example/", event_types=OUTBOX_EVENTS
    )[0]


def events():
    return [(d.event_type, d.payload["data"]) for d in EventDelivery.objects.order_by("pk")]


def test_a_posted_sale_is_announced_with_its_invoice(xero_connection, sell, mug_on_xero):
    sale = sell("S-1", mug_on_xero)

    post_due_outbox_entries(connection=xero_connection, now=timezone.now())

    ((event_type, data),) = events()
    entry = sale.outbox_entries.get()
    assert event_type == "outbox.posted"
    assert (data["sale"], data["sale_number"], data["connection"]) == (sale.pk, "S-1", xero_connection.pk)
    assert (data["state"], data["remote_id"]) == ("posted", entry.remote_id)


def test_a_refused_sale_is_announced_as_needing_attention(xero_connection, sell, mug_on_xero):
    xero_connection.sales_account_code = "999"
    xero_connection.save()
    sell("S-1", mug_on_xero)

    post_due_outbox_entries(connection=xero_connection, now=timezone.now())

    ((event_type, data),) = events()
    assert event_type == "outbox.needs_attention"
    assert "Account code '999'" in data["last_error"]


def test_a_sale_given_up_is_announced(xero_connection, sell, mug_on_xero, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    xero_connection.sales_account_code = "999"
    xero_connection.save()
    sell("S-1", mug_on_xero)
    now = timezone.now()

    for round_ in range(2):
        post_due_outbox_entries(connection=xero_connection, now=now + timedelta(hours=3 * round_))

    assert [event_type for event_type, _ in events()] == ["outbox.needs_attention", "outbox.given_up"]


def test_a_refused_retry_is_not_announced_again(xero_connection, sell, mug_on_xero):
    xero_connection.sales_account_code = "999"
    xero_connection.save()
    sell("S-1", mug_on_xero)
    now = timezone.now()

    for round_ in range(3):
        post_due_outbox_entries(connection=xero_connection, now=now + timedelta(hours=3 * round_))

    assert [event_type for event_type, _ in events()] == ["outbox.needs_attention"]
