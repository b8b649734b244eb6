"""Sync runs: what ran, when, and what it found."""

from __future__ import annotations

from ninja import Query, Router

from syncing.api.errors import ERRORS
from syncing.api.pagination import PageParams, paginate
from syncing.api.schemas import SyncFilters, SyncRunOut, SyncRunPage
from syncing.api.scoping import one
from syncing.models import SyncRun

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
