"""Webhooks in: check that a delivery is genuine, keep it once, then act on what it names.

Receiving makes no provider call, so the answer goes back fast (Xero allows 5 seconds:
https://developer.xero.com/documentation/webhooks/configuring-your-server ; Lightspeed 5 seconds:
https://x-series-api.lightspeedhq.com/docs/webhooks); the work runs as a task. Providers say
deliveries may come late, twice or never, so a webhook only makes a change visible sooner: the
scheduled pull and sweep stay the source of truth, and a refused delivery changes nothing.

A delivery whose signed payload is the whole changed record (Lightspeed's products and inventory)
is stored as it is, with no call, when its change marker is newer than the one we hold; an older
one is skipped. Everything else is fetched. Deliveries waiting on one connection are processed
together by one run, so a burst of them costs one fetch of the records they name, not one each.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import NoReturn

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from connectors.base import Capability, Priority
from connectors.errors import ProviderBug, UnknownProvider
from connectors.http import connector_for
from connectors.records import RemoteProduct, RemoteStock, WebhookEvent
from connectors.registry import get_provider
from syncing.models import Connection, Location, ProductLink, StockLevel, SyncRun, WebhookDelivery
from syncing.services import products, runs
from syncing.services.stock import store_stock
from syncing.services.upsert import among

logger = logging.getLogger(__name__)

PRODUCT, STOCK, CUSTOMER = "product", "stock", "customer"
# The resources we act on, as the providers' webhook modules name them.
RESOURCES = {PRODUCT, STOCK, CUSTOMER}
# The record a delivery may carry for each resource, and its fields that JSON cannot hold as such.
RECORD_TYPES = {PRODUCT: RemoteProduct, STOCK: RemoteStock}
DECIMAL_FIELDS = {"sale_price", "purchase_price", "quantity"}
TIME_FIELDS = {"updated_at"}
# Deliveries one round claims, and rounds one task runs before leaving the rest to their own tasks.
ROUND_SIZE = 500
ROUNDS = 5
# What became of one product or stock change a delivery named.
STORED = "stored from the payload"
STALE = "skipped, not newer than what we hold"
FETCHED = "fetched"
EARLIEST = datetime.min.replace(tzinfo=UTC)


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
        "record": _record_to_json(event.record),
    }


def _record_to_json(record: RemoteProduct | RemoteStock | None) -> dict | None:
    if record is None:
        return None
    return {field.name: _plain(getattr(record, field.name)) for field in fields(record)}


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _record_from_json(event: dict) -> RemoteProduct | RemoteStock | None:
    data = event.get("record")
    if not data:
        return None
    return RECORD_TYPES[event["resource"]](**{name: _revived(name, value) for name, value in data.items()})


def _revived(name: str, value):
    if value is None:
        return None
    if name in DECIMAL_FIELDS:
        return Decimal(value)
    if name in TIME_FIELDS:
        return datetime.fromisoformat(value)
    return value


@dataclass(eq=False)
class Change:
    """One product or stock change a delivery named, and what became of it."""

    delivery: WebhookDelivery
    resource: str
    remote_id: str
    record: RemoteProduct | RemoteStock | None
    outcome: str = ""


def process_webhook(delivery: WebhookDelivery) -> WebhookDelivery:
    """Process `delivery` with every other delivery waiting on its connection, one run per round.

    Each delivery is claimed by setting `processed_at`, one conditional update each, so it is
    processed once however many tasks run: a task whose delivery another has claimed does nothing.
    Deliveries that arrive while a round works are claimed by the next round."""
    for _ in range(ROUNDS):
        claimed = _claim_waiting(delivery.connection)
        if not claimed:
            break
        _process(delivery.connection, claimed)
    delivery.refresh_from_db()
    return delivery


def _claim_waiting(connection: Connection) -> list[WebhookDelivery]:
    now = timezone.now()
    waiting = WebhookDelivery.objects.filter(connection=connection, processed_at__isnull=True).order_by(
        "received_at", "pk"
    )[:ROUND_SIZE]
    claimed = [
        delivery
        for delivery in waiting
        if WebhookDelivery.objects.filter(pk=delivery.pk, processed_at__isnull=True).update(processed_at=now)
    ]
    for delivery in claimed:
        delivery.processed_at = now
    return claimed


def _process(connection: Connection, deliveries: list[WebhookDelivery]) -> None:
    changes = [
        Change(delivery, event["resource"], event["remote_id"], _record_from_json(event))
        for delivery in deliveries
        for event in delivery.events
        if event["resource"] in (PRODUCT, STOCK)
    ]
    run = refresh_products(connection=connection, changes=changes) if changes else None
    for delivery in deliveries:
        outcome = []
        if done := Counter(change.outcome for change in changes if change.delivery is delivery):
            counts = ", ".join(f"{count} {what}" for what, count in done.items())
            outcome.append(
                f"Product and stock changes: {counts}; run {run.pk} {run.get_status_display().lower()}."
            )
        if customers := {event["remote_id"] for event in delivery.events if event["resource"] == CUSTOMER}:
            outcome.append(_customer_changes(customers))
        delivery.run, delivery.outcome = run, " ".join(outcome)
        delivery.save(update_fields=["run", "outcome"])


def refresh_products(*, connection: Connection, changes: list[Change]) -> SyncRun:
    """One run for a batch of product and stock changes: store each record a payload carries when
    it is newer than what we hold, skip it when older, and fetch the rest by remote id, each id
    once (one request per product where the API allows, two for a Lightspeed store with three or
    more). Sets each change's outcome. A linked product the provider no longer has is deactivated."""
    for change in changes:
        change.outcome = FETCHED

    def work(job: runs.Job) -> None:
        run = job.run
        with transaction.atomic():
            _store_delivered_products(connection, run, [c for c in changes if c.resource == PRODUCT])
            _store_delivered_stock(connection, run, [c for c in changes if c.resource == STOCK])
            runs.save_progress(run)
        product_ids = {c.remote_id for c in changes if c.resource == PRODUCT and c.outcome == FETCHED}
        stock_ids = {c.remote_id for c in changes if c.resource == STOCK and c.outcome == FETCHED}
        if product_ids or stock_ids:
            _fetch(connection, run, product_ids, stock_ids)

    # No lease, like a one-product sync: each delivery is claimed by one run, and storing a
    # record is an idempotent upsert.
    return runs.leased_run(
        connection=connection,
        kind=SyncRun.Kind.SINGLE_PRODUCT,
        trigger=SyncRun.Trigger.WEBHOOK,
        exclusive=False,
        work=work,
    )


