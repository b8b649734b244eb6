"""The life of a SyncRun, and the one place that turns a provider error into a run's outcome.

A run is RUNNING from `start` until exactly one of `finish` (SUCCEEDED, or PARTIAL when some
records failed), `fail`, `defer` (budget or rate limit: try again later, nothing is wrong) or,
for a run whose worker died, `mark_stalled_runs`. A run refused before it starts (lease busy,
connection not active) is recorded as SKIPPED so the dashboard can say why nothing happened.
"""

from __future__ import annotations

import functools
import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from connectors.base import Page
from connectors.errors import (
    AuthorizationRevoked,
    BudgetExhausted,
    CapabilityMissing,
    ConnectorError,
    NotFound,
    ProviderBug,
    RateLimited,
    TransientError,
    ValidationFailed,
)
from syncing.models import ApiCall, Connection, SyncRun
from syncing.services import pipeline
from syncing.services.leases import LEASE_TTL, new_holder, release_lease, renew_lease, take_lease
from syncing.services.outbound import emit_event

logger = logging.getLogger(__name__)

# The dashboard shows the first errors of a run; a run with thousands of bad records keeps a sample.
MAX_RECORD_ERRORS = 200
# How often a run between pages renews its lease: far inside the lease's lifetime, far apart
# enough that a feed of many short pages does not write it at every page.
LEASE_RENEWAL = LEASE_TTL / 20

_PROGRESS_FIELDS = [
    "fetched",
    "created",
    "updated",
    "unchanged",
    "failed",
    "record_errors",
    "cursor_after",
    "heartbeat_at",
]


def start(*, connection: Connection, kind: str, trigger: str, cursor_before: str = "") -> SyncRun:
    now = timezone.now()
    return SyncRun.objects.create(
        connection=connection,
        kind=kind,
        trigger=trigger,
        cursor_before=cursor_before or "",
        started_at=now,
        heartbeat_at=now,
    )


def skip(*, connection: Connection, kind: str, trigger: str, reason: str) -> SyncRun:
    now = timezone.now()
    return SyncRun.objects.create(
        connection=connection,
        kind=kind,
        trigger=trigger,
        status=SyncRun.Status.SKIPPED,
        started_at=now,
        heartbeat_at=now,
        finished_at=now,
        error_summary=reason,
    )


def record_error(run: SyncRun, *, record: str, message: str) -> None:
    """One record could not be stored: it alone fails, the run carries on and ends PARTIAL."""
    run.failed += 1
    if len(run.record_errors) < MAX_RECORD_ERRORS:
        run.record_errors.append({"record": record, "message": message})


def save_progress(run: SyncRun) -> None:
    """Persist counters and the heartbeat; called inside each page's transaction."""
    run.heartbeat_at = timezone.now()
    run.save(update_fields=_PROGRESS_FIELDS)


def _close(run: SyncRun, status: str, **fields) -> SyncRun:
    run.status = status
    run.finished_at = timezone.now()
    run.heartbeat_at = run.finished_at
    # The HTTP session logs every call against its run; the run keeps the total for the dashboard.
    run.api_calls = ApiCall.objects.filter(run=run).count()
    for name, value in fields.items():
        setattr(run, name, value)
    run.save(
        update_fields=[*_PROGRESS_FIELDS, "status", "finished_at", "api_calls", *fields],
    )
    return run


def finish(run: SyncRun) -> SyncRun:
    status = SyncRun.Status.PARTIAL if run.failed else SyncRun.Status.SUCCEEDED
    _close(run, status)
    emit_event(run.connection.tenant_id, "sync.completed", run_event(run))
    return run


def fail(run: SyncRun, *, reason: str) -> SyncRun:
    """The run stopped; what it stored before stopping stays (pages commit one by one)."""
    _close(run, SyncRun.Status.FAILED, error_summary=reason)
    emit_event(run.connection.tenant_id, "sync.failed", run_event(run))
    return run


def run_event(run: SyncRun) -> dict:
    """What a `sync.*` webhook carries: the run as the API shows it."""
    return {
        **run.summary(),
        "connection": run.connection_id,
        "integration": run.connection.provider,
        "trigger": run.trigger,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "error_summary": run.error_summary,
        "range_start": run.range_start,
        "range_end": run.range_end,
    }


