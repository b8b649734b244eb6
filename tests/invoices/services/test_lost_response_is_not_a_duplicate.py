"""A reply lost after the provider wrote the invoice must not lead to a second invoice, whether the
HTTP session's own retry recovers it (the idempotency key) or the entry's next try does (the
lookup by reference)."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from invoices.models import OutboxAttempt, OutboxEntry
from invoices.services.posting import post_due_outbox_entries
from syncing.models import BudgetWindow

State = OutboxEntry.State


@pytest.fixture(params=["xero", "sage"])
def provider(request, start_emulator, connect):
    key = request.param
    app = start_emulator(key)
    connection = connect(app, key, sales_account_code={"xero": "200", "sage": "4000"}[key])
    return app, connection


def test_reply_lost_once_is_recovered_by_the_idempotency_key(provider, sell, product):
    app, connection = provider
    sale = sell("S-1", product)
    app.lose_next_response(match="nvoices")

    post_due_outbox_entries(connection=connection)

    entry = sale.outbox_entries.get()
    assert entry.state == State.POSTED
    assert [i["reference"] for i in app.invoices()] == ["S-1"]
    assert entry.remote_id == app.invoices()[0]["remote_id"]


def test_reply_lost_on_every_retry_is_found_by_reference_next_time(provider, sell, product):
    app, connection = provider
    sale = sell("S-1", product)
    # Every send of the call fails to answer: the first one wrote the invoice.
    app.lose_next_response(times=4, match="nvoices")
    now = timezone.now()

    post_due_outbox_entries(connection=connection, now=now)
    entry = sale.outbox_entries.get()
    assert (entry.state, entry.outcome_unknown) == (State.RETRYING, True)
    assert entry.attempt_log.get().outcome == OutboxAttempt.Outcome.UNKNOWN

    post_due_outbox_entries(connection=connection, now=now + timedelta(minutes=1))

    entry.refresh_from_db()
    assert (entry.state, entry.outcome_unknown) == (State.POSTED, False)
    assert [i["reference"] for i in app.invoices()] == ["S-1"]
    assert entry.remote_id == app.invoices()[0]["remote_id"]
    assert entry.attempt_log.order_by("pk").last().outcome == OutboxAttempt.Outcome.FOUND_EXISTING


def test_request_that_never_arrived_is_sent_after_the_lookup(provider, sell, product):
    app, connection = provider
    sale = sell("S-1", product)
    app.fail_next(503, times=4, match="nvoices")
    now = timezone.now()
    post_due_outbox_entries(connection=connection, now=now)

    post_due_outbox_entries(connection=connection, now=now + timedelta(minutes=1))

    assert sale.outbox_entries.get().state == State.POSTED
    assert [i["reference"] for i in app.invoices()] == ["S-1"]


def test_500_sales_through_random_faults_end_as_500_invoices(start_emulator, connect, sell, product):
    # Xero's minute limit is not under test: rounds an "hour" apart on our clock run seconds apart.
    xero = start_emulator("xero", minute_limit=100_000)
    xero_connection = connect(xero, "xero", sales_account_code="200")
    rng = random.Random(20240611)
    for n in range(500):
        sell(f"S-{n:04d}", product)
    now = timezone.now()

    for round_ in range(80):
        # About one call in ten fails: a 5xx before the write, or a reply lost after it; some
        # outlast the HTTP session's own retries and reach the entry.
        for _ in range(3):
            if rng.random() < 0.3:
                if rng.random() < 0.5:
                    xero.fail_next(503, times=rng.choice([1, 4]), match="/Invoices")
                else:
                    xero.lose_next_response(times=rng.choice([1, 4]), match="/Invoices")
        # Each round is an hour later: our own minute budget has long reset. 40 entries a round
        # keep a round's lookups (one per entry whose reply was lost) within one minute's budget.
        BudgetWindow.objects.filter(connection=xero_connection).delete()
        post_due_outbox_entries(connection=xero_connection, now=now + timedelta(hours=round_), limit=40)
        if not OutboxEntry.objects.exclude(state=State.POSTED).exists():
            break

    references = [i["reference"] for i in xero.invoices()]
    assert len(references) == 500
    assert len(set(references)) == 500
    assert OutboxEntry.objects.filter(state=State.POSTED).count() == 500
    assert sum(xero.faults_injected.values()) >= 5