def _store_delivered_products(connection: Connection, run: SyncRun, changes: list[Change]) -> None:
    delivered = [change for change in changes if change.record]
    if not delivered:
        return
    # Locked, so two runs storing the same product take turns and the second sees the first's marker.
    held = {
        remote_id: (version, updated_at)
        for remote_id, version, updated_at in ProductLink.objects.select_for_update()
        .filter(connection=connection, remote_id__in=among({c.remote_id for c in delivered}))
        .values_list("remote_id", "remote_version", "remote_updated_at")
    }
    newer = _newer_than_held(delivered, key=lambda record: record.remote_id, held=held)
    if newer:
        run.fetched += len(newer)
        products.store_products(connection=connection, run=run, records=newer, now=timezone.now())


def _store_delivered_stock(connection: Connection, run: SyncRun, changes: list[Change]) -> None:
    """Stock lands from a payload only on a product linked here, at an outlet we already know by
    its remote id (a payload does not name it); the rest is fetched, which reads the names."""
    delivered = [change for change in changes if change.record]
    if not delivered:
        return
    product_ids = dict(
        ProductLink.objects.filter(
            connection=connection,
            remote_id__in=among({c.record.product_remote_id for c in delivered}),
            remote_deleted=False,
        ).values_list("remote_id", "product_id")
    )
    locations = {
        code: (pk, name)
        for pk, code, name in Location.objects.filter(
            tenant_id=connection.tenant_id, code__in={c.record.location_remote_id for c in delivered}
        ).values_list("pk", "code", "name")
    }
    placed = [
        c
        for c in delivered
        if c.record.product_remote_id in product_ids and c.record.location_remote_id in locations
    ]
    held = {
        (product_id, location_id): (version, updated_at)
        for product_id, location_id, version, updated_at in StockLevel.objects.select_for_update()
        .filter(
            product_id__in=among({product_ids[c.record.product_remote_id] for c in placed}, integers=True),
            location_id__in={locations[c.record.location_remote_id][0] for c in placed},
        )
        .values_list("product_id", "location_id", "remote_version", "remote_updated_at")
    }

    def position(record: RemoteStock) -> tuple[int, int]:
        return product_ids[record.product_remote_id], locations[record.location_remote_id][0]

    newer = _newer_than_held(placed, key=position, held=held)
    if newer:
        run.fetched += len(newer)
        named = [replace(record, location_name=locations[record.location_remote_id][1]) for record in newer]
        store_stock(connection=connection, run=run, records=named, now=timezone.now())


