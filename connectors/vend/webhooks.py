"""Lightspeed X-Series webhooks: verify the `X-Signature` header and read the form-encoded body.

Lightspeed POSTs `application/x-www-form-urlencoded` with a `payload` field holding the changed
object as JSON in the API 1.0 shape, and signs the raw body with HMAC-SHA256 keyed with the app's
client secret: `X-Signature: signature=<digest>,algorithm=HMAC-SHA256`
(https://x-series-api.lightspeedhq.com/docs/webhooks). The page does not name the digest's encoding;
its example signature has letters beyond a-f, so it is not hex, and we read it as standard base64.

Since the signed payload is the changed object itself, a product or inventory payload that holds
every field we store, and the marker that orders it against what we hold (a product's `updated_at`,
an inventory record's `version`), is handed on as a neutral record, to be stored without a call.
Anything less names only the record to fetch.
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
from connectors.records import RemoteProduct, RemoteStock, WebhookEvent

SIGNATURE_HEADER = "X-Signature"
# Webhook type -> (neutral resource, field of the payload naming the record to refresh). An
# inventory change is refreshed through its product, which is what a stock sync reads by.
TYPES: dict[str, tuple[str, str]] = {
    "product.update": ("product", "id"),
    "inventory.update": ("stock", "product_id"),
    "customer.update": ("customer", "id"),
    "sale.update": ("invoice", "id"),
}
# The API 1.0 fields a payload must hold to be stored as it is: what `mapping.product_from_json`
# and `mapping.stock_from_json` read from 2.0 records, under their 1.0 names, and the marker.
PRODUCT_FIELDS = (
    "id",
    "sku",
    "name",
    "description",
    "price",
    "supply_price",
    "tax_id",
    "active",
    "updated_at",
)
INVENTORY_FIELDS = ("product_id", "outlet_id", "count", "version")


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
            record=_record(kind, payload),
        )
    ]


def _record(kind: str, payload: Payload) -> RemoteProduct | RemoteStock | None:
    """The payload as a neutral record, or None when it lacks a field we store or its marker, or
    holds a value we cannot read: then the record is fetched, which is always safe."""
    try:
        if kind == "product.update":
            return _product(payload)
        if kind == "inventory.update":
            return _stock(payload)
    except ProviderBug:
        return None
    return None


def _product(product: Payload) -> RemoteProduct | None:
    if any(product[name].missing for name in PRODUCT_FIELDS) or "deleted_at" not in product:
        return None
    # 1.0 says "not deleted" with an empty `deleted_at`.
    deleted_at = product["deleted_at"].datetime() if product["deleted_at"].raw else None
    deleted = deleted_at is not None
    return RemoteProduct(
        remote_id=product["id"].str(),
        code=product["sku"].str(),
        name=product["name"].str(),
        description=product["description"].str(),
        # 1.0 `price` excludes tax (`tax` is the amount on top), as 2.0 `price_excluding_tax` does.
        sale_price=product["price"].decimal(),
        purchase_price=product["supply_price"].decimal(),
        tax_code=product["tax_id"].str(),
        active=product["active"].bool() and not deleted,
        deleted=deleted,
        updated_at=product["updated_at"].datetime(),
        version=str(product["version"].int()) if not product["version"].missing else "",
    )


def _stock(inventory: Payload) -> RemoteStock | None:
    if any(inventory[name].missing for name in INVENTORY_FIELDS):
        return None
    return RemoteStock(
        product_remote_id=inventory["product_id"].str(),
        location_remote_id=inventory["outlet_id"].str(),
        quantity=inventory["count"].decimal(),
        version=str(inventory["version"].int()),
    )


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
