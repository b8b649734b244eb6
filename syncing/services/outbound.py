"""Webhooks out: telling an embedding platform what happened to one of its companies.

`emit_event` records one `EventDelivery` per subscribed endpoint inside the caller's transaction
and queues the send once that transaction commits, so an event is never announced for work
that was rolled back. `deliver` makes one attempt and records it; a failed attempt is tried
again with growing delays until a day has passed, then the delivery is given up. Staff can
replay any delivery from the admin, which gives it another day.

What a receiver gets, as a POST with a JSON body
`{"id", "type", "created_at", "company", "data"}` and these headers:

    Synchub-Event-Id      the event's id (the same for every endpoint and every retry: dedupe on it)
    Synchub-Event-Type    e.g. "sync.completed"
    Synchub-Timestamp     seconds since the epoch when this attempt was signed
    Synchub-Signature     "v1=" + hex HMAC-SHA256(endpoint secret, f"{timestamp}.{raw body}")

A receiver recomputes the signature over the timestamp and the raw body, compares in constant
time, and refuses a timestamp more than `SIGNATURE_TOLERANCE` from its own clock, so a captured
delivery cannot be replayed later. Any 2xx answer counts as delivered.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from syncing.models import EventDelivery, EventDeliveryAttempt, Tenant, WebhookEndpoint

EVENT_TYPES = {
    "sync.completed": "A sync finished (some records may have failed: see data.failed).",
    "sync.failed": "A sync stopped on an error.",
    "connection.linked": "A connection was linked to a provider account and is active.",
    "connection.needs_reauth": "A provider stopped accepting a connection; the merchant must reconnect.",
    "connection.disconnected": "A connection was disconnected.",
    "outbox.needs_attention": "A provider refused a sale; the merchant must change something (sent when "
    "the entry comes to need attention, not on each refused retry).",
    "outbox.given_up": "A sale could not be posted after every attempt.",
    "outbox.posted": "A sale was posted as an invoice.",
}

RETRY_WINDOW = timedelta(days=1)
# Delays after the 1st, 2nd, ... failed attempt; the last repeats until the window closes.
RETRY_DELAYS = [timedelta(minutes=m) for m in (1, 5, 30, 120, 360)]
# A queued send that has not reported back by then is due again (its worker died).
SEND_CLAIM = timedelta(minutes=5)
SIGNATURE_TOLERANCE = timedelta(minutes=5)
TIMEOUT = (5, 10)  # seconds to connect, to read
EXCERPT_CHARS = 500
USER_AGENT = "Synchub-Webhooks/1"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def create_endpoint(
    *, tenant: Tenant, url: str, event_types: Iterable[str], description: str = "", active: bool = True
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (the only time the secret is handed out)."""
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url=url,
        description=description,
        event_types=_known(event_types),
        active=active,
        signing={"secret": secret},
    )
    return endpoint, secret


def update_endpoint(endpoint: WebhookEndpoint, **values) -> WebhookEndpoint:
    if "event_types" in values:
        values["event_types"] = _known(values["event_types"])
    for name, value in values.items():
        setattr(endpoint, name, value)
    endpoint.save(update_fields=list(values))
    return endpoint


def _known(event_types: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(event_types))
    unknown = [name for name in chosen if name not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"Unknown event type: {', '.join(unknown)}")
    return chosen


