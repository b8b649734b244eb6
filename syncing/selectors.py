"""Reads the sync engine and the dashboard share: what is due, what to sweep, how fresh data is."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median

from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from connectors.base import Capability, Category, Priority, Window
from connectors.budget import MonthPace, limits_for, month_pace, window_start
from connectors.registry import all_providers
from invoices.models import OutboxEntry, SaleLine
from syncing.models import (
    ApiUsage,
    BudgetWindow,
    Connection,
    Customer,
    CustomerLink,
    Product,
    ProductLink,
    SyncRun,
)

# A change made remotely must show locally within this long, whatever a connection asks for.
MAX_POLL_INTERVAL = timedelta(hours=2)
# What a poll pulls, where the provider can (`syncing.tasks` queues one pull for each).
POLLED_CAPABILITIES = (Capability.PULL_PRODUCTS, Capability.PULL_STOCK, Capability.PULL_CUSTOMERS)
# Until a connection has run a few times, assume a poll takes this long.
DEFAULT_RUN_TIME = timedelta(minutes=1)
# Polls may spend at most this share of the calls left to them while the month is too young to
# show what the other jobs (posting, linking, sweeps) spend: they need the rest. Also the share of a
# day's calls `freshness_promise` counts on where the provider limits a day.
POLL_SHARE_OF_BUDGET = 0.5
# How long the other jobs must have been spending this month before their pace is projected.
PROJECTION_AFTER = timedelta(days=1)
# What a poll pulls: the runs whose calls are the polls' own.
POLLED_KINDS = (SyncRun.Kind.PRODUCTS, SyncRun.Kind.STOCK, SyncRun.Kind.CUSTOMERS)
_SUCCESS = (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL)
_WINDOW_LENGTH = {
    Window.MINUTE: timedelta(minutes=1),
    Window.FIVE_MINUTES: timedelta(minutes=5),
    Window.HOUR: timedelta(hours=1),
    Window.DAY: timedelta(days=1),
    Window.MONTH: timedelta(days=31),
}


def _providers_that(*capabilities: Capability) -> list[str]:
    return [key for key, spec in all_providers().items() if any(spec.can(c) for c in capabilities)]


def catalogue_source_id(tenant_id: int) -> int | None:
    """The connection whose product details the tenant's catalogue follows: with several product
    sources (say Lightspeed and Xero), the inventory system wins, then the oldest connection; the
    others only link. Without this, each pull would overwrite the other's details."""
    sources = [
        connection
        for connection in Connection.objects.filter(tenant_id=tenant_id, status=Connection.Status.ACTIVE)
        .only("pk", "provider")
        .order_by("pk")
        if connection.spec.can(Capability.PULL_PRODUCTS)
    ]
    sources.sort(key=lambda connection: connection.spec.category != Category.INVENTORY)
    return sources[0].pk if sources else None


def connections_due_for_poll(now: datetime) -> QuerySet[Connection]:
    """Active connections whose next poll time has come; a newly active one (never polled) at once."""
    return Connection.objects.filter(
        Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now),
        status=Connection.Status.ACTIVE,
        provider__in=_providers_that(Capability.PULL_PRODUCTS, Capability.PULL_STOCK),
    ).order_by("next_poll_at", "pk")


def connections_due_for_sweep(now: datetime) -> QuerySet[Connection]:
    return Connection.objects.filter(
        Q(next_sweep_at__isnull=True) | Q(next_sweep_at__lte=now),
        status=Connection.Status.ACTIVE,
        provider__in=_providers_that(Capability.FIND_PRODUCTS_BY_IDS),
    ).order_by("next_sweep_at", "pk")


def links_oldest_confirmed(connection: Connection, limit: int) -> QuerySet[ProductLink]:
    """The live links whose remote product was confirmed longest ago: what a sweep re-checks."""
    return (
        ProductLink.objects.filter(connection=connection, remote_deleted=False)
        .select_related("product")
        .order_by("last_confirmed_at", "pk")[:limit]
    )


