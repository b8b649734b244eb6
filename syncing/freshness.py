"""How fresh a connection keeps the merchant's data: what it promises, how its last pulls kept the
promise, and whether a plan running short has slowed polls or batched sales. The one read the
dashboard, the admin and the API show.

Apart from `syncing.selectors` because it reads the outbox's pacing too, which reads the
selectors itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils.timesince import timesince

from invoices.services.pacing import batch_wait
from syncing import selectors
from syncing.models import Connection

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Freshness:
    # How old a remote change can be before it shows here.
    promise: timedelta
    # The worst lag a remote change saw in each of the last products pulls, newest first.
    recent_lags: tuple[timedelta, ...]
    # The poll interval as configured (never beyond the two hours promised) and as the plan pays.
    poll_interval: timedelta
    effective_poll_interval: timedelta
    # The interval the calls left to polls pay for until the plan renews (uncapped), and when.
    paid_poll_interval: timedelta
    plan_renews_at: datetime
    # How long new sales wait to fill a batch: configured and paced; None where the provider
    # takes one invoice a call, so nothing waits.
    configured_batch_wait: timedelta
    batch_wait: timedelta | None

    @property
    def worst_lag(self) -> timedelta | None:
        return max(self.recent_lags, default=None)

    @property
    def latest_lag(self) -> timedelta | None:
        return self.recent_lags[0] if self.recent_lags else None

    @property
    def polls_stretched(self) -> bool:
        """The month's plan cannot pay for polls as often as configured."""
        return self.effective_poll_interval > self.poll_interval

    @property
    def polls_may_pause(self) -> bool:
        """Even two-hourly polls (the slowest pacing goes) cost more than the plan has left: once
        the calls left to polls are spent, checks wait for the plan to renew."""
        return self.paid_poll_interval > selectors.MAX_POLL_INTERVAL

    @property
    def batches_stretched(self) -> bool:
        """New sales wait longer than configured for fuller batches, to save calls."""
        return self.batch_wait is not None and self.batch_wait > self.configured_batch_wait


def connection_freshness(connection: Connection, *, now: datetime) -> Freshness:
    """A bounded few queries, whatever the connection's history (each read takes the last runs
    only); the plan's pacing is read once for the promise, the poll interval and the batch wait."""
    budget = selectors.poll_budget(connection, now=now)
    batches = connection.spec.invoice_batch_size > 1
    return Freshness(
        promise=selectors.freshness_promise(connection, now=now, budget=budget),
        recent_lags=tuple(selectors.observed_lags(connection)),
        poll_interval=min(connection.poll_interval, selectors.MAX_POLL_INTERVAL),
        effective_poll_interval=budget.interval(connection.poll_interval),
        paid_poll_interval=budget.paid_interval,
        plan_renews_at=budget.pace.resets_at,
        configured_batch_wait=timedelta(minutes=settings.OUTBOX_BATCH_WAIT_MINUTES),
        batch_wait=batch_wait(connection, now=now, budget=budget) if batches else None,
    )


def in_words(duration: timedelta) -> str:
    """A duration as a merchant reads it, e.g. "2 hours, 1 minute": Django's `timesince` in its two
    largest units, after rounding up to the minute (timesince rounds down, and a promise of "30
    minutes" kept in 30 minutes 20 seconds would be told shorter than it is)."""
    minutes = max(math.ceil(round(duration.total_seconds()) / 60), 1)
    return timesince(_EPOCH, _EPOCH + timedelta(minutes=minutes), depth=2)
