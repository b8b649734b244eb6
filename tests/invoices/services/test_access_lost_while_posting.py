"""One cause, one email: when the provider stops accepting our access in the middle of posting,
the connection waits for the merchant to reconnect and its owners get the one "access lost" email.
The entries that met the refusal are not at fault: they wait untried, without an email or an
attempt of their own, and post once the merchant reconnects."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from invoices.models import OutboxAttempt, OutboxEntry
from invoices.selectors import connections_with_due_entries
from invoices.services.posting import post_due_outbox_entries
from syncing.models import Connection
from tests.consent import reconnect

pytestmark = pytest.mark.django_db

State = OutboxEntry.State


def entry_of(sale) -> OutboxEntry:
    return sale.outbox_entries.get()


def test_invoice_refused_for_revoked_access_waits_untried(xero, xero_connection, sell, mug_on_xero):
    sale = sell("S-1", mug_on_xero)
    xero.oauth.revoke_refresh_tokens()
    now = timezone.now()

    summary = post_due_outbox_entries(connection=xero_connection, now=now)

    entry = entry_of(sale)
    assert (entry.state, entry.attempts, entry.next_attempt_at) == (State.PENDING, 0, now)
    assert (summary.needs_attention, summary.released) == (0, 1)
    assert entry.last_error == (
        "Xero no longer accepts this connection; this invoice posts once you reconnect Xero."
    )
    assert entry.attempt_log.get().outcome == OutboxAttempt.Outcome.ACCESS_LOST
    assert not entry.outcome_unknown and entry.claimed_until is None
    assert xero.invoices() == []


def test_owners_get_only_the_access_lost_email_when_posting_meets_revoked_access(
    xero, xero_connection, sell, mug_on_xero
):
    sell("S-1", mug_on_xero)
    sell("S-2", mug_on_xero)
    xero.oauth.revoke_refresh_tokens()

    post_due_outbox_entries(connection=xero_connection)

    xero_connection.refresh_from_db()
    assert xero_connection.status == Connection.Status.NEEDS_REAUTH
    assert [(email.to, email.subject) for email in mail.outbox] == [
        (["alice@example.com"], "Xero stopped accepting our access for Alice's Shop: please reconnect")
    ]


def test_invoice_refused_for_revoked_access_posts_once_after_reconnecting(
    xero, xero_connection, sell, mug_on_xero
):
    sale = sell("S-1", mug_on_xero)
    xero.oauth.revoke_refresh_tokens()
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)

    connection = reconnect(xero_connection)
    # Due at once: it does not wait for a batch to fill again.
    assert connections_with_due_entries(now) == [connection.pk]
    summary = post_due_outbox_entries(connection=connection, now=now)

    entry = entry_of(sale)
    assert (summary.posted, entry.state, entry.attempts) == (1, State.POSTED, 1)
    assert [invoice["reference"] for invoice in xero.invoices()] == ["S-1"]
    assert len(mail.outbox) == 1


def test_lost_invoice_refused_for_revoked_access_is_found_after_reconnecting_not_posted_again(
    xero, xero_connection, sell, mug_on_xero
):
    sale = sell("S-1", mug_on_xero)
    # Every send of the call goes unanswered: the first one wrote the invoice.
    xero.lose_next_response(times=4, match="/Invoices")
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)
    xero.oauth.revoke_refresh_tokens()

    post_due_outbox_entries(connection=xero_connection, now=now + timedelta(minutes=1))
    entry = entry_of(sale)
    # The refused lookup says nothing about the lost send: it is still to be looked up.
    assert (entry.state, entry.attempts, entry.outcome_unknown) == (State.PENDING, 1, True)

    connection = reconnect(xero_connection)
    summary = post_due_outbox_entries(connection=connection, now=now + timedelta(minutes=2))

    entry.refresh_from_db()
    assert (summary.found_existing, entry.state, entry.outcome_unknown) == (1, State.POSTED, False)
    assert [invoice["reference"] for invoice in xero.invoices()] == ["S-1"]


def test_revoked_access_hands_back_the_rest_of_the_claim_untried(sage, sage_connection, sell, product):
    sales = [sell(f"S-{n}", product) for n in range(3)]
    sage.oauth.revoke_refresh_tokens()

    summary = post_due_outbox_entries(connection=sage_connection)

    entries = [entry_of(sale) for sale in sales]
    assert [(entry.state, entry.attempts) for entry in entries] == [(State.PENDING, 0)] * 3
    assert summary.released == 3
    assert OutboxAttempt.objects.filter(entry__in=entries).count() == 1
    assert not OutboxEntry.objects.filter(claimed_until__isnull=False).exists()


def test_entry_needing_attention_still_needs_it_after_meeting_revoked_access(
    xero, xero_connection, sell, mug_on_xero
):
    xero_connection.sales_account_code = "999"
    xero_connection.save()
    sale = sell("S-1", mug_on_xero)
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)
    xero.oauth.revoke_refresh_tokens()

    later = now + timedelta(hours=3)
    post_due_outbox_entries(connection=xero_connection, now=later)

    entry = entry_of(sale)
    assert (entry.state, entry.attempts, entry.next_attempt_at) == (State.NEEDS_ATTENTION, 1, later)
    assert "Account code '999'" in entry.last_error
    assert entry.attempt_log.order_by("pk").last().outcome == OutboxAttempt.Outcome.ACCESS_LOST
    assert len(mail.outbox) == 2  # the refusal's email, then the access-lost one
