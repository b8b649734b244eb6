"""Sage Accounting v3.1 JSON <-> neutral records: the only module that reads Sage payloads.

Field names follow Sage's v3.1 reference (StockItem, Contact, SalesInvoice); every read goes
through `Payload`, so a malformed record raises ProviderBug naming the record and the field.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from connectors.payload import Payload
from connectors.records import (
    AccountKind,
    InvoiceDraft,
    InvoiceLineDraft,
    InvoiceResult,
    NewCustomer,
    NewProduct,
    PaymentDraft,
    RemoteAccount,
    RemoteCustomer,
    RemoteInvoice,
    RemoteOrganisation,
    RemotePayment,
    RemoteProduct,
    RemoteStock,
    RemoteTaxRate,
)

# Sage keeps one stock figure per item per business: there is no location to name.
STOCK_LOCATION_ID = "sage-stock"
STOCK_LOCATION_NAME = "Sage stock"
SELLING_PRICE = "Selling Price"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ListPage:
    """One page of a Sage list: `$next` is null on the last page, and only that ends a read."""

    items: list[dict]
    has_next: bool
    total: int


def list_page(data, *, resource: str) -> ListPage:
    page = Payload(data, record=f"{resource} list")
    items = page["$items"].list()
    next_link = page["$next"].optional_str()
    return ListPage(items=[item.raw for item in items], has_next=bool(next_link), total=page["$total"].int())


def _record(data, kind: str, name_field: str) -> Payload:
    raw_name = data.get(name_field) if isinstance(data, dict) else None
    raw_id = data.get("id") if isinstance(data, dict) else None
    label = raw_name if isinstance(raw_name, str) and raw_name else raw_id
    return Payload(data, record=f"{kind} {label!r}" if label else kind)


def _selling_price(item: Payload) -> Decimal | None:
    prices = item["sales_prices"].optional_list()
    chosen = next((p for p in prices if p["price_name"].optional_str() == SELLING_PRICE), None)
    if chosen is None and prices:
        chosen = prices[0]
    return chosen["price"].decimal() if chosen is not None else None


def product_from_stock_item(data) -> RemoteProduct:
    item = _record(data, "Stock item", "item_code")
    deleted = not item["deleted_at"].missing
    return RemoteProduct(
        remote_id=item["id"].str(),
        code=item["item_code"].str(),
        name=item["description"].str(),
        sale_price=_selling_price(item),
        purchase_price=item["cost_price"].optional_decimal(),
        tax_code=item["sales_tax_rate"]["id"].optional_str() or "",
        active=item["active"].optional_bool(True) and not deleted,
        deleted=deleted,
        tracks_stock=True,
        updated_at=item["updated_at"].datetime(),
    )


def stock_from_stock_item(data) -> RemoteStock:
    item = _record(data, "Stock item", "item_code")
    return RemoteStock(
        product_remote_id=item["id"].str(),
        location_remote_id=STOCK_LOCATION_ID,
        location_name=STOCK_LOCATION_NAME,
        quantity=item["quantity_in_stock"].optional_decimal() or Decimal("0"),
        product_code=item["item_code"].str(),
        updated_at=item["updated_at"].datetime(),
    )


def customer_from_contact(data) -> RemoteCustomer:
    contact = _record(data, "Contact", "reference")
    person = contact["main_contact_person"]
    email = contact["email"].optional_str() or person["email"].optional_str() or ""
    return RemoteCustomer(
        remote_id=contact["id"].str(),
        name=contact["name"].str(),
        email=email,
        account_number=contact["reference"].optional_str() or "",
        phone=person["telephone"].optional_str() or "",
        active=contact["deleted_at"].missing,
        updated_at=contact["updated_at"].datetime(),
    )


def invoice_from_sales_invoice(data) -> RemoteInvoice:
    invoice = _record(data, "Sales invoice", "reference")
    return RemoteInvoice(
        remote_id=invoice["id"].str(),
        reference=invoice["reference"].optional_str() or "",
        number=invoice["invoice_number"].optional_str() or "",
        status=invoice["status"]["id"].optional_str() or "",
        total=invoice["total_amount"].optional_decimal(),
    )


def organisations_from_businesses(data) -> list[RemoteOrganisation]:
    page = Payload(data, record="Businesses list")
    return [
        RemoteOrganisation(remote_id=business["id"].str(), name=business["name"].str())
        for business in page["$items"].list()
    ]


def tax_percentages(items: list[dict]) -> dict[str, Decimal]:
    rates = (_record(item, "Tax rate", "id") for item in items)
    return {rate["id"].str(): rate["percentage"].optional_decimal() or Decimal("0") for rate in rates}


# Ledger account types that take sales, and those that can be paid into (LedgerAccountType ids).
SALES_LEDGER_TYPES = {"SALES", "OTHER_INCOME"}
BANK_LEDGER_TYPES = {"BANK"}


def chart_accounts(items: list[dict]) -> list[RemoteAccount]:
    """Ledger accounts in the chart, by nominal code: the code merchants know and invoice lines
    are resolved from (see `ledger_account_ids`)."""
    accounts = []
    for item in items:
        account = _record(item, "Ledger account", "name")
        if not account["included_in_chart"].optional_bool(True):
            continue
        kind = account["ledger_account_type"]["id"].optional_str() or ""
        accounts.append(
            RemoteAccount(
                code=str(account["nominal_code"].int()),
                name=account["name"].optional_str() or account["displayed_as"].optional_str() or "",
                kind=(
                    AccountKind.BANK
                    if kind in BANK_LEDGER_TYPES
                    else AccountKind.SALES
                    if kind in SALES_LEDGER_TYPES
                    else AccountKind.OTHER
                ),
            )
        )
    return accounts


def visible_tax_rates(items: list[dict]) -> list[RemoteTaxRate]:
    rates = (_record(item, "Tax rate", "name") for item in items)
    return [
        RemoteTaxRate(
            code=rate["id"].str(),
            name=rate["displayed_as"].optional_str() or rate["name"].optional_str() or "",
            percentage=rate["percentage"].optional_decimal(),
        )
        for rate in rates
        if rate["is_visible"].optional_bool(True)
    ]


def ledger_account_ids(items: list[dict]) -> dict[str, str]:
    """Nominal code ("4000") -> ledger account id, for merchants who type the code they know."""
    accounts = (_record(item, "Ledger account", "id") for item in items)
    return {str(account["nominal_code"].int()): account["id"].str() for account in accounts}


def error_messages(data) -> list[str]:
    """Sage's own words from an error array of {$severity, $dataCode, $message, $source}
    (https://developer.sage.com/accounting/guides/concepts/response_codes/); [] if not that shape."""
    if not isinstance(data, list):
        return []
    messages = []
    for entry in data:
        if not isinstance(entry, dict) or not isinstance(entry.get("$message"), str):
            continue
        source = entry.get("$source")
        messages.append(f"{entry['$message']} ({source})" if source else entry["$message"])
    return messages


# Writes -----------------------------------------------------------------------------------------


def idempotency_id(key: str) -> str:
    """Sage wants "a random 32 character hyphenless GUID" in the resource namespace
    (https://developer.sage.com/accounting/guides/concepts/idempotency): a UUID key keeps its
    value, any other key is hashed to one, so the same draft always sends the same id."""
    try:
        return uuid.UUID(key).hex
    except ValueError:
        return hashlib.sha256(key.encode()).hexdigest()[:32]


def stock_item_body(product: NewProduct, *, idempotency_key: str) -> dict:
    fields: dict = {
        "item_code": product.code,
        "description": product.name,
        "idempotency_id": idempotency_id(idempotency_key),
    }
    if product.sale_price is not None:
        fields["sales_prices"] = [
            {"price_name": SELLING_PRICE, "price": str(product.sale_price), "price_includes_tax": False}
        ]
    if product.account_code:
        fields["sales_ledger_account"] = {"id": product.account_code}
    if product.tax_code:
        fields["sales_tax_rate"] = {"id": product.tax_code}
    return {"stock_item": fields}


def contact_body(customer: NewCustomer, *, idempotency_key: str) -> dict:
    fields: dict = {
        "name": customer.name,
        "contact_type_ids": ["CUSTOMER"],
        "idempotency_id": idempotency_id(idempotency_key),
    }
    if customer.account_number:
        fields["reference"] = customer.account_number
    if customer.email:
        fields["email"] = customer.email
    person_name = " ".join(part for part in (customer.first_name, customer.last_name) if part)
    if customer.email or customer.phone or person_name:
        fields["main_contact_person"] = {
            "name": person_name or customer.name,
            "email": customer.email or None,
            "telephone": customer.phone or None,
        }
    return {"contact": fields}


def _line_tax(line: InvoiceLineDraft, percentage: Decimal, *, includes_tax: bool) -> Decimal:
    amount = line.quantity * line.unit_price * (1 - (line.discount_rate or 0) / Decimal(100))
    if includes_tax:
        tax = amount * percentage / (Decimal(100) + percentage)
    else:
        tax = amount * percentage / Decimal(100)
    return tax.quantize(CENT, rounding=ROUND_HALF_UP)


def sales_invoice_body(
    draft: InvoiceDraft, *, tax_percentages: Mapping[str, Decimal], ledger_accounts: Mapping[str, str]
) -> dict:
    """`tax_percentages` is tax rate id -> percentage: v3.1 requires each line's `tax_amount`
    "unless the tax rate is of a zero, exempt or no_tax type", so we compute it. `ledger_accounts`
    maps nominal codes to ids; a code not in it is taken to be an id already."""
    lines = []
    for line in draft.lines:
        fields: dict = {
            "description": line.description,
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_price),
            "unit_price_includes_tax": draft.amounts_include_tax,
        }
        if line.account_code:
            fields["ledger_account"] = {"id": ledger_accounts.get(line.account_code, line.account_code)}
        if line.product_remote_id:
            fields["product"] = {"id": line.product_remote_id}
        if line.discount_rate:
            fields["discount_percentage"] = str(line.discount_rate)
        if line.tax_code:
            fields["tax_rate"] = {"id": line.tax_code}
            if line.tax_code in tax_percentages:
                fields["tax_amount"] = str(
                    _line_tax(line, tax_percentages[line.tax_code], includes_tax=draft.amounts_include_tax)
                )
        lines.append(fields)
    invoice: dict = {
        "contact": {"id": draft.customer_remote_id},
        "date": draft.issued_on.isoformat(),
        "reference": draft.reference,
        "idempotency_id": idempotency_id(draft.idempotency_key),
        "invoice_lines": lines,
    }
    if draft.due_on:
        invoice["due_date"] = draft.due_on.isoformat()
    if draft.currency:
        invoice["currency"] = {"id": draft.currency}
    return {"sales_invoice": invoice}


