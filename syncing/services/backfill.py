"""A sync for a date range (backfill): re-read what the provider changed since the start, and queue
the sales of the range that never reached this connection.

The re-read leaves the connection's cursors where they are, so the next scheduled poll carries
on as if the backfill had not happened: a backfill can only add, never make a poll skip.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from connectors.base import Capability
from invoices.services.outbox import queue_missing_sales
from syncing.models import Connection, SyncRun
from syncing.services import customers, products, runs

UNFINISHED = (SyncRun.Status.FAILED, SyncRun.Status.DEFERRED, SyncRun.Status.SKIPPED)
FEED_KINDS = {"products": SyncRun.Kind.PRODUCTS, "customers": SyncRun.Kind.CUSTOMERS}


class CannotBackfill(Exception):
    """The connection cannot take a backfill now; the message says why."""


def request_backfill(
    *, connection: Connection, start: datetime, end: datetime | None, trigger: str
) -> SyncRun:
    """Record the backfill as a running run carrying its range, and queue it once committed."""
    end = end or timezone.now()
    if start >= end:
        raise CannotBackfill("The start must be before the end.")
    if not connection.is_active:
        raise CannotBackfill(f"The connection is {connection.get_status_display().lower()}.")
    run = runs.start(connection=connection, kind=SyncRun.Kind.BACKFILL, trigger=trigger)
    run.range_start, run.range_end = start, end
    run.save(update_fields=["range_start", "range_end"])
    transaction.on_commit(lambda: async_task("syncing.tasks.backfill_task", run.pk))
    return run


def run_backfill(run: SyncRun) -> SyncRun:
    """Pull products and customers changed since the range's start (each its own run), queue the
    range's missing sales, and close the backfill run with what they did."""
    connection = run.connection
    parts = []
    for capability, resource, pull in (
        (Capability.PULL_PRODUCTS, "products", products.pull_changed_products),
        (Capability.PULL_CUSTOMERS, "customers", customers.pull_changed_customers),
    ):
        if connection.spec.can(capability):
            since = feed_start(connection, resource, run.range_start)
            parts.append(pull(connection=connection, trigger=run.trigger, since=since))
    run.fetched = sum(part.fetched for part in parts)
    run.updated = sum(part.created + part.updated for part in parts)
    if connection.spec.can(Capability.POST_INVOICES):
        run.created = queue_missing_sales(connection=connection, start=run.range_start, end=run.range_end)
    problems = [
        f"{part.get_kind_display()}: {part.error_summary}" for part in parts if part.status in UNFINISHED
    ]
    if problems:
        return runs.fail(run, reason=" ".join(problems))
    return runs.finish(run)


def feed_start(connection: Connection, resource: str, start: datetime) -> str:
    """Where to start reading `resource` for a range beginning at `start`.

    A feed whose cursor is a moment starts at `start`. A feed of versions (Lightspeed: one global
    counter, raised on every change) has no date filter, but a version the connection saw before
    `start` bounds it: every change since has a higher one. So it starts from the cursor its last
    poll finished before `start` reached; with none (or never read) from the beginning ("").
    The read runs to the feed's end either way: a record changed in the range and again later is
    listed only at its latest version."""
    cursor = connection.cursors.get(resource) or ""
    if cursor.isdigit():  # a version, even one that happens to read as a date (YYYYMMDD)
        return _version_seen_before(connection, resource, start)
    try:
        datetime.fromisoformat(cursor)
    except ValueError:
        return ""
    return start.astimezone(UTC).replace(microsecond=0).isoformat()


def _version_seen_before(connection: Connection, resource: str, start: datetime) -> str:
    reached = (
        SyncRun.objects.filter(
            connection=connection,
            kind=FEED_KINDS[resource],
            finished_at__lte=start,
            cursor_after__regex=r"^[0-9]+$",
        )
        .order_by("-finished_at", "-pk")
        .values_list("cursor_after", flat=True)
        .first()
    )
    return reached or ""