def _newer_than_held(
    changes: list[Change], *, key: Callable[..., Hashable], held: dict[Hashable, tuple[str, datetime | None]]
) -> list[RemoteProduct | RemoteStock]:
    """The newest delivered record of each record named, when it is newer than what we hold (or we
    hold nothing); older deliveries are marked STALE. A record that cannot be ordered against the
    others or against what we hold (equal timestamps, no marker) is left FETCHED: the provider
    decides."""
    by_key: dict[Hashable, list[Change]] = defaultdict(list)
    for change in changes:
        by_key[key(change.record)].append(change)
    newest = []
    for name, group in by_key.items():
        group.sort(key=lambda change: _marker(change.record))
        latest = group[-1]
        twins = [
            c for c in group if _marker(c.record) == _marker(latest.record) and c.record != latest.record
        ]
        order = _order(latest.record, held[name]) if name in held else 1
        if twins or order is None:
            continue
        for change in group:
            change.outcome = STALE
        if order > 0:
            latest.outcome = STORED
            newest.append(latest.record)
    return newest


def _marker(record: RemoteProduct | RemoteStock) -> tuple:
    return (int(record.version) if record.version.isdigit() else -1, record.updated_at or EARLIEST)


def _order(record: RemoteProduct | RemoteStock, held: tuple[str, datetime | None]) -> int | None:
    """1 when `record` is newer than the held marker, -1 when older, 0 when it is the version we
    hold; None when they cannot be told apart. A version (Lightspeed's global change counter) is
    exact; a timestamp is to the second, so two changes in one second look alike."""
    version, updated_at = held
    if record.version.isdigit() and version.isdigit():
        return (int(record.version) > int(version)) - (int(record.version) < int(version))
    if record.updated_at and updated_at and record.updated_at != updated_at:
        return 1 if record.updated_at > updated_at else -1
    return None


def _fetch(connection: Connection, run: SyncRun, product_ids: set[str], stock_ids: set[str]) -> None:
    """Fetch the named products by remote id, store them the way a pull does, and read stock for
    the products whose stock changed."""
    connector = connector_for(connection, run=run, priority=Priority.POLL)
    linked = set(
        ProductLink.objects.filter(
            connection=connection, remote_id__in=stock_ids, remote_deleted=False
        ).values_list("remote_id", flat=True)
    )
    # A stock change for a product we have not seen yet needs the product first.
    wanted = sorted(product_ids | (stock_ids - linked))
    found = connector.find_products_by_ids(wanted) if wanted else []
    run.fetched += len(found)
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


def _customer_changes(remote_ids: set[str]) -> str:
    """Customer events are recorded, not acted on: syncing.services.customers has no refresh of
    one customer yet, and a linked customer's details are never overwritten by a sync anyway
    (only the link is confirmed), which the scheduled customer pull does."""
    return f"{len(remote_ids)} customer change(s) noted; the scheduled customer pull confirms them."