def invoice_result(draft: InvoiceDraft, data) -> InvoiceResult:
    return InvoiceResult(reference=draft.reference, invoice=invoice_from_sales_invoice(data))


# Credit notes and contact payments ---------------------------------------------------------------


def sales_credit_note_body(
    draft: InvoiceDraft, *, tax_percentages: Mapping[str, Decimal], ledger_accounts: Mapping[str, str]
) -> dict:
    """A refund as a sales credit note: the invoice's fields, with `credit_note_lines` in the
    `sales_credit_note` namespace (idempotency_id supported there too, FACTS 2.6)."""
    fields = sales_invoice_body(draft, tax_percentages=tax_percentages, ledger_accounts=ledger_accounts)[
        "sales_invoice"
    ]
    fields["credit_note_lines"] = fields.pop("invoice_lines")
    return {"sales_credit_note": fields}


def credit_note_from_sales_credit_note(data) -> RemoteInvoice:
    note = _record(data, "Sales credit note", "reference")
    return RemoteInvoice(
        remote_id=note["id"].str(),
        reference=note["reference"].optional_str() or "",
        number=note["credit_note_number"].optional_str() or "",
        status=note["status"]["id"].optional_str() or "",
        total=note["total_amount"].optional_decimal(),
    )


def bank_account_ids(items: list[dict]) -> dict[str, str]:
    """Nominal code ("1200") -> bank account id: contact payments name the bank account, which
    merchants know by its ledger's nominal code."""
    accounts = (_record(item, "Bank account", "id") for item in items)
    return {str(account["nominal_code"].int()): account["id"].str() for account in accounts}