def last_runs(connection: Connection, *, kind: str | None = None, limit: int = 10) -> QuerySet[SyncRun]:
    runs = SyncRun.objects.filter(connection=connection)
    if kind:
        runs = runs.filter(kind=kind)
    return runs.order_by("-started_at", "-pk")[:limit]


def feed_seen_until(connection: Connection) -> datetime | None:
    """Start of the last products pull that completed: every remote change made before it
    should have come through the change feed."""
    run = (
        SyncRun.objects.filter(connection=connection, kind=SyncRun.Kind.PRODUCTS, status__in=_SUCCESS)
        .order_by("-started_at")
        .only("started_at")
        .first()
    )
    return run.started_at if run else None


@dataclass(frozen=True)
class PollBudget:
    """What the month's plan leaves a connection's polls until it resets (`poll_budget`)."""

    pace: MonthPace
    # Calls one poll costs, and calls polls may spend until the reset.
    per_poll: float
    affordable: float

    def interval(self, configured: timedelta) -> timedelta:
        """See `effective_poll_interval`."""
        interval = min(configured, MAX_POLL_INTERVAL)
        if self.per_poll * (self.pace.until_reset / interval) <= self.affordable:
            return interval
        if self.affordable < self.per_poll:
            return MAX_POLL_INTERVAL
        return min(timedelta(seconds=round(self.paid_interval.total_seconds())), MAX_POLL_INTERVAL)

    @property
    def paid_interval(self) -> timedelta:
        """The interval the calls left to polls pay for, spread evenly until the reset (uncapped:
        past two hours polls run at two hours until they meet the reserve, then wait for the
        reset, so on average changes wait this long)."""
        if self.affordable < self.per_poll:
            return self.pace.until_reset
        return self.pace.until_reset * self.per_poll / self.affordable

    @property
    def shortfall(self) -> float:
        """See `poll_shortfall`."""
        needed = self.per_poll * (self.pace.until_reset / MAX_POLL_INTERVAL)
        return needed / self.affordable if self.affordable > 0 else math.inf


def poll_budget(connection: Connection, *, now: datetime | None = None) -> PollBudget:
    """Read once what the pacing of polls (and of batched invoices) needs: three queries."""
    pace = month_pace(connection, now=now)
    return PollBudget(
        pace=pace, per_poll=_calls_per_poll(connection), affordable=_calls_left_for_polls(connection, pace)
    )


def effective_poll_interval(connection: Connection, *, now: datetime | None = None) -> timedelta:
    """The time to the connection's next poll: its poll interval, never longer than the two hours
    the product promises. When the month's plan cannot pay for polls that often until it resets,
    the interval stretches, evenly over the time left, to what it can pay for (up to two hours;
    beyond that invoices hold back, see `poll_shortfall`).

    Polls may spend the calls left to them (`left_for(Priority.POLL)`) less what the other jobs
    will need until the reset, projected from what they spent so far this month at the same pace;
    so polls and the rest together reach the poll reserve at the reset, not before. Within a day of
    the month's (or the connection's) first run, too little to project from, polls take
    `POLL_SHARE_OF_BUDGET` of what is left."""
    return poll_budget(connection, now=now).interval(connection.poll_interval)


def poll_shortfall(connection: Connection, *, now: datetime | None = None) -> float:
    """How far the month's plan falls short of paying for a poll every two hours (the product's
    promise) until it resets: the calls those polls need over the calls left to them once the
    other jobs' projected need is met (`_calls_left_for_polls`). At 1 or less the plan pays; above
    it, invoices wait longer for fuller batches (`invoices.services.pacing.batch_wait`), so posting
    and linking spend less and the promise keeps its calls."""
    return poll_budget(connection, now=now).shortfall


