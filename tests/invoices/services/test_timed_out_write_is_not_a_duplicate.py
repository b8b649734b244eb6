"""A write whose answer is late or lost must not become a second invoice, however far Xero's clock
has moved on by the time anyone asks again: Xero keeps an Idempotency-Key for about 6 minutes
(FACTS 1.6), so past that only the lookup by reference stands between a retry and a duplicate."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from connectors import http as provider_http
from connectors.emulation.app import Fault
from invoices.models import OutboxAttempt, OutboxEntry
from invoices.services.posting import post_due_outbox_entries

State = OutboxEntry.State


class Clock:
    """The emulator's clock, moved on by hand as the simulated month's jumps move it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def xero(start_emulator, clock):
    return start_emulator("xero", clock=clock)


@pytest.fixture
def xero_connection(xero, connect):
    return connect(xero, "xero", sales_account_code="200")


def wait_for_calls(app, count: int, *, path: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while app.calls("PUT", path) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_timed_out_invoice_write_answered_after_the_key_expired_is_one_invoice(
    xero, xero_connection, clock, sell, product, monkeypatch
):
    sale = sell("S-1", product)
    # Xero takes the PUT but answers it after our read timeout; the session's retry (same key)
    # gets Xero's answer in time.
    monkeypatch.setattr(provider_http, "TIMEOUT", (5, 0.3))
    xero.delay_next(2, match="/Invoices")

    post_due_outbox_entries(connection=xero_connection)
    # The month moves on while the slow request is still being answered.
    clock.advance(timedelta(minutes=7))
    wait_for_calls(xero, 2, path="/Invoices")

    assert xero.calls("PUT", "/Invoices") == 2
    assert sale.outbox_entries.get().state == State.POSTED
    assert [invoice["reference"] for invoice in xero.invoices()] == ["S-1"]


def test_a_rate_limited_lookup_keeps_the_outcome_unknown_so_the_next_try_looks_again(
    xero, xero_connection, clock, sell, product
):
    sale = sell("S-1", product)
    # Xero wrote the invoice, but no answer to the call (nor to the session's retries) came back.
    xero.lose_next_response(times=4, match="/Invoices")
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)
    xero.rate_limit_next(retry_after=120, match="/Invoices")

    post_due_outbox_entries(connection=xero_connection, now=now + timedelta(minutes=1))

    entry = sale.outbox_entries.get()
    assert (entry.state, entry.outcome_unknown) == (State.RATE_LIMITED, True)
    clock.advance(timedelta(minutes=10))  # the idempotency key has expired at Xero

    post_due_outbox_entries(connection=xero_connection, now=now + timedelta(minutes=10))

    entry.refresh_from_db()
    assert entry.state == State.POSTED
    assert entry.attempt_log.order_by("pk").last().outcome == OutboxAttempt.Outcome.FOUND_EXISTING
    assert [invoice["reference"] for invoice in xero.invoices()] == ["S-1"]


def test_a_rate_limited_post_keeps_an_earlier_unknown_outcome(xero, xero_connection, sell, product):
    sale = sell("S-1", product)
    # No answer the first time: the request may still be on its way through Xero.
    xero.fail_next(503, times=4, match="/Invoices")
    now = timezone.now()
    post_due_outbox_entries(connection=xero_connection, now=now)
    # Next time the lookup finds nothing yet, and the post is refused with 429.
    xero.fault_source = lambda request: Fault("rate_limit", seconds=120) if request.method == "PUT" else None

    post_due_outbox_entries(connection=xero_connection, now=now + timedelta(minutes=1))

    entry = sale.outbox_entries.get()
    assert (entry.state, entry.outcome_unknown) == (State.RATE_LIMITED, True)
    assert xero.invoices() == []
