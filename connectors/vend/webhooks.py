"""Lightspeed X-Series webhooks: verify the `X-Signature` header and read the form-encoded body.

Lightspeed POSTs `application/x-www-form-urlencoded` with a `payload` field holding the changed
object as JSON in the API 1.0 shape, and signs the raw body with HMAC-SHA256 keyed with the app's
client secret: `X-Signature: signature=<digest>,algorithm=HMAC-SHA256`
(https://x-series-api.lightspeedhq.com/docs/webhooks). The page does not name the digest's encoding;
its example signature has letters beyond a-f, so it is not hex, and we read it as standard base64.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from urllib.parse import parse_qs

from connectors.errors import ProviderBug
from connectors.oauth import app_credentials
from connectors.payload import Payload
from connectors.records import WebhookEvent

SIGNATURE_HEADER = "X-Signature"
# Webhook type -> (neutral resource, field of the payload naming the record to refresh). An
# inventory change is refreshed through its product, which is what a stock sync reads by.
TYPES: dict[str, tuple[str, str]] = {
    "product.update": ("product", "id"),
    "inventory.update": ("stock", "product_id"),
    "customer.update": ("customer", "id"),
    "sale.update": ("invoice", "id"),
}


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return ""


def signature_parts(headers: Mapping[str, str]) -> dict[str, str]:
    """`signature=...,algorithm=...` as a dict; empty when the header is absent."""
    parts = {}
    for part in _header(headers, SIGNATURE_HEADER).split(","):
        # partition, not split: base64 may end in "=" padding.
        name, _, value = part.strip().partition("=")
        if name:
            parts[name.lower()] = value
    return parts


def secret(spec) -> str:
    """Lightspeed keys the signature with the app's client secret."""
    return app_credentials(spec)[1]


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> bool:
    parts = signature_parts(headers)
    signature = parts.get("signature", "")
    if not signature or parts.get("algorithm", "").upper() != "HMAC-SHA256" or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), signature.encode())


def parse(body: bytes, content_type: str = "application/x-www-form-urlencoded") -> list[WebhookEvent]:
    """The one event a delivery carries; [] for webhook types we do not act on."""
    try:
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        raise ProviderBug("Lightspeed webhook: the body is not UTF-8") from None
    if "payload" not in form:
        raise ProviderBug("Lightspeed webhook: the form has no payload field")
    try:
        data = json.loads(form["payload"])
    except ValueError:
        raise ProviderBug("Lightspeed webhook: payload is not JSON") from None
    kind = form.get("type") or _infer_type(data)
    if kind not in TYPES:
        return []
    resource, id_field = TYPES[kind]
    payload = Payload(data, record=f"Lightspeed {kind} webhook")
    return [
        WebhookEvent(
            resource=resource,
            remote_id=payload[id_field].str(),
            action="update",
            tenant_id=form.get("domain_prefix", ""),
        )
    ]


def _infer_type(data) -> str:
    """The type from the payload's shape, for deliveries without a `type` field (only `payload`
    is guaranteed to be present)."""
    if not isinstance(data, dict):
        return ""
    if "register_sale_products" in data or "invoice_number" in data:
        return "sale.update"
    if "customer_code" in data:
        return "customer.update"
    if "product_id" in data and "outlet_id" in data:
        return "inventory.update"
    if "sku" in data or "handle" in data:
        return "product.update"
    return ""
