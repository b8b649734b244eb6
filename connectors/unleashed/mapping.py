"""Unleashed JSON <-> neutral records: the only module that reads Unleashed payloads.

Field names follow Unleashed's Products, StockOnHand, Customers and SalesOrders pages
(https://apidocs.unleashedsoftware.com/); every read goes through `Payload`, so a malformed record
raises ProviderBug naming the record and the field.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

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

# GUIDs we choose for creates are derived from the idempotency key, so a retried create lands on the
# record the first attempt made (https://apidocs.unleashedsoftware.com/SalesOrders).
GUID_NAMESPACE = uuid.UUID("0b3f6a52-8d0c-4c1e-a7f4-5e2d9c1b6a30")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CENT = Decimal("0.01")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class ListPage:
    """One page of an Unleashed list; the last page is the one whose number is the page count."""

    items: list[dict]
    page_number: int
    number_of_pages: int

    @property
    def is_last(self) -> bool:
        return self.page_number >= self.number_of_pages


def list_page(data, *, resource: str) -> ListPage:
    page = Payload(data, record=f"{resource} list")
    pagination = page["Pagination"]
    return ListPage(
        items=[item.raw for item in page["Items"].list()],
        page_number=pagination["PageNumber"].int(),
        number_of_pages=pagination["NumberOfPages"].int(),
    )


def guid_for(kind: str, idempotency_key: str) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{idempotency_key}"))


def ms_date(moment: datetime | date) -> str:
    """Unleashed's JSON date: "/Date(milliseconds since the epoch, UTC)/"."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return f"/Date({(moment.astimezone(UTC) - EPOCH) // timedelta(milliseconds=1)})/"


def _record(data, kind: str, label_field: str) -> Payload:
    label = data.get(label_field) if isinstance(data, dict) else None
    if not isinstance(label, str) or not label:
        label = data.get("Guid") if isinstance(data, dict) else None
    return Payload(data, record=f"{kind} {label!r}" if label else kind)


def _money(value: Decimal) -> float:
    return float(value.quantize(CENT))


# Products ---------------------------------------------------------------------------------------


def product_from_unleashed(data) -> RemoteProduct:
    product = _record(data, "Product", "ProductCode")
    obsolete = product["Obsolete"].optional_bool(False)
    return RemoteProduct(
        remote_id=product["Guid"].str(),
        code=product["ProductCode"].str(),
        name=product["ProductDescription"].str(),
        sale_price=product["DefaultSellPrice"].optional_decimal(),
        purchase_price=product["DefaultPurchasePrice"].optional_decimal(),
        active=not obsolete,
        deleted=obsolete,
        # Never-diminishing products (services, labour) carry no stock.
        tracks_stock=not product["NeverDiminishing"].optional_bool(False),
        updated_at=product["LastModifiedOn"].datetime(),
    )


def product_to_unleashed(product: NewProduct, *, guid: str) -> dict:
    fields = {"Guid": guid, "ProductCode": product.code, "ProductDescription": product.name}
    if product.sale_price is not None:
        fields["DefaultSellPrice"] = _money(product.sale_price)
    return fields


# Stock on hand ----------------------------------------------------------------------------------


def stock_from_unleashed(data) -> RemoteStock:
    stock = _record(data, "Stock on hand of", "ProductCode")
    return RemoteStock(
        product_remote_id=stock["ProductGuid"].str(),
        location_remote_id=stock["WarehouseCode"].str(),
        location_name=stock["Warehouse"].optional_str() or "",
        quantity=stock["QtyOnHand"].decimal(),
        product_code=stock["ProductCode"].optional_str() or "",
        updated_at=stock["LastModifiedOn"].datetime(),
    )


# Customers --------------------------------------------------------------------------------------


