"""API call budgets kept in the database, exact across every process and machine.

Each connection has a budget per window (minute, five minutes, hour, day, month), aligned to UTC
boundaries. The limits are the provider's published ones (`spec.limits`; Lightspeed's is scaled by
register count), with the tenant's plan and the connection's own monthly cap as a month window.

Concurrency rules:

- One `BudgetWindow` row per (connection, window kind, window start). A row is created with
  `bulk_create(ignore_conflicts=True)`, so two processes creating the same window both succeed and
  share one row; the unique constraint decides, not a read.
- Spending a call is one conditional UPDATE per window: `used = used + 1 WHERE used < limit -
  reserve`. The database applies it atomically, so its row count is the answer and no two processes
  can take the same last call. Nothing reads `used` and writes it back, and nothing relies on
  `select_for_update` (SQLite ignores it).
- A call spends in every window, longest first. When a later window turns out full, the windows
  already spent are given back with the mirror UPDATE (`used = used - 1 WHERE used > 0`), so a
  refused call leaves no trace.
- A full minute or five-minute window waits for its reset (bounded by `MAX_WAIT`); a full hour, day
  or month raises `BudgetExhausted(resets_at)` so the job is rescheduled instead of sleeping.
- Priorities share a window but not its last slice: sweeps stop 15% short of the limit, polls 10%
  short, and invoices may use it all (`reserve_for`).
- Linking a connection (the organisation read after consent) spends only the provider's windows,
  never the plan's month, so a merchant whose plan is spent can still reconnect.
- `observe` takes what the provider says is left and can only raise `used` to match; our count is
  never lowered by a header, because another process may have spent calls the header predates.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import F
from django.utils import timezone

from connectors.base import Priority, Window
from connectors.errors import BudgetExhausted
from syncing.models import ApiCall, ApiUsage, BudgetWindow, SyncRun

# Longest a call may wait for a short window to reset: a little over one minute.
MAX_WAIT = 65.0
SHORT_WINDOWS = frozenset({Window.MINUTE, Window.FIVE_MINUTES})
# Longest window first: a spent month fails at once, before any short window makes us wait.
ORDER = (Window.MONTH, Window.DAY, Window.HOUR, Window.FIVE_MINUTES, Window.MINUTE)
# Share of each window kept back from lower priorities.
RESERVE_PERCENT = {Priority.INVOICE: 0, Priority.POLL: 10, Priority.SWEEP: 15}


def window_start(kind: Window, now: datetime) -> datetime:
    now = now.astimezone(UTC).replace(second=0, microsecond=0)
    if kind == Window.MINUTE:
        return now
    if kind == Window.FIVE_MINUTES:
        return now.replace(minute=now.minute - now.minute % 5)
    if kind == Window.HOUR:
        return now.replace(minute=0)
    if kind == Window.DAY:
        return now.replace(hour=0, minute=0)
    return now.replace(day=1, hour=0, minute=0)


def window_end(kind: Window, start: datetime) -> datetime:
    if kind == Window.MONTH:
        return start + timedelta(days=calendar.monthrange(start.year, start.month)[1])
    length = {
        Window.MINUTE: timedelta(minutes=1),
        Window.FIVE_MINUTES: timedelta(minutes=5),
        Window.HOUR: timedelta(hours=1),
        Window.DAY: timedelta(days=1),
    }[kind]
    return start + length


def limits_for(connection, *, plan: bool = True) -> dict[Window, int]:
    """Calls allowed per window for this connection: the provider's limits and, unless `plan` is
    False, the plan's month."""
    limits: dict[Window, int] = {}
    for limit in connection.spec.limits:
        calls = limit.calls
        if connection.provider == "vend" and limit.window == Window.FIVE_MINUTES:
            # 300 x registers + 50 per 5 minutes (https://x-series-api.lightspeedhq.com/docs/rate_limiting).
            calls = 300 * max(connection.registers, 1) + 50
        limits[limit.window] = min(calls, limits.get(limit.window, calls))
    if not plan:
        return limits
    monthly = [connection.tenant.monthly_call_allowance, connection.monthly_call_limit]
    if Window.MONTH in limits:
        monthly.append(limits[Window.MONTH])
    limits[Window.MONTH] = min(value for value in monthly if value is not None)
    return limits


def reserve_for(priority: Priority, limit: int) -> int:
    """Calls at the end of a window that `priority` may not spend."""
    return limit * RESERVE_PERCENT[Priority(priority)] // 100


def spend(
    connection,
    priority: Priority = Priority.POLL,
    *,
    plan: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = timezone.now,
) -> None:
    """Take one call from every window of the connection, or wait / raise `BudgetExhausted`.
    With `plan` False (linking a connection) only the provider's own windows count: a merchant
    whose plan's calls are spent must still be able to reconnect."""
    limits = limits_for(connection, plan=plan)
    waited = 0.0
    while True:
        moment = now()
        windows = [(kind, window_start(kind, moment), limits[kind]) for kind in ORDER if kind in limits]
        # The rows are created only when a window refuses: it may be new rather than full (the
        # first call of each minute), and most calls then cost one UPDATE per window.
        ensured = False
        spent = []
        full = None
        for kind, start, limit in windows:
            updated = _take(connection, kind, start, limit, priority)
            if not updated and not ensured:
                _ensure_rows(connection, windows)
                ensured = True
                updated = _take(connection, kind, start, limit, priority)
            if not updated:
                full = (kind, start)
                break
            spent.append((kind, start))
        if full is None:
            return
        _give_back(connection, spent)
        kind, start = full
        resets_at = window_end(kind, start)
        wait = (resets_at - moment).total_seconds()
        if kind not in SHORT_WINDOWS or waited + wait > MAX_WAIT:
            raise BudgetExhausted(
                f"The {kind.replace('_', ' ')} call budget for {connection.spec.name} is spent "
                f"until {resets_at:%Y-%m-%d %H:%M} UTC.",
                resets_at=resets_at,
                window=kind,
            )
        # Land just after the boundary so the next attempt counts in the new window.
        sleep(wait + 0.01)
        waited += wait


