"""Xero webhook deliveries: signature check and event parsing.

https://developer.xero.com/documentation/webhooks/configuring-your-server : `x-xero-signature` is
base64(HMAC-SHA256(raw body, webhook key)); the receiver answers 401 to a bad signature, including
during the intent-to-receive check, whose deliveries carry no events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from connectors.errors import ProviderBug
from connectors.oauth import webhook_key
from connectors.payload import Payload
from connectors.records import WebhookEvent

SIGNATURE_HEADER = "x-xero-signature"
# Events we act on; CREDITNOTE and SUBSCRIPTION deliveries are acknowledged and ignored.
RESOURCES = {"CONTACT": "customer", "INVOICE": "invoice"}


def secret(spec) -> str:
    """Xero signs with the app's webhook key, shown once in the developer portal."""
    return webhook_key(spec)


def verify(headers, body: bytes, secret: str) -> bool:
    """True when the delivery was signed with our webhook key. The HMAC is over the raw bytes:
    re-serialised JSON would not match (XeroAPI/xero-node#563)."""
    presented = _header(headers, SIGNATURE_HEADER)
    if not presented or not secret:
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode()
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


def parse(body: bytes, content_type: str = "application/json") -> list[WebhookEvent]:
    """The events we act on; an intent-to-receive delivery gives an empty list."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ProviderBug("Xero webhook: the body is not JSON") from None
    events = []
    for event in Payload(data, record="Xero webhook")["events"].list():
        category = event["eventCategory"].str()
        if category not in RESOURCES:
            continue
        events.append(
            WebhookEvent(
                resource=RESOURCES[category],
                remote_id=event["resourceId"].str(),
                action=event["eventType"].str().lower(),
                tenant_id=event["tenantId"].optional_str() or "",
                occurred_at=event["eventDateUtc"].optional_datetime(),
            )
        )
    return events


def _header(headers, name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""