def customer_from_unleashed(data) -> RemoteCustomer:
    customer = _record(data, "Customer", "CustomerCode")
    return RemoteCustomer(
        remote_id=customer["Guid"].str(),
        name=customer["CustomerName"].str(),
        email=customer["Email"].optional_str() or "",
        account_number=customer["CustomerCode"].str(),
        phone=customer["PhoneNumber"].optional_str() or "",
        active=not customer["Obsolete"].optional_bool(False),
        updated_at=customer["LastModifiedOn"].optional_datetime(),
    )


def customer_to_unleashed(customer: NewCustomer, *, guid: str) -> dict:
    # CustomerCode is required; without an account number the GUID gives a stable one.
    fields = {
        "Guid": guid,
        "CustomerCode": customer.account_number or f"C-{guid[:8].upper()}",
        "CustomerName": customer.name,
    }
    if customer.email:
        fields["Email"] = customer.email
    if customer.phone:
        fields["PhoneNumber"] = customer.phone
    return fields


# Sales orders (our invoices) --------------------------------------------------------------------


def sales_order_from_draft(draft: InvoiceDraft) -> tuple[str, dict]:
    """The GUID to POST to and the SalesOrder body for one sale."""
    guid = guid_for("sales-order", draft.idempotency_key)
    lines = []
    subtotal = Decimal(0)
    for number, line in enumerate(draft.lines, 1):
        # Our discount is a percentage; Unleashed's DiscountRate is a fraction of the price.
        discount = (line.discount_rate or Decimal(0)) / HUNDRED
        total = (line.quantity * line.unit_price * (1 - discount)).quantize(CENT)
        subtotal += total
        product = (
            {"Guid": line.product_remote_id} if line.product_remote_id else {"ProductCode": line.product_code}
        )
        order_line = {
            "LineNumber": number,
            "Product": product,
            "OrderQuantity": float(line.quantity),
            "UnitPrice": float(line.unit_price),
            "DiscountRate": float(discount),
            "LineTotal": _money(total),
            "LineTax": 0.0,
            "Comments": line.description,
        }
        if line.tax_code:
            order_line["LineTaxCode"] = line.tax_code
        lines.append(order_line)
    body = {
        "Guid": guid,
        # OrderNumber and SourceId both carry our reference: either one finds the order again.
        "OrderNumber": draft.reference,
        "SourceId": draft.reference,
        # The sale has already happened: a placed order allocates stock, a parked one does not.
        "OrderStatus": "Placed",
        "OrderDate": ms_date(draft.issued_on),
        "RequiredDate": ms_date(draft.due_on or draft.issued_on),
        "Customer": {"Guid": draft.customer_remote_id},
        "SalesOrderLines": lines,
        "SubTotal": _money(subtotal),
        "TaxTotal": 0.0,
        "Total": _money(subtotal),
    }
    if draft.currency:
        body["Currency"] = {"CurrencyCode": draft.currency}
    return guid, body


def invoice_from_sales_order(data) -> RemoteInvoice:
    order = _record(data, "Sales order", "OrderNumber")
    number = order["OrderNumber"].str()
    return RemoteInvoice(
        remote_id=order["Guid"].str(),
        reference=order["SourceId"].optional_str() or number,
        number=number,
        status=order["OrderStatus"].optional_str() or "",
        total=order["Total"].optional_decimal(),
    )


def invoice_result(draft: InvoiceDraft, data) -> InvoiceResult:
    return InvoiceResult(reference=draft.reference, invoice=invoice_from_sales_order(data))


def refused_invoice(draft: InvoiceDraft, messages: list[str]) -> InvoiceResult:
    return InvoiceResult(reference=draft.reference, errors=tuple(messages))


# Errors -----------------------------------------------------------------------------------------


def error_messages(data) -> list[str]:
    """The provider's own words from an error body: each field error, else the description."""
    if not isinstance(data, dict):
        return []
    messages = []
    for error in data.get("Errors") or []:
        if isinstance(error, dict) and error.get("Message"):
            field = error.get("Field")
            messages.append(f"{field}: {error['Message']}" if field else str(error["Message"]))
    if not messages and isinstance(data.get("Description"), str):
        messages.append(data["Description"])
    return messages