def _calls_left_for_polls(connection: Connection, pace: MonthPace) -> float:
    """Calls polls may spend until the reset: what is left to them less the other jobs' projected
    need. The polls' own calls are their scheduled pulls' this month, the rest of the month's count
    the other jobs'; their pace runs from the connection's first run this month (its import, if it
    was linked during the month), so a month that began without it is not taken for a quiet one.
    One aggregate."""
    left = pace.left_for(Priority.POLL)
    month = SyncRun.objects.filter(
        connection=connection, started_at__gte=pace.starts_at, started_at__lt=pace.now
    ).aggregate(
        polled=Sum("api_calls", filter=Q(kind__in=POLLED_KINDS, trigger=SyncRun.Trigger.SCHEDULE)),
        since=Min("started_at"),
    )
    if month["since"] is None or pace.now - month["since"] < PROJECTION_AFTER:
        return left * POLL_SHARE_OF_BUDGET
    others = max(pace.used - (month["polled"] or 0), 0)
    return max(left - others * (pace.until_reset / (pace.now - month["since"])), 0)


def effective_sweep_interval(connection: Connection, *, now: datetime | None = None) -> timedelta:
    """The time to the connection's next sweep: when the plan runs short, sweeps wait longer in the
    same proportion as polls, since polls come first."""
    configured = min(connection.poll_interval, MAX_POLL_INTERVAL)
    return connection.sweep_interval * (effective_poll_interval(connection, now=now) / configured)


def _calls_per_poll(connection: Connection) -> float:
    """Calls one poll costs: the median of the connection's recent pulls (1 until it has some),
    for each resource it pulls."""
    recent = (
        SyncRun.objects.filter(
            connection=connection,
            kind__in=POLLED_KINDS,
            status__in=_SUCCESS,
        )
        .order_by("-started_at")
        .values_list("api_calls", flat=True)[:20]
    )
    calls = [max(calls, 1) for calls in recent]
    resources = sum(connection.spec.can(capability) for capability in POLLED_CAPABILITIES)
    return (median(calls) if calls else 1) * max(resources, 1)


def _recent_polls(connection: Connection) -> list[SyncRun]:
    return list(
        SyncRun.objects.filter(
            connection=connection,
            kind__in=[SyncRun.Kind.PRODUCTS, SyncRun.Kind.STOCK],
            status__in=_SUCCESS,
            finished_at__isnull=False,
        ).order_by("-started_at")[:20]
    )


def freshness_promise(
    connection: Connection, *, now: datetime | None = None, budget: PollBudget | None = None
) -> timedelta:
    """How old a remote change can be before it shows here: one poll interval plus the time a poll
    takes. The interval is the one `effective_poll_interval` paces, or longer where the limits
    cannot pay for it: the month's plan (`PollBudget.paid_interval`), or a shorter window of the
    provider's (a day's calls, of which polls get `POLL_SHARE_OF_BUDGET`)."""
    recent = _recent_polls(connection)
    run_time = median([run.duration for run in recent]) if recent else DEFAULT_RUN_TIME
    budget = budget or poll_budget(connection, now=now)
    interval = max(budget.interval(connection.poll_interval), budget.paid_interval)
    # The month is paced above; the provider's shorter windows are counted as a day's worth.
    per_day = [
        calls * (timedelta(days=1) / _WINDOW_LENGTH[window])
        for window, calls in limits_for(connection).items()
        if window != Window.MONTH
    ]
    if per_day:
        calls_per_run = median([max(run.api_calls, 1) for run in recent]) if recent else 1
        feeds = sum(connection.spec.can(c) for c in (Capability.PULL_PRODUCTS, Capability.PULL_STOCK))
        affordable_polls = max(min(per_day) * POLL_SHARE_OF_BUDGET / (calls_per_run * max(feeds, 1)), 1)
        interval = max(interval, timedelta(days=1) / affordable_polls)
    return interval + run_time