def observe(connection, remaining: dict[Window, int], *, now: Callable[[], datetime] = timezone.now) -> None:
    """Align our count with what the provider says is left: only ever raises `used`."""
    if not remaining:
        return
    limits = limits_for(connection)
    moment = now()
    for kind, left in remaining.items():
        if kind not in limits:
            continue
        start = window_start(kind, moment)
        _ensure_rows(connection, [(kind, start, limits[kind])])
        floor = F("limit") - max(int(left), 0)
        BudgetWindow.objects.filter(connection=connection, kind=kind, starts_at=start, used__lt=floor).update(
            used=floor
        )


def remaining(connection, *, now: Callable[[], datetime] = timezone.now) -> dict[Window, int]:
    """Calls left in each current window, as the dashboard shows them."""
    limits = limits_for(connection)
    moment = now()
    used = {
        (row.kind, row.starts_at): row.used
        for row in BudgetWindow.objects.filter(
            connection=connection, starts_at__in=[window_start(kind, moment) for kind in limits]
        )
    }
    return {
        kind: max(limit - used.get((kind, window_start(kind, moment)), 0), 0)
        for kind, limit in limits.items()
    }


@dataclass(frozen=True)
class MonthPace:
    """How the month's plan is being spent: what pacing (batched invoices, polls) reads."""

    used: int
    limit: int
    starts_at: datetime
    resets_at: datetime
    now: datetime

    @property
    def ahead(self) -> timedelta:
        """How far spending runs ahead of the calendar: the calls spent beyond the month's elapsed
        share, as the time they would last at an even pace (negative when behind)."""
        month = self.resets_at - self.starts_at
        return month * (self.used / max(self.limit, 1)) - (self.now - self.starts_at)

    @property
    def until_reset(self) -> timedelta:
        return self.resets_at - self.now

    def left_for(self, priority: Priority) -> int:
        """Calls `priority` may still spend before the reset."""
        return max(self.limit - reserve_for(priority, self.limit) - self.used, 0)


def month_pace(connection, *, now: datetime | None = None) -> MonthPace:
    """The plan's month as spent so far (one query)."""
    moment = now or timezone.now()
    start = window_start(Window.MONTH, moment)
    used = (
        BudgetWindow.objects.filter(connection=connection, kind=Window.MONTH, starts_at=start)
        .values_list("used", flat=True)
        .first()
    )
    return MonthPace(
        used=used or 0,
        limit=limits_for(connection)[Window.MONTH],
        starts_at=start,
        resets_at=window_end(Window.MONTH, start),
        now=moment,
    )


def record_call(
    connection,
    *,
    run=None,
    method: str,
    path: str,
    status: int | None,
    duration_ms: int,
    attempt: int = 1,
    purpose: str = "",
    error: str = "",
    rate_limit_headers: dict | None = None,
) -> None:
    """Count one request sent: an `ApiCall` row, the hour's `ApiUsage` and the run's `api_calls`.

    The usage counter is an F() update, created on the first call of the hour; a concurrent first
    call is absorbed by `ignore_conflicts` and both increments land.
    """
    at = timezone.now()
    failed = status is None or status >= 400
    ApiCall.objects.create(
        connection=connection,
        run=run,
        at=at,
        method=method,
        path=path[:500],
        status=status,
        duration_ms=duration_ms,
        attempt=attempt,
        purpose=purpose[:30],
        error=error[:500],
        rate_limit_headers=rate_limit_headers or {},
    )
    hour = at.replace(minute=0, second=0, microsecond=0)
    usage = ApiUsage.objects.filter(connection=connection, hour=hour)
    bump = {"calls": F("calls") + 1, "errors": F("errors") + int(failed)}
    if not usage.update(**bump):
        ApiUsage.objects.bulk_create([ApiUsage(connection=connection, hour=hour)], ignore_conflicts=True)
        usage.update(**bump)
    if run is not None:
        SyncRun.objects.filter(pk=run.pk).update(api_calls=F("api_calls") + 1)
        # Keep the caller's copy right too, so a later run.save() does not write an old count.
        run.api_calls += 1


def _take(connection, kind: Window, start: datetime, limit: int, priority: Priority) -> int:
    return BudgetWindow.objects.filter(
        connection=connection,
        kind=kind,
        starts_at=start,
        used__lt=limit - reserve_for(priority, limit),
    ).update(used=F("used") + 1, limit=limit)


def _ensure_rows(connection, windows) -> None:
    rows = [
        BudgetWindow(connection=connection, kind=kind, starts_at=start, limit=limit, used=0)
        for kind, start, limit in windows
    ]
    BudgetWindow.objects.bulk_create(rows, ignore_conflicts=True)


def _give_back(connection, spent) -> None:
    for kind, start in spent:
        BudgetWindow.objects.filter(connection=connection, kind=kind, starts_at=start, used__gt=0).update(
            used=F("used") - 1
        )
