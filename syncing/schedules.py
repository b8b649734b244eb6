"""Every periodic job in one list, and the settings that decide when a connection is due.

Schedules only wake the dispatcher; each connection's own `next_poll_at` / `next_sweep_at` decides
whether it is due, so per-connection intervals need no schedule of their own.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule

from syncing.models import Connection
from syncing.selectors import MAX_POLL_INTERVAL

SCHEDULES = [
    {"name": "dispatch-due-syncs", "func": "syncing.tasks.dispatch_due_syncs", "minutes": 1},
    {"name": "dispatch-due-outbox", "func": "invoices.tasks.dispatch_due_outbox", "minutes": 1},
    {"name": "mark-stalled-runs", "func": "syncing.tasks.mark_stalled_runs_task", "minutes": 5},
    {"name": "queue-due-webhook-deliveries", "func": "syncing.tasks.queue_due_deliveries_task", "minutes": 1},
    {"name": "send-outbox-digests", "func": "invoices.tasks.send_outbox_digests_task", "minutes": 24 * 60},
]

MIN_POLL_INTERVAL = timedelta(minutes=5)
MIN_SWEEP_INTERVAL = timedelta(minutes=30)
MAX_SWEEP_SIZE = 1000


def ensure_schedules() -> list[str]:
    """Create or update each schedule by name (idempotent); returns the names written."""
    for job in SCHEDULES:
        schedule, created = Schedule.objects.get_or_create(
            name=job["name"],
            defaults={
                "func": job["func"],
                "schedule_type": Schedule.MINUTES,
                "minutes": job["minutes"],
                "repeats": -1,
                "next_run": timezone.now(),
            },
        )
        if not created and (schedule.func, schedule.minutes, schedule.schedule_type, schedule.repeats) != (
            job["func"],
            job["minutes"],
            Schedule.MINUTES,
            -1,
        ):
            Schedule.objects.filter(pk=schedule.pk).update(
                func=job["func"], minutes=job["minutes"], schedule_type=Schedule.MINUTES, repeats=-1
            )
    return [job["name"] for job in SCHEDULES]


def update_sync_settings(
    connection: Connection,
    *,
    poll_interval: timedelta | None = None,
    sweep_interval: timedelta | None = None,
    sweep_size: int | None = None,
) -> Connection:
    """Change how often a connection polls and sweeps, clamped to what the product promises
    (a remote change shows within two hours) and what budgets bear. The next poll is brought
    forward when the new interval makes it due sooner."""
    changes = {}
    now = timezone.now()
    if poll_interval is not None:
        changes["poll_interval"] = min(max(poll_interval, MIN_POLL_INTERVAL), MAX_POLL_INTERVAL)
        if connection.next_poll_at and connection.next_poll_at > now + changes["poll_interval"]:
            changes["next_poll_at"] = now + changes["poll_interval"]
    if sweep_interval is not None:
        changes["sweep_interval"] = max(sweep_interval, MIN_SWEEP_INTERVAL)
    if sweep_size is not None:
        changes["sweep_size"] = min(max(sweep_size, 1), MAX_SWEEP_SIZE)
    if changes:
        Connection.objects.filter(pk=connection.pk).update(**changes)
        for name, value in changes.items():
            setattr(connection, name, value)
    return connection
