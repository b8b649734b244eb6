"""Leases: one job of a kind per connection at a time, across every process and machine.

A lease is a `SyncLease` row per (connection, kind). Taking it is one conditional UPDATE whose
row count is the answer (`expires_at` empty or past -> set holder and expiry), so two workers
can never both win, on SQLite (the write lock serialises the statement) as on PostgreSQL (the
row lock does). `select_for_update` is not used: it is a no-op on SQLite. A worker that dies
holding a lease only blocks its kind until `expires_at` passes; long jobs renew as they go.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from connectors.errors import TransientError
from syncing.models import Connection, SyncLease

# How long a lease lasts without renewal; runs renew it between pages (see runs.Job.beat).
LEASE_TTL = timedelta(minutes=10)


def new_holder() -> str:
    """A name unique to this attempt, readable in the admin (host, process, random part)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def take_lease(connection: Connection, kind: str, holder: str, ttl: timedelta = LEASE_TTL) -> bool:
    now = timezone.now()
    # The row may not exist yet; a concurrent creator is harmless, the UPDATE below decides.
    SyncLease.objects.bulk_create([SyncLease(connection=connection, kind=kind)], ignore_conflicts=True)
    taken = (
        SyncLease.objects.filter(connection=connection, kind=kind)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__lte=now))
        .update(holder=holder, expires_at=now + ttl)
    )
    return taken == 1


def renew_lease(connection: Connection, kind: str, holder: str, ttl: timedelta = LEASE_TTL) -> bool:
    """Extend a lease still held by `holder`; False if it expired and someone else took it."""
    renewed = SyncLease.objects.filter(connection=connection, kind=kind, holder=holder).update(
        expires_at=timezone.now() + ttl
    )
    return renewed == 1


def release_lease(connection: Connection, kind: str, holder: str, *, forget: bool = False) -> None:
    """Free the lease if `holder` still has it; `forget` deletes the row (one-off claims)."""
    held = SyncLease.objects.filter(connection=connection, kind=kind, holder=holder)
    if forget:
        held.delete()
    else:
        held.update(holder="", expires_at=None)


@contextmanager
def claim(connection: Connection, name: str, *, ttl: timedelta, wait: float, busy: str) -> Iterator[None]:
    """Hold the one-off claim `name` (e.g. "product:7") while creating something remotely, so
    racing workers create it once: the others wait up to `wait` seconds for it, then raise
    `TransientError(busy)`. The row is deleted on release; a dead holder blocks only for `ttl`."""
    holder = new_holder()
    deadline = time.monotonic() + wait
    while not take_lease(connection, name, holder, ttl=ttl):
        if time.monotonic() > deadline:
            raise TransientError(busy)
        time.sleep(0.1)
    try:
        yield
    finally:
        release_lease(connection, name, holder, forget=True)