def observed_lags(connection: Connection, *, limit: int = 10) -> list[timedelta]:
    """For the last completed products pulls, newest first: the worst lag a remote change saw, i.e.
    from the start of the previous completed pull (just after which the change was made) to the end
    of this one (when it became visible)."""
    runs = list(
        SyncRun.objects.filter(
            connection=connection,
            kind=SyncRun.Kind.PRODUCTS,
            status__in=_SUCCESS,
            finished_at__isnull=False,
        ).order_by("-started_at")[: limit + 1]
    )
    return [newer.finished_at - older.started_at for newer, older in pairwise(runs)]


def current_staleness(connection: Connection, now: datetime | None = None) -> timedelta | None:
    """How old local product data may be right now (None: never pulled)."""
    seen = feed_seen_until(connection)
    return (now or timezone.now()) - seen if seen else None


# Dashboard reads: each takes every connection on the page at once, so a page costs the same
# number of queries however many connections, runs or entries it shows.


def dashboard_connections(tenant) -> list[Connection]:
    """The tenant's connections the overview shows (disconnected ones are history only)."""
    return list(
        Connection.objects.filter(tenant=tenant)
        .exclude(status=Connection.Status.DISABLED)
        .select_related("tenant")
        .order_by("pk")
    )


def latest_runs_by_kind(
    connections: list[Connection], kinds: list[str] | None = None
) -> dict[tuple[int, str], dict[str, SyncRun]]:
    """(connection id, kind) -> {"latest": run, "succeeded": run}: two queries in all, whatever
    the history. The first finds each run's id with a subquery per kind that reads the run_latest
    index (connection, kind, -started_at) from its top, so years of runs cost nothing; the second
    loads those runs."""
    kinds = kinds or list(SyncRun.Kind.values)
    annotations = {}
    for kind in kinds:
        runs = SyncRun.objects.filter(connection=OuterRef("pk"), kind=kind).order_by("-started_at", "-pk")
        annotations[f"latest_{kind}"] = Subquery(runs.values("pk")[:1])
        annotations[f"succeeded_{kind}"] = Subquery(runs.filter(status__in=_SUCCESS).values("pk")[:1])
    wanted: dict[int, list[str]] = {}
    for row in Connection.objects.filter(pk__in=[c.pk for c in connections]).values("pk", **annotations):
        for name, run_id in row.items():
            if name != "pk" and run_id is not None:
                wanted.setdefault(run_id, []).append(name.partition("_")[0])
    found: dict[tuple[int, str], dict[str, SyncRun]] = {}
    for run in SyncRun.objects.filter(pk__in=list(wanted)):
        for label in wanted[run.pk]:
            found.setdefault((run.connection_id, run.kind), {})[label] = run
    return found


def outbox_counts(connections: list[Connection]) -> dict[int, dict[str, int]]:
    """Connection id -> entries waiting to post, needing attention and given up: one query."""
    State = OutboxEntry.State
    waiting = [State.PENDING, State.IN_FLIGHT, State.RETRYING, State.RATE_LIMITED]
    rows = (
        OutboxEntry.objects.filter(connection__in=connections)
        .values("connection_id")
        .annotate(
            waiting=Count("pk", filter=Q(state__in=waiting)),
            needs_attention=Count("pk", filter=Q(state=State.NEEDS_ATTENTION)),
            given_up=Count("pk", filter=Q(state=State.GIVEN_UP)),
        )
    )
    return {row.pop("connection_id"): row for row in rows}


def calls_used(connections: list[Connection], *, now: datetime | None = None) -> dict[int, dict[str, tuple]]:
    """Connection id -> {"day": (used, limit), "month": (used, limit)} for the current windows,
    from the budget rows `connectors.budget.spend` keeps: one query for every connection."""
    now = now or timezone.now()
    starts = {kind: window_start(kind, now) for kind in (Window.DAY, Window.MONTH)}
    used = {
        (row.connection_id, row.kind): row.used
        for row in BudgetWindow.objects.filter(
            connection__in=connections, kind__in=list(starts), starts_at__in=list(starts.values())
        )
        if row.starts_at == starts[row.kind]
    }
    result = {}
    for connection in connections:
        limits = limits_for(connection)
        result[connection.pk] = {
            kind.value: (used.get((connection.pk, kind.value), 0), limits.get(kind))
            for kind in (Window.DAY, Window.MONTH)
        }
    return result