def defer(run: SyncRun, *, until: datetime, reason: str) -> SyncRun:
    return _close(run, SyncRun.Status.DEFERRED, deferred_until=until, error_summary=reason)


def mark_stalled_runs(now: datetime | None = None) -> int:
    """Runs whose worker stopped beating for longer than a lease lives are over: mark them STALLED
    (their lease has expired too, so the next scheduled run may start)."""
    now = now or timezone.now()
    return SyncRun.objects.filter(status=SyncRun.Status.RUNNING, heartbeat_at__lt=now - LEASE_TTL).update(
        status=SyncRun.Status.STALLED,
        finished_at=now,
        error_summary=(
            "This sync stopped responding and was abandoned; the next one picks up where it left off."
        ),
    )


def merchant_message(connection: Connection, error: ConnectorError) -> str:
    """A sentence a merchant can act on, with the provider's own words where it gave some."""
    name = connection.spec.name
    if isinstance(error, BudgetExhausted):
        return (
            f"This connection has used its {name} API calls for the {error.window}; "
            f"syncing resumes at {error.resets_at:%Y-%m-%d %H:%M} UTC."
        )
    if isinstance(error, RateLimited):
        return f"{name} asked us to slow down; syncing resumes at {error.retry_at:%Y-%m-%d %H:%M:%S} UTC."
    if isinstance(error, AuthorizationRevoked):
        return f"{name} no longer accepts this connection. Please reconnect {name} from your dashboard."
    if isinstance(error, ValidationFailed):
        return f"{name} refused the request: {'; '.join(error.messages)}"
    if isinstance(error, ProviderBug):
        return (
            f"{name} sent a reply we could not read ({error.message}). "
            "Everything stored before it is kept; the next sync tries again."
        )
    if isinstance(error, TransientError):
        return f"{name} could not be reached ({error.message}); the next sync tries again."
    if isinstance(error, CapabilityMissing | NotFound):
        return error.message
    return f"{name} answered with an error: {error.message}"


@dataclass
class Job:
    """What a leased run's work receives: its run, its connection, and the lease it holds."""

    connection: Connection
    run: SyncRun
    holder: str
    lease_renewed: float = field(default_factory=time.monotonic)

    def beat(self) -> None:
        """Still alive: keeps the lease from expiring. The run's heartbeat, which keeps it out of
        `mark_stalled_runs`, is written with each page's progress (`save_progress`); the lease,
        which lives `LEASE_TTL`, is renewed once `LEASE_RENEWAL` has passed, not at every page."""
        if self.holder and time.monotonic() - self.lease_renewed >= LEASE_RENEWAL.total_seconds():
            renew_lease(self.connection, self.run.kind, self.holder)
            self.lease_renewed = time.monotonic()


def leased_run(
    *,
    connection: Connection,
    kind: str,
    trigger: str,
    cursor_key: str = "",
    due_field: str = "next_poll_at",
    exclusive: bool = True,
    work: Callable[[Job], None],
) -> SyncRun:
    """Run `work` as one SyncRun under the connection's lease for `kind`, and give the run its
    outcome from how `work` ended. A deferral also moves `due_field` on the connection, so the
    dispatcher does not try again before the provider or the budget allows. `exclusive=False` runs
    without the lease, for work that may safely overlap itself."""
    if not connection.is_active:
        reason = f"The connection is {connection.get_status_display().lower()}; nothing was fetched."
        return skip(connection=connection, kind=kind, trigger=trigger, reason=reason)
    holder = new_holder() if exclusive else ""
    if exclusive and not take_lease(connection, kind, holder):
        reason = f"Another {SyncRun.Kind(kind).label.lower()} sync of this connection is still running."
        return skip(connection=connection, kind=kind, trigger=trigger, reason=reason)
    try:
        run = start(
            connection=connection,
            kind=kind,
            trigger=trigger,
            cursor_before=connection.cursors.get(cursor_key, "") if cursor_key else "",
        )
        try:
            work(Job(connection=connection, run=run, holder=holder))
        except (BudgetExhausted, RateLimited) as exc:
            until = exc.resets_at if isinstance(exc, BudgetExhausted) else exc.retry_at
            defer(run, until=until, reason=merchant_message(connection, exc))
            setattr(connection, due_field, until)
            Connection.objects.filter(pk=connection.pk).update(**{due_field: until})
        except AuthorizationRevoked as exc:
            # The HTTP session has already marked the connection as needing reauthorisation.
            fail(run, reason=merchant_message(connection, exc))
        except ConnectorError as exc:
            fail(run, reason=merchant_message(connection, exc))
        except Exception:
            fail(run, reason="The sync stopped on an unexpected error; our staff have been alerted.")
            logger.exception("%s run %s crashed", kind, run.pk)
            raise
        else:
            finish(run)
        return run
    finally:
        if exclusive:
            release_lease(connection, kind, holder)


