"""The merchant dashboard: overview, products, outbox and sync history. Thin views: resolve the
tenant, read through selectors or call one service, render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from invoices.models import OutboxEntry
from invoices.services.posting import OutboxEntryLocked, cancel_outbox_entry, retry_outbox_entry
from syncing import selectors
from syncing.freshness import connection_freshness
from syncing.models import Connection, Product, SyncRun
from syncing.services.products import sync_product
from syncing.texts import sync_flow_texts
from syncing.views.auth import get_object_for_tenant, tenant_for, tenant_required

PAGE_SIZE = 50
CHART_WIDTH, CHART_HEIGHT = 300, 60
RESOURCES = (SyncRun.Kind.PRODUCTS, SyncRun.Kind.STOCK, SyncRun.Kind.CUSTOMERS, SyncRun.Kind.INVOICES)


def _query(**params: str) -> str:
    """The filters to keep on the pagination links, ending with "&" when there are any."""
    kept = urlencode({name: value for name, value in params.items() if value})
    return f"{kept}&" if kept else ""


def _chart(series: list[tuple]) -> dict:
    """Bars of an inline SVG for (date, calls) pairs, scaled to the busiest day."""
    peak = max((calls for _, calls in series), default=0) or 1
    width = CHART_WIDTH / max(len(series), 1)
    bars = []
    for n, (day, calls) in enumerate(series):
        height = round(calls / peak * CHART_HEIGHT, 1)
        bars.append(
            {"x": round(n * width, 1), "y": CHART_HEIGHT - height, "w": round(width - 1, 1), "h": height}
            | {"title": f"{day:%d %b}: {calls} calls"}
        )
    return {"bars": bars, "peak": peak if series and peak > 0 else 0, "w": CHART_WIDTH, "h": CHART_HEIGHT}


def _outbox_row(counts: dict | None) -> dict:
    counts = counts or {"waiting": 0, "needs_attention": 0, "given_up": 0}
    return counts | {"failing": counts["needs_attention"] + counts["given_up"]}


def _attention(rows: list[dict]) -> dict | None:
    """The one thing to look at first: reconnect > given-up sales > sales needing attention >
    a failing sync."""
    for row in rows:
        if row["connection"].status == Connection.Status.NEEDS_REAUTH:
            return {"kind": "reauth", "connection": row["connection"], "texts": row["texts"]}
    for key in ("given_up", "needs_attention"):
        for row in rows:
            if row["outbox"].get(key):
                return {"kind": key, "connection": row["connection"], "count": row["outbox"][key]}
    for row in rows:
        for resource in row["resources"]:
            latest = resource["latest"]
            if latest and latest.status == SyncRun.Status.FAILED:
                return {"kind": "failing_run", "connection": row["connection"], "run": latest}
    return None


def _usage_row(usage: dict[str, tuple], per_day: list[tuple]) -> dict[str, tuple]:
    """Calls today and this month, each with its limit. A provider without a daily limit keeps no
    day's budget to count in, so its calls today are the hourly counters' (the chart's last bar)."""
    if usage["day"][1] is None:
        return {**usage, "day": (per_day[-1][1], None)}
    return usage


@tenant_required
def overview(request: HttpRequest) -> HttpResponse:
    tenant = tenant_for(request)
    connections = selectors.dashboard_connections(tenant)
    runs = selectors.latest_runs_by_kind(connections, kinds=[kind.value for kind in RESOURCES])
    outbox = selectors.outbox_counts(connections)
    usage = selectors.calls_used(connections)
    per_day = selectors.calls_per_day(connections)
    now = timezone.now()
    rows = [
        {
            "connection": connection,
            "resources": [
                {"kind": kind.label, **runs.get((connection.pk, kind.value), {"latest": None})}
                for kind in RESOURCES
            ],
            "outbox": _outbox_row(outbox.get(connection.pk)),
            "usage": _usage_row(usage[connection.pk], per_day[connection.pk]),
            "chart": _chart(per_day[connection.pk]),
            # Only an active connection keeps a promise: the others wait for the merchant.
            "freshness": connection_freshness(connection, now=now) if connection.is_active else None,
            "texts": sync_flow_texts(tenant, provider=connection.spec.name),
        }
        for connection in connections
    ]
    return render(request, "dashboard/overview.html", {"rows": rows, "attention": _attention(rows)})


@tenant_required
def products(request: HttpRequest) -> HttpResponse:
    tenant = tenant_for(request)
    search = request.GET.get("q", "").strip()
    page = Paginator(selectors.products_for_dashboard(tenant, search=search), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    connections = selectors.dashboard_connections(tenant)
    rows = []
    for product in page:
        links = {link.connection_id: link for link in product.links.all()}
        rows.append({"product": product, "links": [links.get(c.pk) for c in connections]})
    context = {"page": page, "rows": rows, "connections": connections, "search": search}
    context |= {"query": _query(q=search), "texts": sync_flow_texts(tenant)}
    return render(request, "dashboard/products.html", context)


@tenant_required
def customers(request: HttpRequest) -> HttpResponse:
    tenant = tenant_for(request)
    search = request.GET.get("q", "").strip()
    linked = request.GET.get("linked", "")
    found = selectors.customers_for_dashboard(tenant, search=search, linked=linked)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    connections = selectors.dashboard_connections(tenant)
    rows = []
    for customer in page:
        links = {link.connection_id: link for link in customer.links.all()}
        rows.append({"customer": customer, "links": [links.get(c.pk) for c in connections]})
    context = {
        "page": page,
        "rows": rows,
        "connections": connections,
        "search": search,
        "linked": linked,
        "query": _query(q=search, linked=linked),
    }
    return render(request, "dashboard/customers.html", context)


@require_POST
@tenant_required
def sync_product_now(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_for_tenant(request, Product, pk)
    try:
        run = sync_product(product=product, trigger=SyncRun.Trigger.MANUAL)
    except Connection.DoesNotExist:
        result = {"ok": False, "message": "No active connection provides products yet."}
        status = 409
    else:
        ok = run.status == SyncRun.Status.SUCCEEDED
        message = f"{run.get_status_display()}." + (f" {run.error_summary}" if run.error_summary else "")
        result = {"ok": ok, "message": message, "run": run.summary()}
        status = 200
    if request.headers.get("Accept", "").startswith("application/json"):
        html = render_to_string("dashboard/_sync_result.html", result, request=request)
        return JsonResponse(result | {"html": html}, status=status)
    (messages.success if result["ok"] else messages.error)(request, f"{product.sku}: {result['message']}")
    return redirect("syncing:products")


@tenant_required
def outbox(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    state = state if state in OutboxEntry.State.values else ""
    entries = selectors.outbox_for_dashboard(tenant_for(request), state=state)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "state": state,
        "states": OutboxEntry.State.choices,
        "query": _query(state=state),
    }
    return render(request, "dashboard/outbox.html", context)


@tenant_required
def outbox_entry(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_for_tenant(
        request, OutboxEntry, pk, queryset=OutboxEntry.objects.select_related("sale", "connection")
    )
    attempts = entry.attempt_log.order_by("-at", "-pk")[:50]
    texts = sync_flow_texts(tenant_for(request), provider=entry.connection.spec.name)
    context = {"entry": entry, "attempts": attempts, "texts": texts}
    return render(request, "dashboard/outbox_entry.html", context)


def _act_on_entry(request: HttpRequest, pk: int, action, done: str) -> HttpResponse:
    entry = get_object_for_tenant(
        request, OutboxEntry, pk, queryset=OutboxEntry.objects.select_related("sale")
    )
    try:
        action(entry)
    except OutboxEntryLocked as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{entry.label} {done}.")
    return redirect("syncing:outbox_entry", pk=entry.pk)


@require_POST
@tenant_required
def retry_entry(request: HttpRequest, pk: int) -> HttpResponse:
    return _act_on_entry(request, pk, retry_outbox_entry, "will be posted again at the next run")


@require_POST
@tenant_required
def cancel_entry(request: HttpRequest, pk: int) -> HttpResponse:
    return _act_on_entry(request, pk, cancel_outbox_entry, "will not be posted")


@tenant_required
def history(request: HttpRequest) -> HttpResponse:
    runs = (
        SyncRun.objects.filter(connection__tenant=tenant_for(request))
        .select_related("connection")
        .order_by("-started_at", "-pk")
    )
    kind, status = request.GET.get("kind", ""), request.GET.get("status", "")
    if kind in SyncRun.Kind.values:
        runs = runs.filter(kind=kind)
    if status in SyncRun.Status.values:
        runs = runs.filter(status=status)
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "kind": kind,
        "status": status,
        "kinds": SyncRun.Kind.choices,
        "statuses": SyncRun.Status.choices,
        "query": _query(kind=kind, status=status),
    }
    return render(request, "dashboard/history.html", context)
