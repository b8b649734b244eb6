"""Xero Accounting API 2.0 connector: items (and their stock), contacts and sales invoices."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from urllib.parse import quote_plus

import ijson
import requests

from connectors.base import Connector, Page, Window
from connectors.errors import ProviderBug, TransientError, ValidationFailed
from connectors.payload import Payload
from connectors.records import (
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
from connectors.xero import mapping
from connectors.xero.provider import XERO

CONTACTS_PAGE_SIZE = 1000
# Items handed to the sync per page of the one streamed GET /Items: a page is one statement per
# table when stored, and a few pages at most are in memory (read ahead) whatever the catalogue.
ITEMS_PAGE_SIZE = 5000
# Bytes read from the Items stream at a time; the first are kept to explain an answer without items.
ITEMS_CHUNK_BYTES = 64 * 1024
# Contacts per PUT /Contacts: Xero recommends about 50 elements a request (FACTS 1.6).
CONTACTS_BATCH_SIZE = 50
# Searches by reference or email read pages of 100 (GET /Invoices' documented page; pageSize is 1..1000).
SEARCH_PAGE_SIZE = 100
# A `where` longer than this, once URL-encoded, goes in several calls: 53 GUIDs in IDs= (about
# 2,060 characters) already answer 404 while 50 (about 1,950) pass (FACTS 1.4), which fits a
# 2,048-character limit on the query string; the margin leaves room for the other parameters.
MAX_WHERE_CHARS = 1800
# Xero's If-Modified-Since is accurate to the second and refuses milliseconds (FACTS 1.3); the
# explicit UTC offset is the spec's date-time format and leaves no room for a local-time reading.
CURSOR_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"


class XeroConnector(Connector):
    spec = XERO
    # The GET /Items that pull_products or pull_stock is handing out page by page.
    _item_feed: _ItemFeed | None = None

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

    def _items(self, *, since: str | None, purpose: str, envelope: dict | None = None) -> Iterator[dict]:
        """Every item changed after `since`, decoded one at a time as the answer arrives. GET
        /Items is not paged (FACTS 1.4): the whole catalogue is one call and one body, which is
        never held whole. The envelope's own fields (`DateTimeUTC`) go into `envelope`."""
        headers = {"If-Modified-Since": since} if since else None
        response = self.session.request("GET", "Items", headers=headers, purpose=purpose, stream=True)
        body = _Body(response)
        count = 0
        try:
            # ijson's C backend builds each item itself; building them from its events in Python
            # cost more than the rest of the read.
            for item in ijson.items(body, "Items.item", use_float=True):
                count += 1
                yield item
        except ijson.JSONError as exc:
            raise ProviderBug(f"Xero's Items response is not JSON after {count} items ({exc}).") from None
        except requests.RequestException as exc:
            raise TransientError(f"Xero's Items response broke off after {count} items ({exc}).") from None
        finally:
            response.close()
        if envelope is not None:
            envelope.update(_envelope(body.head))
        if not count:
            # Nothing decoded: an empty list, or an answer shaped wrong, which is short and named.
            try:
                envelope = json.loads(bytes(body.head) or b"null")
            except ValueError:
                raise ProviderBug("Xero's Items response holds no list of items.") from None
            Payload(envelope, record="Items response")["Items"].list()

    def _item_page(self, since: str | None, page: str | None, purpose: str, to_record: Callable) -> Page:
        """The next `ITEMS_PAGE_SIZE` items of one streamed GET /Items. The open answer stays with
        this connector from page to page; the cursor comes with the last page only, because items
        do not arrive in the order they changed."""
        if page is None:
            envelope: dict = {}
            items = self._items(since=since, purpose=purpose, envelope=envelope)
            self._item_feed = _ItemFeed(items, since, envelope)
        feed = self._item_feed
        if feed is None or page != feed.token:
            raise ValueError(f"Page {page!r} does not continue this connector's read of Xero's items.")
        return feed.next_page(to_record)

    def pull_products(self, *, since: str | None, page: str | None) -> Page[RemoteProduct]:
        return self._item_page(since, page, "pull products", mapping.item_to_product)

    def pull_stock(self, *, since: str | None, page: str | None) -> Page[RemoteStock]:
        return self._item_page(since, page, "pull stock", mapping.item_to_stock)

    def find_products_by_ids(self, ids: Sequence[str]) -> list[RemoteProduct]:
        # Items have no IDs= filter, and GET /Items/{id} costs a call per item: one unpaged
        # GET /Items answers any number of ids in a single call (FACTS 6.5).
        wanted = set(ids)
        if not wanted:
            return []
        products = map(mapping.item_to_product, self._items(since=None, purpose="sweep products"))
        return [product for product in products if product.remote_id in wanted]

    def stock_for_products(self, ids: Sequence[str]) -> list[RemoteStock]:
        wanted = set(ids)
        positions = map(mapping.item_to_stock, self._items(since=None, purpose="stock for products"))
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

    def find_customers(
        self, *, emails: Sequence[str] = (), account_numbers: Sequence[str] = ()
    ) -> list[RemoteCustomer]:
        """`where=EmailAddress=="a@x" OR AccountNumber=="A-1" ...`, as many clauses a call as the
        URL allows (about 40 emails). Whether Xero's == ignores case is not documented, so each
        email goes as we hold it and lower-cased (the form we create contacts with is the one we
        hold, so a contact created by a lost call is always found); the exact match is ours,
        case aside. A value holding a quote cannot be in a where clause: it is looked up alone."""
        emails = list(dict.fromkeys(email.strip() for email in emails if email.strip()))
        accounts = list(dict.fromkeys(account.strip() for account in account_numbers if account.strip()))
        found: dict[str, RemoteCustomer] = {}
        clauses = []
        for email in emails:
            if '"' in email:
                found.update((c.remote_id, c) for c in self.find_customer(email=email))
            else:
                clauses.extend(f'EmailAddress=="{value}"' for value in dict.fromkeys((email, email.lower())))
        for account in accounts:
            if '"' in account:
                found.update((c.remote_id, c) for c in self.find_customer(account_number=account))
            else:
                clauses.append(f'AccountNumber=="{account}"')
        for element in self._search("Contacts", clauses, purpose="find customers"):
            customer = mapping.contact_to_customer(element)
            found.setdefault(customer.remote_id, customer)
        wanted_emails, wanted_accounts = {e.lower() for e in emails}, set(accounts)
        return [
            c
            for c in found.values()
            if c.active and (c.email.strip().lower() in wanted_emails or c.account_number in wanted_accounts)
        ]

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

    def create_customers(
        self, customers: Sequence[NewCustomer], *, idempotency_keys: Sequence[str]
    ) -> list[CustomerResult]:
        """One PUT /Contacts per `CONTACTS_BATCH_SIZE` customers, summarizeErrors=false so that a
        refused contact (say, a name another active contact has) fails alone and the others come
        back with their ids (FACTS 1.6). Each call's Idempotency-Key is derived from its
        customers' own keys, as for invoices."""
        return self._put_batches(
            "Contacts",
            customers,
            mapping.customer_to_contact,
            mapping.contact_results,
            keys=idempotency_keys,
            size=CONTACTS_BATCH_SIZE,
            purpose="create customers",
        )

    # Invoices -----------------------------------------------------------------------------------

    def post_invoices(self, invoices: Sequence[InvoiceDraft]) -> list[InvoiceResult]:
        """One PUT per `invoice_batch_size` drafts. summarizeErrors=false makes Xero answer 200
        with each invoice marked OK or ERROR, so one bad invoice fails alone and the good ones come
        back with their ids (FACTS 1.6). Each call's Idempotency-Key is derived from its drafts'
        own keys, so a retry of the same batch within Xero's ~6 minutes gets the first answer
        instead of duplicates."""
        return self._put_batches("Invoices", invoices, mapping.draft_to_invoice, mapping.invoice_results)

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

    def find_invoices_by_reference(self, references: Sequence[str]) -> dict[str, RemoteInvoice]:
        """`where=Reference=="A" OR Reference=="B" ...`, as many references a call as the URL
        allows (about 55 sale numbers, so a lost batch of 50 costs one call). InvoiceNumbers= would
        be the optimised filter, but our sale number is the Reference (Xero numbers the invoice);
        IDs= needs the ids the lost answer carried; searchTerm takes one term. Quotes cannot be
        escaped in a where clause: a reference holding one is looked up on its own."""
        wanted = list(dict.fromkeys(reference for reference in references if reference))
        found: dict[str, RemoteInvoice] = {}
        for reference in [r for r in wanted if '"' in r]:
            invoice = self.find_invoice_by_reference(reference)
            if invoice is not None:
                found[reference] = invoice
        plain = [r for r in wanted if '"' not in r]
        clauses = [f'Reference=="{reference}"' for reference in plain]
        for element in self._search(
            "Invoices", clauses, purpose="find invoices by reference", summaryOnly="true"
        ):
            invoice = mapping.invoice_to_remote(element)
            if invoice.reference in wanted and invoice.status not in ("DELETED", "VOIDED"):
                found.setdefault(invoice.reference, invoice)
        return found

    def _search(self, key: str, clauses: Sequence[str], *, purpose: str, **params):
        """Every element of GET /{key} matching any of the `where` clauses, in as few calls as
        the URL length allows, page by page."""
        for where in _where_chunks(clauses):
            for page in itertools.count(1):
                body = self.session.get_json(
                    key,
                    params={"where": where, "page": page, "pageSize": SEARCH_PAGE_SIZE, **params},
                    purpose=purpose,
                )
                elements = Payload(body, record=f"{key} response")[key].list()
                yield from (element.raw for element in elements)
                if len(elements) < SEARCH_PAGE_SIZE:
                    break

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

    def find_payments(self, payments: Sequence[PaymentDraft]) -> dict[str, RemotePayment]:
        # One where=Reference=="A" OR ... search for many, as for invoices; a reference holding
        # a quote cannot be in a where clause (and `find_payment` does not find it either).
        documents = {p.reference: p.document_remote_id for p in payments if '"' not in p.reference}
        found: dict[str, RemotePayment] = {}
        clauses = [f'Reference=="{reference}"' for reference in documents]
        for element in self._search("Payments", clauses, purpose="find payments by reference"):
            payment = mapping.payment_to_remote(element)
            live = element.get("Status") != "DELETED"
            if live and documents.get(payment.reference) == mapping.payment_document_id(element):
                found.setdefault(payment.reference, payment)
        return found

    def _put_batches(
        self,
        key: str,
        drafts,
        to_json,
        read_results,
        *,
        keys: Sequence[str] | None = None,
        size: int | None = None,
        purpose: str | None = None,
    ) -> list:
        """PUT `drafts` to `key`, `size` a call (the plan's invoice batch size unless given), with
        summarizeErrors=false. Each call's Idempotency-Key is derived from its drafts' own keys:
        `keys`, in the drafts' order, or else each draft's `idempotency_key`."""
        drafts = list(drafts)
        keys = [draft.idempotency_key for draft in drafts] if keys is None else list(keys)
        size = size or self.spec.invoice_batch_size
        kind = key.lower()
        results = []
        for start in range(0, len(drafts), size):
            batch = drafts[start : start + size]
            body = self.session.send_json(
                "PUT",
                key,
                params={"summarizeErrors": "false"},
                json={key: [to_json(draft) for draft in batch]},
                headers={"Idempotency-Key": _digest_key(kind, keys[start : start + size])},
                idempotent=True,
                purpose=purpose or f"post {kind}",
            )
            results.extend(read_results(batch, body))
        return results


