"""Xero Accounting JSON <-> neutral records. The only Xero module that reads provider JSON.

Field names: https://developer.xero.com/documentation/api/accounting/items ,
.../contacts and .../invoices (and `shared/providers/xero_accounting.yaml`).
"""

from __future__ import annotations

from decimal import Decimal

from connectors.errors import ProviderBug
from connectors.payload import Payload
from connectors.records import (
    AccountKind,
    CustomerResult,
    InvoiceDraft,
    InvoiceResult,
    NewCustomer,
    NewProduct,
    PaymentDraft,
    PaymentResult,
    RemoteAccount,
    RemoteCustomer,
    RemoteInvoice,
    RemoteOrganisation,
    RemotePayment,
    RemoteProduct,
    RemoteStock,
    RemoteTaxRate,
)

# Xero keeps one stock pool per organisation, so every tracked item has a single position.
STOCK_LOCATION_ID = "xero"
STOCK_LOCATION_NAME = "Xero"


# Account Types that take sales (https://developer.xero.com/documentation/api/accounting/types#accounts).
SALES_ACCOUNT_TYPES = {"REVENUE", "SALES", "OTHERINCOME"}


def live_accounts(body) -> list[RemoteAccount]:
    """The ACTIVE accounts of a GET /Accounts answer; archived ones cannot take new postings.
    Bank accounts, and others enabled for payments, can be paid into."""
    accounts = []
    for account in Payload(body, record="Accounts response")["Accounts"].list():
        if account["Status"].optional_str() not in (None, "ACTIVE") or "Code" not in account:
            continue
        kind = account["Type"].optional_str() or ""
        payable = kind == "BANK" or account["EnablePaymentsToAccount"].optional_bool(False)
        accounts.append(
            RemoteAccount(
                code=account["Code"].str(),
                name=account["Name"].optional_str() or "",
                kind=(
                    AccountKind.BANK
                    if payable
                    else AccountKind.SALES
                    if kind in SALES_ACCOUNT_TYPES
                    else AccountKind.OTHER
                ),
            )
        )
    return accounts


def live_tax_rates(body) -> list[RemoteTaxRate]:
    rates = Payload(body, record="TaxRates response")["TaxRates"].list()
    return [
        RemoteTaxRate(
            code=rate["TaxType"].str(),
            name=rate["Name"].optional_str() or "",
            percentage=rate["EffectiveRate"].optional_decimal(),
        )
        for rate in rates
        if rate["Status"].optional_str() in (None, "ACTIVE")
    ]


def _item_payload(data) -> Payload:
    code = data.get("Code") if isinstance(data, dict) else None
    return Payload(data, record=f"Item {code!r}" if code else "Item")


def item_to_product(data) -> RemoteProduct:
    item = _item_payload(data)
    sales = item["SalesDetails"]
    return RemoteProduct(
        remote_id=item["ItemID"].str(),
        code=item["Code"].str(),
        name=item["Name"].optional_str() or "",
        description=item["Description"].optional_str() or "",
        sale_price=sales["UnitPrice"].optional_decimal(),
        purchase_price=item["PurchaseDetails"]["UnitPrice"].optional_decimal(),
        tax_code=sales["TaxType"].optional_str() or "",
        tracks_stock=item["IsTrackedAsInventory"].optional_bool(False),
        updated_at=item["UpdatedDateUTC"].optional_datetime(),
    )


def item_to_stock(data) -> RemoteStock | None:
    """The stock position of a tracked item; None for an untracked one (Xero counts no stock)."""
    item = _item_payload(data)
    if not item["IsTrackedAsInventory"].optional_bool(False):
        return None
    return RemoteStock(
        product_remote_id=item["ItemID"].str(),
        location_remote_id=STOCK_LOCATION_ID,
        location_name=STOCK_LOCATION_NAME,
        quantity=item["QuantityOnHand"].optional_decimal() or Decimal(0),
        product_code=item["Code"].str(),
        updated_at=item["UpdatedDateUTC"].optional_datetime(),
    )


def product_to_item(product: NewProduct) -> dict:
    sales: dict = {}
    if product.sale_price is not None:
        sales["UnitPrice"] = float(product.sale_price)
    if product.account_code:
        sales["AccountCode"] = product.account_code
    if product.tax_code:
        sales["TaxType"] = product.tax_code
    item = {"Code": product.code, "Name": product.name[:50], "IsSold": True}
    if sales:
        item["SalesDetails"] = sales
    return item


