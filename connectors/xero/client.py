"""Xero Accounting API 2.0 connector: items (and their stock), contacts and sales invoices."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import requests

from connectors.base import Connector, Page, Window
from connectors.errors import ProviderBug, ValidationFailed
from connectors.payload import Payload
from connectors.records import (
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
from connectors.xero import mapping
from connectors.xero.provider import XERO

CONTACTS_PAGE_SIZE = 1000
# Xero's If-Modified-Since is accurate to the second and refuses milliseconds (FACTS 1.3); the
# explicit UTC offset is the spec's date-time format and leaves no room for a local-time reading.
CURSOR_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"


class XeroConnector(Connector):
    spec = XERO

    # Hooks ------------------------------------------------------------------------------------

    def authenticate(self, request: requests.PreparedRequest) -> None:
        # Every accounting call names its organisation (xero_identity.yaml, requiredHeader);
        # /connections, which lists them, must go without it.
        if "/api.xro/" in (request.url or ""):
            request.headers["xero-tenant-id"] = self.session.connection.remote_org_id

    def error_messages(self, response: requests.Response) -> list[str]:
        try:
            body = response.json()
        except ValueError:
            return super().error_messages(response)
        return mapping.validation_messages(body) or super().error_messages(response)

    def remaining_calls(self, response: requests.Response) -> dict[Window, int]:
        # https://developer.xero.com/faq/limits : per-organisation minute and day counters.
        remaining = {}
        for header, window in (("X-MinLimit-Remaining", Window.MINUTE), ("X-DayLimit-Remaining", Window.DAY)):
            value = response.headers.get(header, "").strip()
            if value.isdigit():
                remaining[window] = int(value)
        return remaining

    # Organisations -----------------------------------------------------------------------------

    def list_organisations(self) -> list[RemoteOrganisation]:
        body = self.session.get_json(self.spec.oauth.organisations_path, purpose="connections")
        if not isinstance(body, list):
            raise ProviderBug("Xero connections: the answer is not a list")
        return [mapping.connection_to_organisation(connection) for connection in body]

    # Settings: accounts and tax rates a mapping may name ------------------------------------------

    def list_accounts(self) -> list[RemoteAccount]:
        # GET /Accounts is not paged: the whole chart in one call (FACTS 1.4).
        return mapping.live_accounts(self.session.get_json("Accounts", purpose="list accounts"))

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        return mapping.live_tax_rates(self.session.get_json("TaxRates", purpose="list tax rates"))

    # Items and stock ----------------------------------------------------------------------------

    def _items(self, *, since: str | None, purpose: str) -> tuple[list, str | None]:
        """Every item changed after `since`, and the cursor to continue from. GET /Items is not
        paged, so a whole feed is one call (FACTS 1.4)."""
        headers = {"If-Modified-Since": since} if since else None
        body = self.session.get_json("Items", headers=headers, purpose=purpose)
        items = Payload(body, record="Items response")["Items"].list()
        moments = [item["UpdatedDateUTC"].optional_datetime() for item in items]
        return [item.raw for item in items], _latest(moments, since)

    def pull_products(self, *, since: str | None, page: str | None) -> Page[RemoteProduct]:
        items, cursor = self._items(since=since, purpose="pull products")
        return Page([mapping.item_to_product(item) for item in items], None, cursor)

    def pull_stock(self, *, since: str | None, page: str | None) -> Page[RemoteStock]:
        items, cursor = self._items(since=since, purpose="pull stock")
        positions = [mapping.item_to_stock(item) for item in items]
        return Page([p for p in positions if p is not None], None, cursor)

    def find_products_by_ids(self, ids: Sequence[str]) -> list[RemoteProduct]:
        # Items have no IDs= filter, and GET /Items/{id} costs a call per item: one unpaged
        # GET /Items answers any number of ids in a single call (FACTS 6.5).
        wanted = set(ids)
        if not wanted:
            return []
        items, _ = self._items(since=None, purpose="sweep products")
        products = [mapping.item_to_product(item) for item in items]
        return [product for product in products if product.remote_id in wanted]

    def stock_for_products(self, ids: Sequence[str]) -> list[RemoteStock]:
        wanted = set(ids)
        items, _ = self._items(since=None, purpose="stock for products")
        positions = [mapping.item_to_stock(item) for item in items]
        return [p for p in positions if p is not None and p.product_remote_id in wanted]

    def find_products_by_code(self, codes: Sequence[str]) -> list[RemoteProduct]:
        wanted = [code for code in dict.fromkeys(codes) if code]
        if not wanted:
            return []
        # One call: where=Code=="A" OR Code=="B". Quotes cannot be escaped in a where clause,
        # so a code holding one is looked for among all items instead.
        plain = [code for code in wanted if '"' not in code]
        params = (
            {"where": " OR ".join(f'Code=="{code}"' for code in plain)} if len(plain) == len(wanted) else None
        )
        body = self.session.get_json("Items", params=params, purpose="find products by code")
        items = Payload(body, record="Items response")["Items"].list()
        products = [mapping.item_to_product(item.raw) for item in items]
        return [product for product in products if product.code in wanted]

    def create_product(self, product: NewProduct, *, idempotency_key: str) -> RemoteProduct:
        body = self.session.send_json(
            "PUT",
            "Items",
            params={"summarizeErrors": "false"},
            json={"Items": [mapping.product_to_item(product)]},
            headers={"Idempotency-Key": idempotency_key},
            idempotent=True,
            purpose="create product",
        )
        [item] = _created(body, "Items", product.code)
        return mapping.item_to_product(item)

    # Contacts -----------------------------------------------------------------------------------

    def pull_customers(self, *, since: str | None, page: str | None) -> Page[RemoteCustomer]:
        """Contacts page by page, archived ones included (ARCHIVED is how Xero deletes them).

        The cursor is Xero's own clock when page 1 was read (the envelope's DateTimeUTC, FACTS
        1.3), carried in the page token: every change before that moment is in this read, and a
        contact changed while we page is read again next time instead of being skipped. Pages are
        ordered by ContactID, which never changes, so an edit cannot shift a contact past us."""
        number, started = _page_token(page)
        headers = {"If-Modified-Since": since} if since else None
        params = {
            "page": number,
            "pageSize": CONTACTS_PAGE_SIZE,
            "includeArchived": "true",
            "order": "ContactID",
        }
        body = self.session.get_json("Contacts", params=params, headers=headers, purpose="pull customers")
        envelope = Payload(body, record="Contacts response")
        contacts = envelope["Contacts"].list()
        started = started or envelope["DateTimeUTC"].optional_datetime()
        records = [mapping.contact_to_customer(contact.raw) for contact in contacts]
        if len(contacts) == CONTACTS_PAGE_SIZE:
            return Page(records, f"{number + 1}|{started.isoformat() if started else ''}", None)
        if started is None:
            return Page(records, None, _latest([r.updated_at for r in records], since))
        return Page(records, None, _second(started))

    def find_customer(
        self, *, email: str | None = None, account_number: str | None = None
    ) -> list[RemoteCustomer]:
        if email:
            # searchTerm matches part of Name, names, ContactNumber or EmailAddress, case aside
            # (xero_accounting.yaml getContacts); the exact match is ours.
            params = {"searchTerm": email.strip(), "includeArchived": "false"}
        elif account_number:
            params = {"where": f'AccountNumber=="{account_number.replace(chr(34), "")}"'}
        else:
            return []
        body = self.session.get_json("Contacts", params=params, purpose="find customer")
        contacts = Payload(body, record="Contacts response")["Contacts"].list()
        customers = [mapping.contact_to_customer(contact.raw) for contact in contacts]
        if email:
            wanted = email.strip().lower()
            return [c for c in customers if c.active and c.email.lower() == wanted]
        return [c for c in customers if c.active and c.account_number == account_number]

    def create_customer(self, customer: NewCustomer, *, idempotency_key: str) -> RemoteCustomer:
        body = self.session.send_json(
            "PUT",
            "Contacts",
            params={"summarizeErrors": "false"},
            json={"Contacts": [mapping.customer_to_contact(customer)]},
            headers={"Idempotency-Key": idempotency_key},
            idempotent=True,
            purpose="create customer",
        )
        [contact] = _created(body, "Contacts", customer.name)
        return mapping.contact_to_customer(contact)

    # Invoices -----------------------------------------------------------------------------------

    def post_invoices(self, invoices: Sequence[InvoiceDraft]) -> list[InvoiceResult]:
        """One PUT per `invoice_batch_size` drafts. summarizeErrors=false makes Xero answer 200
        with each invoice marked OK or ERROR, so one bad invoice fails alone and the good ones come
        back with their ids (FACTS 1.6). Each call's Idempotency-Key is derived from its drafts'
        own keys, so a retry of the same batch within Xero's ~6 minutes gets the first answer
        instead of duplicates."""
        drafts = list(invoices)
        size = self.spec.invoice_batch_size
        results: list[InvoiceResult] = []
        for start in range(0, len(drafts), size):
            batch = drafts[start : start + size]
            body = self.session.send_json(
                "PUT",
                "Invoices",
                params={"summarizeErrors": "false"},
                json={"Invoices": [mapping.draft_to_invoice(draft) for draft in batch]},
                headers={"Idempotency-Key": batch_idempotency_key(batch)},
                idempotent=True,
                purpose="post invoices",
            )
            results.extend(mapping.invoice_results(batch, body))
        return results

    def find_invoice_by_reference(self, reference: str) -> RemoteInvoice | None:
        # searchTerm covers InvoiceNumber and Reference without the unoptimised `where` that large
        # organisations refuse (freakboy3742/pyxero#373); the exact match is ours.
        body = self.session.get_json(
            "Invoices",
            params={"searchTerm": reference, "page": 1, "summaryOnly": "true"},
            purpose="find invoice by reference",
        )
        invoices = Payload(body, record="Invoices response")["Invoices"].list()
        found = [mapping.invoice_to_remote(invoice.raw) for invoice in invoices]
        live = [i for i in found if i.reference == reference and i.status not in ("DELETED", "VOIDED")]
        return live[0] if live else None

    # Credit notes and payments: batched and keyed like invoices ----------------------------------

    def post_credit_notes(self, credit_notes: Sequence[InvoiceDraft]) -> list[InvoiceResult]:
        return self._put_batches(
            "CreditNotes", credit_notes, mapping.draft_to_credit_note, mapping.credit_note_results
        )

    def find_credit_note_by_reference(self, reference: str) -> RemoteInvoice | None:
        # GET /CreditNotes has no searchTerm; a where on Reference is the documented filter.
        if '"' in reference:
            return None
        body = self.session.get_json(
            "CreditNotes",
            params={"where": f'Reference=="{reference}"', "page": 1},
            purpose="find credit note by reference",
        )
        notes = Payload(body, record="CreditNotes response")["CreditNotes"].list()
        found = [mapping.credit_note_to_remote(note.raw) for note in notes]
        live = [n for n in found if n.reference == reference and n.status not in ("DELETED", "VOIDED")]
        return live[0] if live else None

    def post_payments(self, payments: Sequence[PaymentDraft]) -> list[PaymentResult]:
        """PUT /Payments takes many payments per call, with per-payment results under
        summarizeErrors=false, like invoices (xero_accounting.yaml createPayments)."""
        return self._put_batches("Payments", payments, mapping.draft_to_payment, mapping.payment_results)

    def find_payment(self, payment: PaymentDraft) -> RemotePayment | None:
        if '"' in payment.reference:
            return None
        body = self.session.get_json(
            "Payments",
            params={"where": f'Reference=="{payment.reference}"', "page": 1},
            purpose="find payment",
        )
        for element in Payload(body, record="Payments response")["Payments"].list():
            found = mapping.payment_to_remote(element.raw)
            live = element["Status"].optional_str() != "DELETED"
            if live and mapping.payment_document_id(element.raw) == payment.document_remote_id:
                return found
        return None

    def _put_batches(self, key: str, drafts, to_json, read_results) -> list:
        drafts = list(drafts)
        size = self.spec.invoice_batch_size
        results = []
        for start in range(0, len(drafts), size):
            batch = drafts[start : start + size]
            body = self.session.send_json(
                "PUT",
                key,
                params={"summarizeErrors": "false"},
                json={key: [to_json(draft) for draft in batch]},
                headers={"Idempotency-Key": batch_idempotency_key(batch, key.lower())},
                idempotent=True,
                purpose=f"post {key.lower()}",
            )
            results.extend(read_results(batch, body))
        return results


def batch_idempotency_key(drafts: Sequence[InvoiceDraft | PaymentDraft], kind: str = "invoices") -> str:
    """At most 128 characters (Xero's limit), the same for the same drafts in the same order."""
    joined = "\n".join(draft.idempotency_key for draft in drafts)
    return f"{kind}-{hashlib.sha256(joined.encode()).hexdigest()}"


def _created(body, key: str, name: str) -> list[dict]:
    """The saved elements of a summarizeErrors=false answer; a refused one raises."""
    elements = Payload(body, record=f"{key} response")[key].list()
    errors = [
        error["Message"].str()
        for element in elements
        for error in element["ValidationErrors"].optional_list()
    ]
    if errors:
        raise ValidationFailed(f"Xero refused {name!r}: {'; '.join(errors)}", messages=errors)
    return [element.raw for element in elements]


def _second(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(CURSOR_FORMAT)


def _latest(moments, since: str | None) -> str | None:
    """The latest change seen, truncated to the second (Xero compares to the second, so the
    truncation can only re-read, never skip), or `since` when nothing changed."""
    moments = [moment for moment in moments if moment]
    return _second(max(moments)) if moments else since


def _page_token(page: str | None) -> tuple[int, datetime | None]:
    if not page:
        return 1, None
    number, _, started = page.partition("|")
    return int(number), datetime.fromisoformat(started) if started else None
