"""Unleashed webhook deliveries: signature check and events.

Each delivery carries `x-unleashed-timestamp` (Unix seconds) and `x-unleashed-signature`, the Base64
HMAC-SHA256 of "{timestamp}.{raw body}" keyed with the subscription's signing key; deliveries older
than five minutes are refused so a captured one cannot be replayed
(https://apidocs.unleashedsoftware.com/Webhooks).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from connectors.oauth import webhook_key
from connectors.payload import Payload
from connectors.records import WebhookEvent

SIGNATURE_HEADER = "x-unleashed-signature"
TOLERANCE = timedelta(minutes=5)
RESOURCES = {"product", "customer"}
ACTIONS = {"created", "updated", "deleted"}


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def secret(spec) -> str:
    """The subscription's signing key, which Unleashed returns once when the subscription is made."""
    return webhook_key(spec)


def verify(headers: Mapping[str, str], body: bytes, secret: str, *, now: datetime | None = None) -> bool:
    timestamp = _header(headers, "x-unleashed-timestamp").strip()
    given = _header(headers, SIGNATURE_HEADER).strip()
    if not timestamp.isdigit() or not given or not secret:
        return False
    sent_at = datetime.fromtimestamp(int(timestamp), UTC)
    if abs((now or datetime.now(UTC)) - sent_at) > TOLERANCE:
        return False
    message = timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, given)


def parse(body: bytes, content_type: str = "application/json") -> list[WebhookEvent]:
    """The product and customer events in one delivery; other event types are ignored."""
    delivery = Payload(json.loads(body), record="Unleashed webhook")
    resource, _, action = delivery["eventType"].str().lower().partition(".")
    if resource not in RESOURCES or action not in ACTIONS:
        return []
    data = delivery["data"]
    return [
        WebhookEvent(
            resource=resource,
            remote_id=(data["Guid"] if "Guid" in data else data["guid"]).str(),
            action=action,
            event_id=delivery["eventId"].optional_str() or "",
            occurred_at=delivery["createdOn"].optional_datetime(),
        )
    ]