def contact_to_customer(data) -> RemoteCustomer:
    name = data.get("Name") if isinstance(data, dict) else None
    contact = Payload(data, record=f"Contact {name!r}" if name else "Contact")
    return RemoteCustomer(
        remote_id=contact["ContactID"].str(),
        name=contact["Name"].str(),
        email=contact["EmailAddress"].optional_str() or "",
        # ContactNumber is the API-writable key; AccountNumber the one people type in Xero.
        account_number=contact["AccountNumber"].optional_str()
        or contact["ContactNumber"].optional_str()
        or "",
        first_name=contact["FirstName"].optional_str() or "",
        last_name=contact["LastName"].optional_str() or "",
        phone=_default_phone(contact),
        active=(contact["ContactStatus"].optional_str() or "ACTIVE") == "ACTIVE",
        updated_at=contact["UpdatedDateUTC"].optional_datetime(),
    )


def _default_phone(contact: Payload) -> str:
    for phone in contact["Phones"].optional_list():
        number = phone["PhoneNumber"].optional_str()
        if number and phone["PhoneType"].optional_str() in ("DEFAULT", "MOBILE"):
            area = phone["PhoneAreaCode"].optional_str()
            return f"{area} {number}" if area else number
    return ""


def customer_to_contact(customer: NewCustomer) -> dict:
    contact = {"Name": customer.name}
    optional = {
        "EmailAddress": customer.email,
        "AccountNumber": customer.account_number,
        "FirstName": customer.first_name,
        "LastName": customer.last_name,
    }
    contact.update({key: value for key, value in optional.items() if value})
    if customer.phone:
        contact["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": customer.phone}]
    return contact


def contact_results(customers, response) -> list[CustomerResult]:
    """One result per customer from a `summarizeErrors=false` PUT /Contacts answer, which lists
    the contacts in the order they were sent, a refused one with its own ValidationErrors."""
    elements = Payload(response, record="Contacts response")["Contacts"].list()
    if len(elements) != len(customers):
        raise ProviderBug(
            f"Contacts response: Contacts has {len(elements)} contacts for {len(customers)} sent"
        )
    results = []
    for element in elements:
        messages = tuple(error["Message"].str() for error in element["ValidationErrors"].optional_list())
        if messages or element["StatusAttributeString"].optional_str() == "ERROR":
            results.append(CustomerResult(errors=messages or ("Refused by Xero",)))
        else:
            results.append(CustomerResult(customer=contact_to_customer(element.raw)))
    return results


def draft_to_invoice(draft: InvoiceDraft) -> dict:
    """A sales invoice (ACCREC). InvoiceNumber is left to Xero's own sequence; our sale number
    goes in Reference, which `find_invoice_by_reference` searches."""
    # Any contact field besides ContactID would update the contact in Xero, so send the id alone
    # unless the sale brings details for a contact that has none yet.
    contact: dict = {"ContactID": draft.customer_remote_id} if draft.customer_remote_id else {}
    if draft.customer_details is not None:
        contact.update(customer_to_contact(draft.customer_details))
    invoice = {
        "Type": "ACCREC",
        "Contact": contact,
        "Reference": draft.reference,
        "Date": draft.issued_on.isoformat(),
        "Status": "AUTHORISED",
        "LineAmountTypes": "Inclusive" if draft.amounts_include_tax else "Exclusive",
        "LineItems": [_line(line) for line in draft.lines],
    }
    # A till sale is due when it is made.
    invoice["DueDate"] = (draft.due_on or draft.issued_on).isoformat()
    if draft.currency:
        invoice["CurrencyCode"] = draft.currency
    return invoice


def _line(line) -> dict:
    item = {
        "Description": line.description,
        "Quantity": float(line.quantity),
        "UnitAmount": float(line.unit_price),
    }
    if line.product_code:
        item["ItemCode"] = line.product_code
    if line.account_code:
        item["AccountCode"] = line.account_code
    if line.tax_code:
        item["TaxType"] = line.tax_code
    if line.discount_rate is not None:
        item["DiscountRate"] = float(line.discount_rate)
    return item


def invoice_to_remote(data) -> RemoteInvoice:
    invoice = Payload(data, record=_invoice_record(data))
    return RemoteInvoice(
        remote_id=invoice["InvoiceID"].str(),
        reference=invoice["Reference"].optional_str() or "",
        number=invoice["InvoiceNumber"].optional_str() or "",
        status=invoice["Status"].optional_str() or "",
        total=invoice["Total"].optional_decimal(),
    )


def invoice_results(drafts, response) -> list[InvoiceResult]:
    """One result per draft from a `summarizeErrors=false` answer, which lists the invoices in the
    order they were sent, each marked OK, WARNING or ERROR with its own ValidationErrors."""
    body = Payload(response, record="Invoices response")
    elements = body["Invoices"].list()
    if len(elements) != len(drafts):
        raise ProviderBug(f"Invoices response: Invoices has {len(elements)} invoices for {len(drafts)} sent")
    results = []
    for draft, element in zip(drafts, elements, strict=True):
        status = element["StatusAttributeString"].optional_str() or "OK"
        messages = tuple(error["Message"].str() for error in element["ValidationErrors"].optional_list())
        if status == "ERROR" or element["HasErrors"].optional_bool(False):
            results.append(InvoiceResult(reference=draft.reference, errors=messages or ("Refused by Xero",)))
        else:
            results.append(InvoiceResult(reference=draft.reference, invoice=invoice_to_remote(element.raw)))
    return results


