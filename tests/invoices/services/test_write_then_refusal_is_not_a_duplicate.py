"""One call to post a batch may send the PUT more than once: the HTTP session retries a send whose
answer was lost, under the same Idempotency-Key. When the first send wrote the invoices and a later
send of the same call is refused unread (429, our budget spent), the call ends with that refusal,
but the invoices are on the provider. The next try must look them up: it may form a different batch
(new sales joined it), and a different batch carries a different key, which Xero takes as new."""

from datetime import timedelta

from django.utils import timezone

from invoices.models import OutboxAttempt, OutboxEntry
from invoices.services.posting import post_due_outbox_entries
from syncing.models import BudgetWindow

State = OutboxEntry.State


def test_an_invoice_written_before_a_429_ended_the_call_is_found_not_posted_again(
    xero, xero_connection, mug_on_xero, sell
):
    sale = sell("S-1", mug_on_xero)
    # The first send writes and its answer is lost; the session's retry is told to wait 2 minutes.
    xero.lose_next_response(match="/Invoices")
    xero.rate_limit_next(retry_after=120, match="/Invoices")
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)
    entry = sale.outbox_entries.get()
    assert (entry.state, entry.outcome_unknown) == (State.RATE_LIMITED, True)
    sell("S-2", mug_on_xero)

    post_due_outbox_entries(connection=xero_connection, now=now + timedelta(minutes=3))

    assert sorted(invoice["reference"] for invoice in xero.invoices()) == ["S-1", "S-2"]
    entry.refresh_from_db()
    assert entry.state == State.POSTED
    assert entry.attempt_log.order_by("pk").last().outcome == OutboxAttempt.Outcome.FOUND_EXISTING


def test_an_invoice_written_before_the_budget_ran_out_mid_call_is_found_not_posted_again(
    xero, xero_connection, mug_on_xero, sell
):
    sale = sell("S-1", mug_on_xero)
    # One call left in the month: the first send spends it, writes, and its answer is lost; the
    # session's retry finds the budget spent.
    xero_connection.monthly_call_limit = 1
    xero_connection.save()
    xero.lose_next_response(match="/Invoices")
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)
    entry = sale.outbox_entries.get()
    assert (entry.state, entry.outcome_unknown) == (State.RATE_LIMITED, True)
    # The month turns (or the merchant buys more calls), and a new sale joins the next batch.
    BudgetWindow.objects.filter(connection=xero_connection).delete()
    xero_connection.monthly_call_limit = None
    xero_connection.save()
    sell("S-2", mug_on_xero)

    post_due_outbox_entries(connection=xero_connection, now=entry.next_attempt_at)

    assert sorted(invoice["reference"] for invoice in xero.invoices()) == ["S-1", "S-2"]
    entry.refresh_from_db()
    assert entry.state == State.POSTED
