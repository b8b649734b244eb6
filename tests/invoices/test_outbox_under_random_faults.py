"""5,000 sales posted to Xero while one request in ten fails at random end as exactly 5,000
invoices: no sale lost, none posted twice."""

import random
import threading
from datetime import timedelta

from django.utils import timezone

from connectors.emulation.app import Fault
from invoices.models import OutboxAttempt, OutboxEntry
from invoices.services.posting import post_due_outbox_entries
from syncing.models import BudgetWindow

SALES = 5_000
FAULT_RATE = 0.10
# Per round: one batch of 40, plus at most 40 lookups by reference and the HTTP session's own
# retries, stays inside one minute of Xero's budget (60 calls), so no round waits for a minute.
ROUND_SIZE = 40


def random_transient_faults(rate: float, seed: int):
    """A fault source for the emulator: about `rate` of requests fail, each in one of the ways a
    network or provider fails. A 5xx is answered before the handler writes; a lost or garbled
    response comes after it wrote, so only the idempotency key or the lookup can tell."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def source(request):
        with lock:
            if rng.random() >= rate:
                return None
            kind = rng.choice(["status", "lose_response", "malform"])
            status = rng.choice([500, 502, 503, 504])
        return Fault(kind, status=status)

    return source


def test_5000_sales_through_random_faults_end_as_5000_invoices(start_emulator, connect, sell, product):
    xero = start_emulator("xero", minute_limit=10**6, day_limit=10**6)
    connection = connect(xero, "xero", sales_account_code="200")
    numbers = [f"S-{n:04d}" for n in range(SALES)]
    for number in numbers:
        sell(number, product)
    xero.fault_source = random_transient_faults(FAULT_RATE, seed=20261124)
    now = timezone.now()

    for round_ in range(3 * SALES // ROUND_SIZE):
        # Each round is an hour later on the outbox's clock, so every backoff has passed; our own
        # budget windows are cleared to match, as an hour clears them.
        BudgetWindow.objects.filter(connection=connection).delete()
        post_due_outbox_entries(connection=connection, now=now + timedelta(hours=round_), limit=ROUND_SIZE)
        if not OutboxEntry.objects.exclude(state=OutboxEntry.State.POSTED).exists():
            break

    references = [invoice["reference"] for invoice in xero.invoices()]
    assert len(references) == SALES
    assert sorted(set(references)) == numbers
    posted = OutboxEntry.objects.filter(state=OutboxEntry.State.POSTED)
    assert posted.count() == SALES
    assert set(posted.values_list("remote_id", flat=True)) == {i["remote_id"] for i in xero.invoices()}
    # The faults did strike, including after the provider had written.
    assert xero.faults_injected["lose_response"] + xero.faults_injected["malform"] >= 10
    assert OutboxAttempt.objects.filter(outcome=OutboxAttempt.Outcome.FOUND_EXISTING).exists()
