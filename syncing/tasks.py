"""django-q2 entry points: load by id, call one service, return a summary.

Tasks never raise for provider trouble: services record it on the run (failed, deferred, skipped)
and django-q2 only sees a finished task. django-q2 must not retry our work (Q_CLUSTER
max_attempts=1): a retried pull would spend calls twice.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from connectors.base import Capability
from syncing import selectors
from syncing.models import Connection, EventDelivery, Product, SyncRun, WebhookDelivery
from syncing.services import backfill, customers, outbound, products, runs, stock, webhooks

# What a due poll pulls, in order, where the provider can.
POLLED_RESOURCES = {
    "products": (Capability.PULL_PRODUCTS, "syncing.tasks.pull_changed_products_task"),
    "stock": (Capability.PULL_STOCK, "syncing.tasks.pull_changed_stock_task"),
    "customers": (Capability.PULL_CUSTOMERS, "syncing.tasks.pull_changed_customers_task"),
}


def dispatch_due_syncs() -> dict:
    """Queue a pull for every connection whose poll is due and a sweep for every one whose sweep is.

    Each connection is claimed by moving its next time forward with a conditional UPDATE that
    matches the value just read, so two dispatchers running at once queue it once."""
    now = timezone.now()
    queued = dict.fromkeys([*POLLED_RESOURCES, "sweep"], 0)
    for connection in selectors.connections_due_for_poll(now):
        if not _claim(
            connection, "next_poll_at", now + selectors.effective_poll_interval(connection, now=now)
        ):
            continue
        for resource, (capability, task) in POLLED_RESOURCES.items():
            if connection.spec.can(capability):
                async_task(task, connection.pk)
                queued[resource] += 1
    for connection in selectors.connections_due_for_sweep(now):
        if not _claim(
            connection, "next_sweep_at", now + selectors.effective_sweep_interval(connection, now=now)
        ):
            continue
        async_task("syncing.tasks.sweep_stale_products_task", connection.pk)
        queued["sweep"] += 1
    return queued


def _claim(connection: Connection, field: str, until) -> bool:
    seen = getattr(connection, field)
    unchanged = Q(**{f"{field}__isnull": True}) if seen is None else Q(**{field: seen})
    return bool(Connection.objects.filter(unchanged, pk=connection.pk).update(**{field: until}))


def pull_changed_products_task(connection_id: int, trigger: str = SyncRun.Trigger.SCHEDULE) -> dict:
    connection = Connection.objects.select_related("tenant").get(pk=connection_id)
    return products.pull_changed_products(connection=connection, trigger=trigger).summary()


def pull_changed_stock_task(connection_id: int, trigger: str = SyncRun.Trigger.SCHEDULE) -> dict:
    connection = Connection.objects.select_related("tenant").get(pk=connection_id)
    return stock.pull_changed_stock(connection=connection, trigger=trigger).summary()


def pull_changed_customers_task(connection_id: int, trigger: str = SyncRun.Trigger.SCHEDULE) -> dict:
    connection = Connection.objects.select_related("tenant").get(pk=connection_id)
    return customers.pull_changed_customers(connection=connection, trigger=trigger).summary()


def sweep_stale_products_task(connection_id: int, trigger: str = SyncRun.Trigger.SCHEDULE) -> dict:
    connection = Connection.objects.select_related("tenant").get(pk=connection_id)
    return products.sweep_stale_products(connection=connection, trigger=trigger).summary()


def sync_product_task(product_id: int, connection_id: int | None = None) -> dict:
    product = Product.objects.select_related("tenant").get(pk=product_id)
    connection = Connection.objects.get(pk=connection_id) if connection_id else None
    return products.sync_product(connection=connection, product=product).summary()


def process_webhook_task(delivery_id: int) -> dict:
    delivery = WebhookDelivery.objects.select_related("connection__tenant").get(pk=delivery_id)
    delivery = webhooks.process_webhook(delivery)
    return {"delivery": delivery.pk, "run": delivery.run_id, "outcome": delivery.outcome}


def mark_stalled_runs_task() -> dict:
    return {"stalled": runs.mark_stalled_runs()}


def deliver_event_task(delivery_id: int) -> dict:
    delivery = EventDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    delivery = outbound.deliver(delivery)
    return {"delivery": delivery.pk, "state": delivery.state, "attempts": delivery.attempt_count}


def backfill_task(run_id: int) -> dict:
    run = SyncRun.objects.select_related("connection__tenant").get(pk=run_id)
    return backfill.run_backfill(run).summary()


def queue_due_deliveries_task() -> dict:
    return {"queued": outbound.queue_due_deliveries()}
