"""Lightspeed X-Series API 2.0 JSON <-> neutral records: the only module that reads its payloads.

Field names follow Lightspeed's 2.0 resources as Vend's own CLI models them (vend/vend-cli
`govend/vend/*.go`): products, inventory, customers and sales all carry `version`, the global change
counter that is also the paging cursor. Every read goes through `Payload`, so a malformed record
raises ProviderBug naming the record and the field. Products and inventory records, read by the
hundred thousand in an import, are first read straight from the dict when every field comes in
its usual shape; a record that does not is read again through `Payload`, which names what is wrong.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from connectors.errors import ValidationFailed
from connectors.payload import Payload
from connectors.records import (
    InvoiceDraft,
    InvoiceResult,
    NewCustomer,
    NewProduct,
    RemoteCustomer,
    RemoteInvoice,
    RemoteProduct,
    RemoteStock,
)

# Sale ids we choose are UUIDs derived from the outbox idempotency key, so a retried create names
# the same sale (https://x-series-api.lightspeedhq.com/reference/createsale "User-provided sale ID").
SALE_ID_NAMESPACE = uuid.UUID("b1c6d0a2-6f0e-4c43-9a57-3c1de0f0a7e5")


@dataclass(frozen=True)
class FeedPage:
    """One page of a version feed: the raw records and `version.max` (None when `data` is empty,
    which is the only end of a read)."""

    items: list[dict]
    max_version: int | None


def feed_page(data, *, resource: str) -> FeedPage:
    page = Payload(data, record=f"{resource} page")
    items = page["data"].list()
    if not items:
        return FeedPage(items=[], max_version=None)
    return FeedPage(items=[item.raw for item in items], max_version=page["version"]["max"].int())


def data_list(data, *, resource: str) -> list[dict]:
    """The records of a search or a per-product list: {"data": [...]}."""
    return [item.raw for item in Payload(data, record=f"{resource} list")["data"].list()]


def data_object(data, *, resource: str) -> dict:
    """The record of a single-resource answer: {"data": {...}}."""
    inner = Payload(data, record=resource)["data"]
    inner.keys()  # raises ProviderBug unless `data` is an object
    return inner.raw


def _record(data, kind: str, *label_fields: str) -> Payload:
    label = None
    if isinstance(data, dict):
        label = next((data[f] for f in label_fields if isinstance(data.get(f), str) and data[f]), None)
    return Payload(data, record=f"{kind} {label!r}" if label else kind)


def _version(record: Payload) -> str:
    return str(record["version"].int())


class _Irregular(Exception):
    """A field is not in its usual shape: the record is read again through `Payload`."""


class _Plain:
    """A record's top-level fields read straight from its dict, accepting only their usual shapes
    (a string, a JSON number, true/false, ISO 8601 text, null where optional)."""

    __slots__ = ("data",)

    def __init__(self, data: dict) -> None:
        self.data = data

    def missing(self, key: str) -> bool:
        return self.data.get(key) is None

    def str(self, key: str) -> str:
        value = self.data.get(key)
        if type(value) is not str:
            raise _Irregular
        return value

    def optional_str(self, key: str) -> str | None:
        value = self.data.get(key)
        return None if value is None else self.str(key)

    def decimal(self, key: str) -> Decimal:
        value = self.data.get(key)
        if type(value) is not float and type(value) is not int:
            raise _Irregular
        number = Decimal(str(value))
        if not number.is_finite():
            raise _Irregular
        return number

    def optional_decimal(self, key: str) -> Decimal | None:
        return None if self.data.get(key) is None else self.decimal(key)

    def optional_bool(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if type(value) is not bool:
            raise _Irregular
        return value

    def optional_datetime(self, key: str) -> datetime | None:
        value = self.data.get(key)
        if value is None:
            return None
        if type(value) is not str:
            raise _Irregular
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise _Irregular from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def version(self) -> str:
        value = self.data.get("version")
        if type(value) is not int:
            raise _Irregular
        return str(value)


class _Checked:
    """The same reads through `Payload`: a field that is wrong raises ProviderBug naming it."""

    __slots__ = ("record",)

    def __init__(self, record: Payload) -> None:
        self.record = record

    def missing(self, key: str) -> bool:
        return self.record[key].missing

    def str(self, key: str) -> str:
        return self.record[key].str()

    def optional_str(self, key: str) -> str | None:
        return self.record[key].optional_str()

    def decimal(self, key: str) -> Decimal:
        return self.record[key].decimal()

    def optional_decimal(self, key: str) -> Decimal | None:
        return self.record[key].optional_decimal()

    def optional_bool(self, key: str, default: bool) -> bool:
        return bool(self.record[key].optional_bool(default))

    def optional_datetime(self, key: str) -> datetime | None:
        return self.record[key].optional_datetime()

    def version(self) -> str:
        return _version(self.record)


def _read(data, build: Callable, kind: str, *label_fields: str):
    if type(data) is dict:
        try:
            return build(_Plain(data))
        except _Irregular:
            pass  # read again below, to name the field
    return build(_Checked(_record(data, kind, *label_fields)))


# Products -------------------------------------------------------------------------------------


def product_from_json(data) -> RemoteProduct:
    return _read(data, _product, "Lightspeed product", "sku", "id")


def _product(fields: _Plain | _Checked) -> RemoteProduct:
    deleted_at = fields.optional_datetime("deleted_at")
    return RemoteProduct(
        remote_id=fields.str("id"),
        code=fields.str("sku"),
        name=fields.str("name"),
        description=fields.optional_str("description") or "",
        sale_price=fields.optional_decimal("price_excluding_tax"),
        purchase_price=fields.optional_decimal("supply_price"),
        tax_code=fields.optional_str("tax_id") or "",
        active=fields.optional_bool("active", True) and deleted_at is None,
        deleted=deleted_at is not None,
        tracks_stock=fields.optional_bool("has_inventory", False),
        updated_at=fields.optional_datetime("updated_at"),
        version=fields.version(),
    )


def product_to_json(product: NewProduct) -> dict:
    body: dict = {"name": product.name, "sku": product.code, "active": True}
    if product.sale_price is not None:
        body["price_excluding_tax"] = float(product.sale_price)
    if product.tax_code:
        body["tax_id"] = product.tax_code
    return body


# Inventory ------------------------------------------------------------------------------------


def stock_from_json(data) -> RemoteStock:
    """An inventory record names only its outlet's id: the client adds the outlet's name."""

    def build(fields: _Plain | _Checked) -> RemoteStock:
        # 2.0 names the figure `inventory_level` (with `current_amount` beside it).
        quantity = fields.decimal(
            "inventory_level" if not fields.missing("inventory_level") else "current_amount"
        )
        if fields.optional_datetime("deleted_at") is not None:
            # A deleted inventory record belongs to a deleted product or outlet: nothing is on hand.
            quantity = Decimal(0)
        outlet_id = fields.str("outlet_id")
        return RemoteStock(
            product_remote_id=fields.str("product_id"),
            location_remote_id=outlet_id,
            quantity=quantity,
            version=fields.version(),
        )

    return _read(data, build, "Lightspeed inventory record", "id")


def outlet_names(data) -> dict[str, str]:
    outlets = Payload(data, record="Lightspeed outlet list")["data"].list()
    return {outlet["id"].str(): outlet["name"].str() for outlet in outlets}


# Customers ------------------------------------------------------------------------------------


def customer_from_json(data) -> RemoteCustomer:
    customer = _record(data, "Lightspeed customer", "customer_code", "id")
    first = customer["first_name"].optional_str() or ""
    last = customer["last_name"].optional_str() or ""
    company = customer["company_name"].optional_str() or ""
    code = customer["customer_code"].optional_str() or ""
    deleted_at = customer["deleted_at"].optional_datetime()
    return RemoteCustomer(
        remote_id=customer["id"].str(),
        name=company or f"{first} {last}".strip() or code,
        email=customer["email"].optional_str() or "",
        account_number=code,
        first_name=first,
        last_name=last,
        phone=customer["phone"].optional_str() or customer["mobile"].optional_str() or "",
        active=deleted_at is None,
        updated_at=customer["updated_at"].optional_datetime(),
        version=_version(customer),
    )


def customer_to_json(customer: NewCustomer) -> dict:
    body = {
        "company_name": customer.name,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "customer_code": customer.account_number,
        "phone": customer.phone,
    }
    return {key: value for key, value in body.items() if value}


# Sales ----------------------------------------------------------------------------------------


def sale_id_for(idempotency_key: str) -> str:
    """The sale id we send: the key itself when it is a UUID, else a UUID derived from it."""
    try:
        return str(uuid.UUID(idempotency_key))
    except ValueError:
        return str(uuid.uuid5(SALE_ID_NAMESPACE, idempotency_key))


def sale_to_json(draft: InvoiceDraft) -> dict:
    """A closed sale in the create-sale shape: line_items[]{product{id}, quantity, pricing{price},
    tax{id}}. Lightspeed prices are tax-exclusive and it applies the product's tax itself."""
    lines = []
    for number, line in enumerate(draft.lines, start=1):
        if not line.product_remote_id:
            raise ValidationFailed(
                f"Sale {draft.reference} line {number} ({line.description}): "
                "Lightspeed needs a product on every line."
            )
        price = line.unit_price
        if line.discount_rate:
            price = price * (1 - line.discount_rate / 100)
        item: dict = {
            "product": {"id": line.product_remote_id},
            "quantity": float(line.quantity),
            "pricing": {"price": float(price)},
        }
        if line.tax_code:
            item["tax"] = {"id": line.tax_code}
        lines.append(item)
    body: dict = {
        "id": sale_id_for(draft.idempotency_key),
        "invoice_number": draft.reference,
        "state": "closed",
        "sale_date": f"{draft.issued_on.isoformat()}T00:00:00Z",
        "note": f"Sale {draft.reference}",
        "line_items": lines,
    }
    if draft.customer_remote_id:
        body["customer_id"] = draft.customer_remote_id
    return body


def invoice_from_json(data) -> RemoteInvoice:
    sale = _record(data, "Lightspeed sale", "invoice_number", "id")
    number = sale["invoice_number"].optional_str() or ""
    total = sale["total_price"].optional_decimal()
    tax = sale["total_tax"].optional_decimal()
    return RemoteInvoice(
        remote_id=sale["id"].str(),
        reference=number,
        number=number,
        status=sale["state"].optional_str() or sale["status"].optional_str() or "",
        total=None if total is None else total + (tax or Decimal(0)),
    )


def invoice_result(draft: InvoiceDraft, data) -> InvoiceResult:
    return InvoiceResult(
        reference=draft.reference, invoice=invoice_from_json(data_object(data, resource="Lightspeed sale"))
    )