def contact_payment_body(draft: PaymentDraft, *, bank_account_id: str) -> dict:
    """A customer receipt allocated to the invoice it pays, or a customer refund allocated to the
    credit note it pays out (https://developer.sage.com/accounting/guides/concepts/payments)."""
    payment = {
        "transaction_type_id": "CUSTOMER_REFUND" if draft.refund else "CUSTOMER_RECEIPT",
        "contact_id": draft.contact_remote_id,
        "bank_account_id": bank_account_id,
        "date": draft.paid_on.isoformat(),
        "total_amount": str(draft.amount),
        "reference": draft.reference,
        "idempotency_id": idempotency_id(draft.idempotency_key),
        "allocated_artefacts": [{"artefact_id": draft.document_remote_id, "amount": str(draft.amount)}],
    }
    return {"contact_payment": payment}


def payment_from_contact_payment(data) -> RemotePayment:
    payment = _record(data, "Contact payment", "reference")
    return RemotePayment(
        remote_id=payment["id"].str(),
        reference=payment["reference"].optional_str() or "",
        amount=payment["total_amount"].optional_decimal(),
    )


def payment_allocated_to(data, document_id: str) -> bool:
    payment = _record(data, "Contact payment", "reference")
    return any(
        allocation["artefact"]["id"].optional_str() == document_id
        for allocation in payment["allocated_artefacts"].optional_list()
    )