def calls_per_day(
    connections: list[Connection], *, days: int = 30, now: datetime | None = None
) -> dict[int, list[tuple]]:
    """Connection id -> [(date, calls)] for the last `days` days, oldest first, zeros filled in:
    one aggregate query over the hourly usage counters."""
    today = timezone.localdate(now or timezone.now())
    first = today - timedelta(days=days - 1)
    rows = (
        ApiUsage.objects.filter(connection__in=connections, hour__date__gte=first)
        .annotate(day=TruncDate("hour"))
        .values("connection_id", "day")
        .annotate(calls=Sum("calls"))
    )
    totals = {(row["connection_id"], row["day"]): row["calls"] for row in rows}
    dates = [first + timedelta(days=n) for n in range(days)]
    return {c.pk: [(day, totals.get((c.pk, day), 0)) for day in dates] for c in connections}


def products_for_dashboard(tenant, *, search: str = "") -> QuerySet:
    """The tenant's products matching a SKU or name fragment, with their links prefetched."""
    products = Product.objects.filter(tenant=tenant)
    if search:
        products = products.filter(Q(sku__icontains=search) | Q(name__icontains=search))
    links = ProductLink.objects.filter(connection__tenant=tenant).only(
        "pk", "product_id", "connection_id", "remote_id", "remote_deleted", "last_confirmed_at"
    )
    return products.prefetch_related(Prefetch("links", queryset=links)).order_by("sku", "pk")


def outbox_for_dashboard(tenant, *, state: str = "") -> QuerySet[OutboxEntry]:
    """The tenant's outbox entries (disconnected connections' too), newest first, optionally in
    one state. The connection ids are read first and newest is by id, not created_at (set on
    insert, so the same order): the primary key's index then serves the page directly instead of
    a join and a sort of every entry the tenant ever had."""
    connection_ids = list(Connection.objects.filter(tenant=tenant).values_list("pk", flat=True))
    entries = OutboxEntry.objects.filter(connection_id__in=connection_ids)
    if state:
        entries = entries.filter(state=state)
    return entries.select_related("sale", "depends_on__sale", "connection").order_by("-pk")


def customers_for_dashboard(tenant, *, search: str = "", linked: str = "") -> QuerySet:
    """The tenant's customers matching a name, email or account number fragment, with their links
    (and how each was made) prefetched. `linked="no"` keeps those no connection has a live link
    for, `linked="yes"` those with at least one."""
    customers = Customer.objects.filter(tenant=tenant)
    if search:
        customers = customers.filter(
            Q(name__icontains=search) | Q(email__icontains=search) | Q(account_number__icontains=search)
        )
    if linked in ("yes", "no"):
        live = CustomerLink.objects.filter(customer=OuterRef("pk"), remote_deleted=False)
        customers = customers.filter(Exists(live) if linked == "yes" else ~Exists(live))
    links = CustomerLink.objects.filter(connection__tenant=tenant).only(
        "pk", "customer_id", "connection_id", "remote_id", "method", "remote_deleted", "last_confirmed_at"
    )
    return customers.prefetch_related(Prefetch("links", queryset=links)).order_by("name", "pk")


def local_tax_codes(tenant, *, limit: int = 20) -> list[str]:
    """The tax codes the tenant's products and sales carry (the first `limit` by code): the rows
    of the tax-rate mapping."""
    products = Product.objects.filter(tenant=tenant).exclude(tax_code="")
    sales = SaleLine.objects.filter(sale__tenant=tenant).exclude(tax_code="")
    codes = set()
    for rows in (products, sales):
        codes |= set(rows.values_list("tax_code", flat=True).distinct().order_by("tax_code")[:limit])
    return sorted(codes)[:limit]
