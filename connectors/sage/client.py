"""Sage Business Cloud Accounting v3.1: stock items, contacts and sales invoices.

Paths are relative to https://api.accounting.sage.com/v3.1; the business is chosen per request
with the X-Business header (https://developer.sage.com/accounting/guides/concepts/best_practices).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests

from connectors.base import Connector, Page
from connectors.errors import ConnectorError, NotFound, ValidationFailed
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
from connectors.sage import mapping
from connectors.sage.provider import SAGE

PAGE_SIZE = SAGE.page_size
CHANGED, DELETED = "changed", "deleted"
SAGE_ID = re.compile(r"^[0-9a-f]{32}$")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Position:
    """Where a pull stands, carried in the opaque page token: which of the two feeds, which page,
    the cursor the pull started from and the newest `updated_at` seen so far."""

    feed: str
    page: int
    since: str
    seen: str

    def token(self) -> str:
        return "|".join((self.feed, str(self.page), self.since, self.seen))

    @classmethod
    def start(cls, since: str | None, token: str | None) -> Position:
        if token is None:
            return cls(CHANGED, 1, since or "", "")
        feed, page, started, seen = token.split("|")
        return cls(feed, int(page), started, seen)


class SageConnector(Connector):
    spec = SAGE

    def __init__(self, session) -> None:
        super().__init__(session)
        self._tax_percentages: dict[str, Decimal] | None = None
        self._ledger_accounts: dict[str, str] | None = None
        self._bank_accounts: dict[str, str] | None = None

    # Hooks the session calls ---------------------------------------------------------------------

    def authenticate(self, request: requests.PreparedRequest) -> None:
        business = self.session.connection.remote_org_id
        if business:
            request.headers["X-Business"] = business

    def error_messages(self, response: requests.Response) -> list[str]:
        try:
            messages = mapping.error_messages(response.json())
        except ValueError:
            messages = []
        return messages or super().error_messages(response)

    def classify(self, response: requests.Response) -> type[ConnectorError] | None:
        # 422 is Sage's "invalid data" answer, always with $source naming the field
        # (https://developer.sage.com/accounting/guides/concepts/response_codes/).
        return ValidationFailed if response.status_code == 422 else None

    # Reading -------------------------------------------------------------------------------------

    def _list(self, collection: str, params: dict, *, page: int = 1, purpose: str = "") -> mapping.ListPage:
        # Without attributes=all a list holds only id, displayed_as and $path.
        query = {**params, "attributes": "all", "items_per_page": PAGE_SIZE, "page": page}
        data = self.session.get_json(collection, params=query, purpose=purpose)
        return mapping.list_page(data, resource=collection)

    def _every(self, collection: str, params: dict, *, purpose: str = ""):
        """Every item of a list. Sage answers a page past the end with the last page again, so
        only `$next == null` ends the loop (https://developer.sage.com/accounting/guides/efficiencies/pagination)."""
        page = 1
        while True:
            listed = self._list(collection, params, page=page, purpose=purpose)
            yield from listed.items
            if not listed.has_next:
                return
            page += 1

    def _pull(
        self,
        collection: str,
        *,
        since: str | None,
        page: str | None,
        convert: Callable,
        extra: dict | None = None,
        deletions: bool = True,
    ) -> Page:
        """Two feeds per poll: changes (`updated_or_created_since`, inclusive) and then deletions
        (`deleted_since`, exclusive), which Sage reports nowhere else
        (https://developer.sage.com/accounting/guides/efficiencies/filtering)."""
        position = Position.start(since, page)
        params = dict(extra or {})
        if position.feed == CHANGED and position.since:
            # The cursor is the newest updated_at already read; Sage's filter includes it, so
            # ask from the next second. A change stamped in that same second after our read is
            # left to the sweep, which compares every linked product.
            cursor = datetime.fromisoformat(position.since.replace("Z", "+00:00"))
            params["updated_or_created_since"] = _stamp(cursor + timedelta(seconds=1))
        elif position.feed == DELETED:
            params["deleted_since"] = position.since
        listed = self._list(collection, params, page=position.page, purpose=f"pull {collection}")
        records = [convert(item) for item in listed.items]
        seen = position.seen
        if position.feed == CHANGED:
            # Only the change feed moves the cursor: a deletion stamped later than a change we
            # have not read yet must not carry the cursor past that change.
            stamps = [_stamp(r.updated_at) for r in records if r.updated_at]
            seen = max([seen, *stamps])
        if listed.has_next:
            following = Position(position.feed, position.page + 1, position.since, seen)
        elif position.feed == CHANGED and position.since and deletions:
            following = Position(DELETED, 1, position.since, seen)
        else:
            following = None
        # Lists are not ordered by updated_at, so the cursor may only advance once every page
        # of the pull has been read.
        if following is not None:
            return Page(records, next_page=following.token(), high_water_mark=None)
        return Page(records, next_page=None, high_water_mark=seen or position.since or None)

    def pull_products(self, *, since: str | None, page: str | None) -> Page[RemoteProduct]:
        return self._pull("stock_items", since=since, page=page, convert=mapping.product_from_stock_item)

    def pull_stock(self, *, since: str | None, page: str | None) -> Page[RemoteStock]:
        # A stock movement moves the item's updated_at; a deleted item has no stock to report.
        return self._pull(
            "stock_items", since=since, page=page, convert=mapping.stock_from_stock_item, deletions=False
        )

    def pull_customers(self, *, since: str | None, page: str | None) -> Page[RemoteCustomer]:
        return self._pull(
            "contacts",
            since=since,
            page=page,
            convert=mapping.customer_from_contact,
            extra={"contact_type_id": "CUSTOMER"},
        )

    def list_organisations(self) -> list[RemoteOrganisation]:
        data = self.session.get_json(self.spec.oauth.organisations_path, purpose="list businesses")
        return mapping.organisations_from_businesses(data)

    def find_products_by_ids(self, ids: Sequence[str]) -> list[RemoteProduct]:
        return [mapping.product_from_stock_item(item) for item in self._stock_items_by_ids(ids)]

    def stock_for_products(self, ids: Sequence[str]) -> list[RemoteStock]:
        return [mapping.stock_from_stock_item(item) for item in self._stock_items_by_ids(ids)]

    def _stock_items_by_ids(self, ids: Sequence[str]) -> list[dict]:
        """Sage has no id-list filter, so there are two ways: one GET per id (k calls) or paging
        the whole list (ceil(total / 200) calls). The first page, 200 items with `$total`, tells
        which is cheaper for the rest; a single id is one GET either way. A deleted item answers
        404 and is absent from lists, so it is simply missing from the result."""
        wanted = list(dict.fromkeys(ids))
        if len(wanted) <= 1:
            return [item for item in map(self._stock_item, wanted) if item is not None]
        first = self._list("stock_items", {}, purpose="find products by id")
        found = {item.get("id"): item for item in first.items if item.get("id") in wanted}
        missing = [i for i in wanted if i not in found]
        pages_left = math.ceil(first.total / PAGE_SIZE) - 1 if first.has_next else 0
        if missing and len(missing) <= pages_left:
            for remote_id in missing:
                found[remote_id] = self._stock_item(remote_id)
        elif missing:
            page, listed = 1, first
            while listed.has_next:
                page += 1
                listed = self._list("stock_items", {}, page=page, purpose="find products by id")
                found.update((item.get("id"), item) for item in listed.items if item.get("id") in missing)
        return [found[i] for i in wanted if found.get(i) is not None]

    def catalogue_page(self, page: str | None) -> Page[RemoteProduct]:
        """One page of the whole live catalogue, for a sweep that walks it a page per run (Sage has
        no id filter, so this is the cheapest way to see every item: 200 a call). `next_page` is
        the following page number, None after the last page."""
        number = int(page or 1)
        listed = self._list("stock_items", {}, page=number, purpose="sweep products")
        records = [mapping.product_from_stock_item(item) for item in listed.items]
        return Page(records, next_page=str(number + 1) if listed.has_next else None, high_water_mark=None)

    def _stock_item(self, remote_id: str) -> dict | None:
        try:
            return self.session.get_json(f"stock_items/{remote_id}", purpose="find product by id")
        except NotFound:
            return None

    def find_products_by_code(self, codes: Sequence[str]) -> list[RemoteProduct]:
        # `search` matches item codes and descriptions in part; keep exact code matches only.
        found: dict[str, RemoteProduct] = {}
        for code in dict.fromkeys(codes):
            for item in self._every("stock_items", {"search": code}, purpose="find products by code"):
                product = mapping.product_from_stock_item(item)
                if product.code == code:
                    found[product.remote_id] = product
        return list(found.values())

    def find_customer(
        self, *, email: str | None = None, account_number: str | None = None
    ) -> list[RemoteCustomer]:
        found: dict[str, RemoteCustomer] = {}
        if email:
            for item in self._every("contacts", {"email": email}, purpose="find customer by email"):
                customer = mapping.customer_from_contact(item)
                if customer.email.lower() == email.lower():
                    found[customer.remote_id] = customer
        if account_number:
            # `search` matches names and references in part; the reference must match exactly.
            params = {"search": account_number}
            for item in self._every("contacts", params, purpose="find customer by account number"):
                customer = mapping.customer_from_contact(item)
                if customer.account_number == account_number:
                    found[customer.remote_id] = customer
        return list(found.values())

    def find_invoice_by_reference(self, reference: str) -> RemoteInvoice | None:
        # `search` also matches contact names, so compare the reference itself.
        for item in self._every("sales_invoices", {"search": reference}, purpose="find invoice"):
            invoice = mapping.invoice_from_sales_invoice(item)
            if invoice.reference == reference:
                return invoice
        return None

    # Writing: one entity per POST, made safe to retry by Sage's idempotency_id -------------------

    def create_product(self, product: NewProduct, *, idempotency_key: str) -> RemoteProduct:
        body = mapping.stock_item_body(product, idempotency_key=idempotency_key)
        data = self.session.send_json(
            "POST", "stock_items", json=body, idempotent=True, purpose="create product"
        )
        return mapping.product_from_stock_item(data)

    def create_customer(self, customer: NewCustomer, *, idempotency_key: str) -> RemoteCustomer:
        body = mapping.contact_body(customer, idempotency_key=idempotency_key)
        data = self.session.send_json(
            "POST", "contacts", json=body, idempotent=True, purpose="create customer"
        )
        return mapping.customer_from_contact(data)

    def post_invoices(self, invoices: Sequence[InvoiceDraft]) -> list[InvoiceResult]:
        return self._post_artefacts(
            invoices, "sales_invoices", "post invoice", mapping.sales_invoice_body, mapping.invoice_result
        )

    def post_credit_notes(self, credit_notes: Sequence[InvoiceDraft]) -> list[InvoiceResult]:
        return self._post_artefacts(
            credit_notes,
            "sales_credit_notes",
            "post credit note",
            mapping.sales_credit_note_body,
            lambda draft, data: InvoiceResult(
                reference=draft.reference, invoice=mapping.credit_note_from_sales_credit_note(data)
            ),
        )

    def _post_artefacts(
        self,
        drafts: Sequence[InvoiceDraft],
        path: str,
        purpose: str,
        body_for: Callable,
        result_for: Callable,
    ) -> list[InvoiceResult]:
        """One POST per draft (Sage takes no batches); a refusal is that draft's result, not the
        end of the run."""
        results = []
        for draft in drafts:
            body = body_for(
                draft,
                tax_percentages=self._tax_rates_for(draft),
                ledger_accounts=self._ledger_accounts_for(draft),
            )
            try:
                data = self.session.send_json("POST", path, json=body, idempotent=True, purpose=purpose)
            except ValidationFailed as refused:
                results.append(InvoiceResult(reference=draft.reference, errors=tuple(refused.messages)))
                continue
            results.append(result_for(draft, data))
        return results

    def find_credit_note_by_reference(self, reference: str) -> RemoteInvoice | None:
        for item in self._every("sales_credit_notes", {"search": reference}, purpose="find credit note"):
            note = mapping.credit_note_from_sales_credit_note(item)
            if note.reference == reference:
                return note
        return None

    def post_payments(self, payments: Sequence[PaymentDraft]) -> list[PaymentResult]:
        """One contact payment per POST, allocated to its invoice (or credit note, for a refund)."""
        results = []
        for draft in payments:
            bank_account_id = self._bank_account_id(draft.account_code)
            body = mapping.contact_payment_body(draft, bank_account_id=bank_account_id)
            try:
                data = self.session.send_json(
                    "POST", "contact_payments", json=body, idempotent=True, purpose="post payment"
                )
            except ValidationFailed as refused:
                results.append(PaymentResult(reference=draft.reference, errors=tuple(refused.messages)))
                continue
            payment = mapping.payment_from_contact_payment(data)
            results.append(PaymentResult(reference=draft.reference, payment=payment))
        return results

    def find_payment(self, payment: PaymentDraft) -> RemotePayment | None:
        # Sage keeps an idempotency_id replay for a while, but documents no retention: the lookup
        # covers a retry after that. The contact's payments on the day are few.
        params = {
            "contact_id": payment.contact_remote_id,
            "from_date": payment.paid_on.isoformat(),
            "to_date": payment.paid_on.isoformat(),
        }
        for item in self._every("contact_payments", params, purpose="find payment"):
            found = mapping.payment_from_contact_payment(item)
            if found.reference == payment.reference and mapping.payment_allocated_to(
                item, payment.document_remote_id
            ):
                return found
        return None

    def _bank_account_id(self, code: str) -> str:
        """A bank account's id from the nominal code merchants know ("1200"), read once per
        connector; a 32-character id passes as it is."""
        if SAGE_ID.match(code):
            return code
        if self._bank_accounts is None:
            items = list(self._every("bank_accounts", {}, purpose="read bank accounts"))
            self._bank_accounts = mapping.bank_account_ids(items)
        return self._bank_accounts.get(code, code)

    def list_accounts(self) -> list[RemoteAccount]:
        return mapping.chart_accounts(list(self._every("ledger_accounts", {}, purpose="list accounts")))

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        return mapping.visible_tax_rates(list(self._every("tax_rates", {}, purpose="list tax rates")))

    def _tax_rates_for(self, draft: InvoiceDraft) -> dict[str, Decimal]:
        """Tax rate percentages, read once per connector and only when a line names a rate."""
        if self._tax_percentages is None and any(line.tax_code for line in draft.lines):
            items = list(self._every("tax_rates", {}, purpose="read tax rates"))
            self._tax_percentages = mapping.tax_percentages(items)
        return self._tax_percentages or {}

    def _ledger_accounts_for(self, draft: InvoiceDraft) -> dict[str, str]:
        """Nominal code -> ledger account id, read once per connector and only when a line gives
        a nominal code ("4000") rather than Sage's 32-character id."""
        codes = {line.account_code for line in draft.lines if line.account_code}
        if self._ledger_accounts is None and any(not SAGE_ID.match(code) for code in codes):
            items = list(self._every("ledger_accounts", {}, purpose="read ledger accounts"))
            self._ledger_accounts = mapping.ledger_account_ids(items)
        return self._ledger_accounts or {}