def follow_feed(
    job: Job,
    *,
    resource: str,
    fetch: Callable[..., Page],
    store: Callable[..., object],
    on_page: Callable[[int], None] | None = None,
    since: str | None = None,
    in_turns: bool = False,
) -> None:
    """The page loop every change feed shares: fetch, store, advance the cursor, commit, repeat.
    `since` stays the cursor the run started from; the connector's page token carries the rest.

    Given `since` (a backfill; "" reads the whole feed), the feed is read from there and the
    connection's cursor is left alone: a re-read must never move it backwards.

    `in_turns`: `store` takes a `turn` (`pipeline.Turn`) and says through it which rows it reads
    and writes, so the next page may be stored beside it on a second connection where the
    database allows (`pipeline`); pages still commit with their cursors one by one, in order."""
    connection, run = job.connection, job.run
    keep_cursor = since is None
    since = (connection.cursors.get(resource) if keep_cursor else since) or None

    def store_page(page: Page, turn: pipeline.Turn | None) -> None:
        # The page counts apart from the run and into it in page order, as its cursor moves.
        counted = SyncRun(fetched=len(page.records))
        with transaction.atomic():
            extra = {"turn": turn} if turn else {}
            store(connection=connection, run=counted, records=page.records, now=timezone.now(), **extra)
            if turn:
                turn.follow()
            _add_counts(run, counted)
            if keep_cursor and page.high_water_mark is not None:
                save_cursor(connection, resource, page.high_water_mark, beside=page.remember)
                run.cursor_after = page.high_water_mark
            save_progress(run)

    def stored(size: int) -> None:
        job.beat()
        if on_page:
            on_page(size)

    page_token = None
    with (
        _older_objects_frozen(),
        pipeline.Line() if in_turns and pipeline.available() else pipeline.InPlace() as line,
    ):
        while True:
            page = fetch(since=since, page=page_token)
            for size in line.store(functools.partial(store_page, page), len(page.records)):
                stored(size)
            page_token = page.next_page
            if page_token is None:
                break
        for size in line.close():
            stored(size)


@contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """Leave what was alive before the feed (the code, Django, the worker's state) out of the
    garbage collector's passes while the feed runs. Those objects outlive the feed, yet each full
    pass walks them again, and a large feed sets off many: every page's records live long enough
    to reach the oldest generation. At the end they are the collector's again (`gc.unfreeze`), so
    a cycle among them that died meanwhile is freed later, not lost. Another feed of the process
    ending first unfreezes them early, which only costs this one the saving. A process that froze
    objects itself (say before forking its workers) keeps them as it froze them: then the feed
    leaves the collector alone."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _add_counts(run: SyncRun, page: SyncRun) -> None:
    for name in ("fetched", "created", "updated", "unchanged", "failed"):
        setattr(run, name, getattr(run, name) + getattr(page, name))
    room = MAX_RECORD_ERRORS - len(run.record_errors)
    run.record_errors.extend(page.record_errors[: max(room, 0)])


def save_cursor(connection: Connection, resource: str, value: str, *, beside: dict | None = None) -> None:
    """Set one resource's cursor (and what the connector keeps `beside` it) without losing another
    resource's, written by a concurrent run.

    Called inside the page's transaction: PostgreSQL locks the row with `select_for_update`;
    SQLite ignores that but our connections BEGIN IMMEDIATE (settings), so the transaction already
    holds the database's write lock and the read-modify-write cannot interleave.
    """
    cursors = Connection.objects.select_for_update().values_list("cursors", flat=True).get(pk=connection.pk)
    cursors = {**(cursors or {}), resource: value, **(beside or {})}
    Connection.objects.filter(pk=connection.pk).update(cursors=cursors)
    connection.cursors = cursors