def emit_event(tenant: Tenant | int, event_type: str, data: dict) -> list[EventDelivery]:
    """Record `event_type` for every active endpoint of `tenant` that subscribed to it, and send
    each once the caller's transaction commits. Cheap when nobody listens: one query."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type: {event_type}")
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(tenant_id=tenant_id, active=True)
        if event_type in endpoint.event_types
    ]
    if not endpoints:
        return []
    now = timezone.now()
    event_id = str(uuid.uuid4())
    payload = {
        "id": event_id,
        "type": event_type,
        "created_at": now.isoformat(),
        "company": tenant_id,
        "data": json.loads(json.dumps(data, cls=DjangoJSONEncoder)),
    }
    deliveries = EventDelivery.objects.bulk_create(
        [
            EventDelivery(
                endpoint=endpoint,
                event_id=event_id,
                event_type=event_type,
                payload=payload,
                created_at=now,
                retry_until=now + RETRY_WINDOW,
                # Until the queued send reports back; then the schedule picks it up.
                next_attempt_at=now + SEND_CLAIM,
            )
            for endpoint in endpoints
        ]
    )
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: [async_task("syncing.tasks.deliver_event_task", pk) for pk in ids])
    return deliveries


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def deliver(delivery: EventDelivery, *, now: datetime | None = None) -> EventDelivery:
    """One attempt to send `delivery`, recorded; then delivered, due again later, or given up."""
    if delivery.state != EventDelivery.State.PENDING:
        return delivery
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Synchub-Event-Id": delivery.event_id,
        "Synchub-Event-Type": delivery.event_type,
        "Synchub-Timestamp": str(timestamp),
        "Synchub-Signature": sign(endpoint.secret, timestamp, body),
    }
    started = time.monotonic()
    status, excerpt, error = None, "", private_address_error(endpoint.url)
    try:
        if not error:
            response = requests.post(
                endpoint.url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
            )
            status, excerpt = response.status_code, response.text[:EXCERPT_CHARS]
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = int((time.monotonic() - started) * 1000)
    now = now or timezone.now()
    ok = status is not None and 200 <= status < 300
    with transaction.atomic():
        EventDeliveryAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=status,
            response_excerpt=excerpt,
            duration_ms=duration_ms,
            error=error,
        )
        delivery.attempt_count += 1
        if ok:
            delivery.state, delivery.delivered_at, delivery.next_attempt_at = (
                EventDelivery.State.DELIVERED,
                now,
                None,
            )
        elif now >= delivery.retry_until:
            delivery.state, delivery.next_attempt_at = EventDelivery.State.GIVEN_UP, None
        else:
            delivery.next_attempt_at = min(now + _delay(delivery.attempt_count), delivery.retry_until)
        delivery.save(update_fields=["attempt_count", "state", "delivered_at", "next_attempt_at"])
    return delivery


def private_address_error(url: str) -> str:
    """Why `url` must not be called, or "". A platform holding an API key must not be able to
    make us call our own network (loopback, private, link-local such as cloud metadata);
    `WEBHOOK_ALLOW_PRIVATE_ADDRESSES` lifts this for development and tests."""
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return ""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return ""  # the send fails and is recorded as a connection error
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            return f"Refused: {host} resolves to a non-public address ({ip})."
    return ""


def _delay(failures: int) -> timedelta:
    return RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]


def queue_due_deliveries(now: datetime | None = None) -> int:
    """Queue a send for every delivery whose retry is due. Each is claimed by moving its
    `next_attempt_at` with a conditional UPDATE, so two schedulers queue it once."""
    now = now or timezone.now()
    queued = 0
    due = EventDelivery.objects.filter(state=EventDelivery.State.PENDING, next_attempt_at__lte=now)
    for pk, seen in due.order_by("next_attempt_at").values_list("pk", "next_attempt_at")[:500]:
        claimed = EventDelivery.objects.filter(Q(next_attempt_at=seen), pk=pk).update(
            next_attempt_at=now + SEND_CLAIM
        )
        if claimed:
            async_task("syncing.tasks.deliver_event_task", pk)
            queued += 1
    return queued


def replay(delivery: EventDelivery) -> EventDelivery:
    """Send the same event again (same id and body, freshly signed), with a new day of retries."""
    now = timezone.now()
    delivery.state = EventDelivery.State.PENDING
    delivery.delivered_at = None
    delivery.retry_until = now + RETRY_WINDOW
    delivery.next_attempt_at = now + SEND_CLAIM
    delivery.save(update_fields=["state", "delivered_at", "retry_until", "next_attempt_at"])
    transaction.on_commit(lambda: async_task("syncing.tasks.deliver_event_task", delivery.pk))
    return delivery


def outbox_event(entry) -> dict:
    """What an `outbox.*` webhook carries: one sale's posting to one connection."""
    return {
        "sale": entry.sale_id,
        "sale_number": entry.sale.number if entry.sale_id else "",
        "connection": entry.connection_id,
        "state": entry.state,
        "attempts": entry.attempts,
        "remote_id": entry.remote_id,
        "remote_number": entry.remote_number,
        "last_error": entry.last_error,
    }
