"""Webhooks in: check that a delivery is genuine, keep it once, then refresh just what it names.

Receiving makes no provider call, so the answer goes back fast (Xero allows 5 seconds:
https://developer.xero.com/documentation/webhooks/configuring-your-server ; Lightspeed 5 seconds:
https://x-series-api.lightspeedhq.com/docs/webhooks); the refresh runs as a task. Providers say
deliveries may come late, twice or never, so a webhook only makes a change visible sooner: the
scheduled pull and sweep stay the source of truth, and a refused delivery changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import NoReturn

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from connectors.base import Capability, Priority
from connectors.errors import ProviderBug, UnknownProvider
from connectors.http import connector_for
from connectors.records import WebhookEvent
from connectors.registry import get_provider
from syncing.models import Connection, ProductLink, SyncRun, WebhookDelivery
from syncing.services import products, runs
from syncing.services.stock import store_stock

logger = logging.getLogger(__name__)

PRODUCT, STOCK, CUSTOMER = "product", "stock", "customer"
# The resources we act on, as the providers' webhook modules name them.
RESOURCES = {PRODUCT, STOCK, CUSTOMER}


class WebhookRefused(Exception):
    """A delivery we will not keep; `status` is the HTTP answer the provider gets."""

    status = 400


class UnknownEndpoint(WebhookRefused):
    status = 404


class Unsigned(WebhookRefused):
    status = 400


class Forged(WebhookRefused):
    # Xero's intent-to-receive check expects exactly 401 for a wrongly signed delivery.
    status = 401


class Malformed(WebhookRefused):
    status = 400


def receive_webhook(
    *, provider_key: str, token: str, headers: Mapping[str, str], body: bytes, content_type: str = ""
) -> WebhookDelivery | None:
    """Verify, parse, de-duplicate and store one delivery, and queue its processing.

    Returns the stored delivery, or None when there is nothing to do: no event we act on (Xero's
    intent-to-receive check has none) or the same body was stored before. Raises a
    `WebhookRefused` subclass, after logging why, for anything forged, replayed or malformed."""
    try:
        spec = get_provider(provider_key)
    except UnknownProvider:
        spec = None
    module = spec.webhooks_module if spec else None
    connection = (
        Connection.objects.filter(provider=provider_key, webhook_token=token).first() if module else None
    )
    if connection is None:
        _refuse(UnknownEndpoint, provider_key, None, "no connection has this webhook address")

    if not _header(headers, module.SIGNATURE_HEADER):
        _refuse(Unsigned, provider_key, connection, f"no {module.SIGNATURE_HEADER} header")
    if not module.verify(headers, body, module.secret(spec)):
        _refuse(Forged, provider_key, connection, "the signature does not match (or the delivery is stale)")
    try:
        events = module.parse(body, content_type)
    except (ProviderBug, ValueError) as exc:
        _refuse(Malformed, provider_key, connection, f"unreadable body: {exc}")

    wanted = [_as_dict(event) for event in events if _wanted(connection, event)]
    if not wanted:
        return None
    fingerprint = hashlib.sha256(body).hexdigest()
    delivery, created = WebhookDelivery.objects.get_or_create(
        connection=connection, fingerprint=fingerprint, defaults={"events": wanted}
    )
    if not created:
        logger.info("%s webhook for connection %s repeated; kept once", spec.name, connection.pk)
        return None
    transaction.on_commit(lambda: async_task("syncing.tasks.process_webhook_task", delivery.pk))
    return delivery


def _refuse(
    error: type[WebhookRefused], provider_key: str, connection: Connection | None, reason: str
) -> NoReturn:
    where = f"connection {connection.pk}" if connection else "an unknown connection"
    logger.warning("Refused a %s webhook for %s: %s", provider_key, where, reason)
    raise error(reason)


def _header(headers: Mapping[str, str], name: str) -> str:
    name = name.lower()
    return next((value for key, value in headers.items() if key.lower() == name), "")


def _wanted(connection: Connection, event: WebhookEvent) -> bool:
    if event.resource not in RESOURCES:
        return False
    # Xero sends every organisation's events to the app's one URL: keep only this connection's.
    if event.tenant_id and connection.remote_org_id and event.tenant_id != connection.remote_org_id:
        logger.info(
            "Ignored a webhook event for organisation %s on connection %s", event.tenant_id, connection.pk
        )
        return False
    return True


def _as_dict(event: WebhookEvent) -> dict:
    return {
        "resource": event.resource,
        "remote_id": event.remote_id,
        "action": event.action,
        "event_id": event.event_id,
        "occurred_at": event.occurred_at.isoformat() if event.occurred_at else None,
    }


def process_webhook(delivery: WebhookDelivery) -> WebhookDelivery:
    """Refresh the records a delivery names: its products in one targeted run. Processed at most
    once: the delivery is claimed by setting `processed_at`, so a second task does nothing."""
    now = timezone.now()
    if not WebhookDelivery.objects.filter(pk=delivery.pk, processed_at__isnull=True).update(processed_at=now):
        delivery.refresh_from_db()
        return delivery
    delivery.processed_at = now
    connection = delivery.connection
    ids = {resource: set() for resource in (PRODUCT, STOCK, CUSTOMER)}
    for event in delivery.events:
        ids[event["resource"]].add(event["remote_id"])

    outcome = []
    if ids[PRODUCT] or ids[STOCK]:
        delivery.run = refresh_products(connection=connection, product_ids=ids[PRODUCT], stock_ids=ids[STOCK])
        outcome.append(f"Refreshed {len(ids[PRODUCT] | ids[STOCK])} product(s): {delivery.run.status}.")
    if ids[CUSTOMER]:
        outcome.append(_customer_changes(ids[CUSTOMER]))
    delivery.outcome = " ".join(outcome)
    delivery.save(update_fields=["run", "outcome"])
    return delivery


def refresh_products(*, connection: Connection, product_ids: set[str], stock_ids: set[str]) -> SyncRun:
    """Fetch the named products by remote id in one request where the API allows (two for a
    Lightspeed store with three or more), store them the way a pull does, and read stock for the
    products whose stock changed. A linked product the provider no longer has is deactivated."""

    def work(job: runs.Job) -> None:
        run = job.run
        connector = connector_for(connection, run=run, priority=Priority.POLL)
        linked = set(
            ProductLink.objects.filter(
                connection=connection, remote_id__in=stock_ids, remote_deleted=False
            ).values_list("remote_id", flat=True)
        )
        # A stock change for a product we have not seen yet needs the product first.
        wanted = sorted(product_ids | (stock_ids - linked))
        found = connector.find_products_by_ids(wanted) if wanted else []
        run.fetched = len(found)
        gone = set(wanted) - {record.remote_id for record in found}
        now = timezone.now()
        with transaction.atomic():
            gone_links = ProductLink.objects.filter(connection=connection, remote_id__in=gone)
            products.deactivate_links(run, list(gone_links.values_list("pk", flat=True)), now)
            products.store_products(connection=connection, run=run, records=found, now=now)
            runs.save_progress(run)
        live_stock = sorted(stock_ids - gone)
        if live_stock and connection.spec.can(Capability.PULL_STOCK):
            levels = connector.stock_for_products(live_stock)
            with transaction.atomic():
                store_stock(connection=connection, run=run, records=levels, now=timezone.now())
                runs.save_progress(run)

    # No lease, like a one-product sync: storing named products is an idempotent upsert.
    return runs.leased_run(
        connection=connection,
        kind=SyncRun.Kind.SINGLE_PRODUCT,
        trigger=SyncRun.Trigger.WEBHOOK,
        exclusive=False,
        work=work,
    )


def _customer_changes(remote_ids: set[str]) -> str:
    """Customer events are recorded, not acted on: syncing.services.customers has no refresh of
    one customer yet, and a linked customer's details are never overwritten by a sync anyway
    (only the link is confirmed), which the scheduled customer pull does."""
    return f"{len(remote_ids)} customer change(s) noted; the scheduled customer pull confirms them."
