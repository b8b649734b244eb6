"""Sync runs: what ran, when, and what it found."""

from __future__ import annotations

from datetime import UTC

from ninja import Query, Router, Status

from syncing.api.errors import ERRORS, ApiError, field_error
from syncing.api.pagination import PageParams, paginate
from syncing.api.schemas import BackfillRequest, SyncFilters, SyncRunOut, SyncRunPage
from syncing.api.scoping import connection_of, one
from syncing.models import SyncRun
from syncing.services.backfill import CannotBackfill, request_backfill

router = Router(tags=["syncs"])


def runs_of(request):
    return SyncRun.objects.filter(connection__tenant=request.auth.tenant)


@router.get("", response={200: SyncRunPage, **ERRORS})
def list_syncs(request, filters: Query[SyncFilters], page: Query[PageParams]):
    """Newest first."""
    runs = runs_of(request)
    for name, value in filters.dict(exclude_none=True).items():
        runs = runs.filter(**{"connection_id" if name == "connection" else name: value})
    return paginate(runs, page, newest_first=True)


@router.get("/{int:run_id}", response={200: SyncRunOut, **ERRORS})
def get_sync(request, run_id: int):
    return one(runs_of(request), run_id)


@router.post("", response={202: SyncRunOut, **ERRORS})
def request_sync_for_range(request, payload: BackfillRequest):
    """A backfill of one connection: products and customers changed since `start` are read again
    (the connection's change cursors stay where they are), and the company's sales sold from
    `start` to `end` that never reached the connection are queued for it. Answers with the
    backfill's run, which carries the range; follow it with GET /syncs/{id}."""
    connection = connection_of(request, payload.connection)
    start, end = (_aware(moment) for moment in (payload.start, payload.end))
    if end is not None and start >= end:
        raise field_error(422, "end", "The end must be after the start.")
    try:
        run = request_backfill(connection=connection, start=start, end=end, trigger=SyncRun.Trigger.API)
    except CannotBackfill as exc:
        raise ApiError(409, str(exc)) from None
    return Status(202, run)


def _aware(moment):
    """A time sent without a zone is read as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