def _invoice_record(data) -> str:
    if isinstance(data, dict) and data.get("Reference"):
        return f"Invoice {data['Reference']!r}"
    return "Invoice"


def validation_messages(data) -> list[str]:
    """The messages of a ValidationException: per element, else the exception's own Message."""
    body = Payload(data, record="Xero error")
    if not isinstance(body.raw, dict):
        return []
    messages = [
        error["Message"].optional_str() or ""
        for element in body["Elements"].optional_list()
        for error in element["ValidationErrors"].optional_list()
    ]
    messages = [message for message in messages if message]
    if messages:
        return messages
    single = body["Message"].optional_str() or body["Detail"].optional_str() or body["Title"].optional_str()
    return [single] if single else []


def connection_to_organisation(data) -> RemoteOrganisation:
    connection = Payload(data, record="Connection")
    return RemoteOrganisation(
        remote_id=connection["tenantId"].str(), name=connection["tenantName"].optional_str() or ""
    )


# Credit notes and payments -----------------------------------------------------------------------


def draft_to_credit_note(draft: InvoiceDraft) -> dict:
    """A refund as a sales credit note (ACCRECCREDIT), filed under our refund number in Reference
    (https://developer.xero.com/documentation/api/accounting/creditnotes)."""
    note = draft_to_invoice(draft)
    note["Type"] = "ACCRECCREDIT"
    del note["DueDate"]
    return note


def credit_note_to_remote(data) -> RemoteInvoice:
    note = Payload(data, record=_invoice_record(data).replace("Invoice", "Credit note"))
    return RemoteInvoice(
        remote_id=note["CreditNoteID"].str(),
        reference=note["Reference"].optional_str() or "",
        number=note["CreditNoteNumber"].optional_str() or "",
        status=note["Status"].optional_str() or "",
        total=note["Total"].optional_decimal(),
    )


def credit_note_results(drafts, response) -> list[InvoiceResult]:
    return [
        InvoiceResult(reference=draft.reference, invoice=credit_note_to_remote(raw))
        if not errors
        else InvoiceResult(reference=draft.reference, errors=errors)
        for draft, raw, errors in _elements(drafts, response, "CreditNotes")
    ]


def draft_to_payment(draft: PaymentDraft) -> dict:
    """A payment against an invoice, or a refund paid out against a credit note, from the bank
    account whose Code is given (https://developer.xero.com/documentation/api/accounting/payments)."""
    document = (
        {"CreditNote": {"CreditNoteID": draft.document_remote_id}}
        if draft.refund
        else {"Invoice": {"InvoiceID": draft.document_remote_id}}
    )
    return {
        **document,
        "Account": {"Code": draft.account_code},
        "Date": draft.paid_on.isoformat(),
        "Amount": float(draft.amount),
        "Reference": draft.reference,
    }


def payment_to_remote(data) -> RemotePayment:
    payment = Payload(data, record="Payment")
    return RemotePayment(
        remote_id=payment["PaymentID"].str(),
        reference=payment["Reference"].optional_str() or "",
        amount=payment["Amount"].optional_decimal(),
    )


def payment_document_id(data) -> str:
    """The InvoiceID or CreditNoteID a payment from GET /Payments was made against."""
    payment = Payload(data, record="Payment")
    invoice_id = payment["Invoice"]["InvoiceID"].optional_str()
    return invoice_id or payment["CreditNote"]["CreditNoteID"].optional_str() or ""


def payment_results(drafts, response) -> list[PaymentResult]:
    return [
        PaymentResult(reference=draft.reference, payment=payment_to_remote(raw))
        if not errors
        else PaymentResult(reference=draft.reference, errors=errors)
        for draft, raw, errors in _elements(drafts, response, "Payments")
    ]


def _elements(drafts, response, key: str):
    """(draft, element, errors) per draft of a `summarizeErrors=false` answer, which lists the
    elements in the order they were sent, each marked OK, WARNING or ERROR (FACTS 1.6)."""
    elements = Payload(response, record=f"{key} response")[key].list()
    if len(elements) != len(drafts):
        raise ProviderBug(f"{key} response: {key} has {len(elements)} elements for {len(drafts)} sent")
    for draft, element in zip(drafts, elements, strict=True):
        status = element["StatusAttributeString"].optional_str() or "OK"
        messages = tuple(error["Message"].str() for error in element["ValidationErrors"].optional_list())
        failed = status == "ERROR" or element["HasErrors"].optional_bool(False) or bool(messages)
        yield draft, element.raw, (messages or ("Refused by Xero",)) if failed else ()
