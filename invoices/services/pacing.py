"""When the outbox posts to a provider that takes many invoices per call: in full batches.

A sale's invoice (or a refund's credit note) queued for such a provider waits until a full batch
is due or the oldest has waited `batch_wait`: `OUTBOX_BATCH_WAIT_MINUTES`, stretched by as much
as the month's plan is spent ahead of the calendar, and in proportion to how far the plan falls
short of paying for polls every two hours (`syncing.selectors.poll_shortfall`), so a plan running
short posts fewer, fuller batches and the catalogue stays within its promise. The wait is bounded
by `MAX_BATCH_WAIT`. Only entries never tried wait: retries keep their own timing, and anything
else due on the connection (a retry, a summary, a payment, an entry retried by hand) takes the
waiting entries along, since that call is made anyway. Providers that take one invoice per call
post each at once: waiting would save them nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q

from invoices.models import OutboxEntry
from syncing.models import Connection
from syncing.selectors import PollBudget, poll_budget

# Longest an invoice waits for its batch, however short the plan runs: it reaches the ledger the
# same working day.
MAX_BATCH_WAIT = timedelta(hours=6)


def waiting_for_batch() -> Q:
    """Invoices and credit notes queued and never tried. An entry retried by hand is due from the
    moment of the retry, after it was queued, so it does not wait."""
    return Q(
        state=OutboxEntry.State.PENDING,
        kind__in=(OutboxEntry.Kind.INVOICE, OutboxEntry.Kind.CREDIT_NOTE),
        next_attempt_at__lte=F("created_at"),
    )


def batch_wait(connection: Connection, *, now: datetime, budget: PollBudget | None = None) -> timedelta:
    """How long the oldest waiting entry may wait for its batch to fill (`budget`: the connection's
    `poll_budget` at `now`, when the caller has read it)."""
    budget = budget or poll_budget(connection, now=now)
    base = timedelta(minutes=settings.OUTBOX_BATCH_WAIT_MINUTES)
    longest = max(base, MAX_BATCH_WAIT)
    # Each claim costs a post and, for its new customers, a search and a create: fewer, fuller
    # claims free calls for the polls that keep remote changes within the two-hour promise.
    stretch = min(max(budget.shortfall, 1.0), longest / base)
    ahead = budget.pace.ahead
    stretched = timedelta(seconds=round((base * stretch).total_seconds()))
    return min(stretched + max(ahead, timedelta(0)), longest)


def holds_for_batch(connection: Connection, *, waiting: int, oldest: datetime, now: datetime) -> bool:
    """Whether `waiting` entries, the oldest due since `oldest` and nothing else due, should wait
    for more to fill the batch."""
    size = connection.spec.invoice_batch_size
    if size <= 1 or waiting >= size:
        return False
    return oldest > now - batch_wait(connection, now=now)