def _digest_key(kind: str, keys: Sequence[str]) -> str:
    """At most 128 characters (Xero's limit), the same for the same keys in the same order."""
    joined = "\n".join(keys)
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


def _where_chunks(clauses: Sequence[str]) -> list[str]:
    """`where` clauses joined by OR, cut so that each chunk, URL-encoded, stays within
    MAX_WHERE_CHARS."""
    chunks: list[list[str]] = []
    length = 0
    for clause in clauses:
        size = len(quote_plus(f" OR {clause}"))
        if not chunks or length + size > MAX_WHERE_CHARS:
            chunks.append([])
            length = 0
        chunks[-1].append(clause)
        length += size
    return [" OR ".join(chunk) for chunk in chunks]


_END = object()


class _Body:
    """A streamed answer as the file ijson reads, keeping its first bytes."""

    def __init__(self, response: requests.Response) -> None:
        self.chunks = response.iter_content(ITEMS_CHUNK_BYTES)
        self.head = bytearray()

    def read(self, size: int) -> bytes:
        if not size:  # ijson asks for nothing first, to learn whether it reads bytes or text
            return b""
        chunk = next(self.chunks, b"")
        if len(self.head) < ITEMS_CHUNK_BYTES:
            self.head += chunk
        return chunk


class _ItemFeed:
    """One streamed GET /Items handed out a page at a time; `token` names the page it hands next."""

    def __init__(self, items: Iterator[dict], since: str | None, envelope: dict) -> None:
        self.items = items
        self.since = since
        self.envelope = envelope
        self.latest: datetime | None = None
        self.token: str | None = None
        self.handed = 0
        # One item read ahead tells a full page from the last one.
        self.ahead = next(self.items, _END)

    def next_page(self, to_record: Callable) -> Page:
        records = []
        for _ in range(ITEMS_PAGE_SIZE):
            if self.ahead is _END:
                break
            item, self.ahead = self.ahead, next(self.items, _END)
            record = to_record(item)
            # An untracked item has no stock, but its change still moves the cursor.
            moment = record.updated_at if record else Payload(item)["UpdatedDateUTC"].optional_datetime()
            if moment and (self.latest is None or moment > self.latest):
                self.latest = moment
            if record:
                records.append(record)
            self.handed += 1
        if self.ahead is _END:
            self.token = None
            return Page(records, None, self.cursor())
        self.token = str(self.handed)
        return Page(records, self.token, None)

    def cursor(self) -> str | None:
        """Xero's own clock when it answered, when the envelope says (FACTS 1.3): every change
        before then was in this answer. Else the latest change seen, which re-reads the items of
        that second on every poll (after a bulk import, the whole catalogue)."""
        read_at = Payload(self.envelope, record="Items response")["DateTimeUTC"].optional_datetime()
        return _second(read_at) if read_at else _latest([self.latest], self.since)


def _envelope(head: bytes) -> dict:
    """The answer's own fields (`DateTimeUTC`, ...) found in its first bytes, where Xero writes
    them before the items. Fields past those bytes are missed; without `DateTimeUTC` the cursor
    falls back to the latest change seen, which can only re-read."""
    fields = {}
    try:
        for prefix, event, value in ijson.parse(bytes(head), use_float=True):
            if "." not in prefix and event in ("string", "number"):
                fields[prefix] = value
    except ijson.JSONError:
        pass  # the head ends inside the answer
    return fields


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
