"""Unleashed: products, stock on hand, customers and sales orders (our invoices).

Paths are relative to https://api.unleashedsoftware.com. There is no OAuth: each request is signed
with the company's API key over its query string (https://apidocs.unleashedsoftware.com/AuthenticationHelp),
and the page number travels in the path (https://apidocs.unleashedsoftware.com/Pagination).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import requests

from connectors.base import Connector, Page
from connectors.errors import AuthorizationRevoked, ConnectorError, RateLimited, ValidationFailed
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
from connectors.unleashed import mapping
from connectors.unleashed.provider import UNLEASHED

PAGE_SIZE = UNLEASHED.page_size
CLIENT_TYPE = "commerce-sync-hub/sync"
# Unleashed publishes no URL limit; ASP.NET hosts refuse query strings over 2048 characters by
# default, so id lists are packed up to a margin below that.
MAX_QUERY_LENGTH = 1900


def signature(api_key: str, query: str) -> str:
    """Base64 HMAC-SHA256 of the query string (no "?"; "" when there is none), keyed with the API key."""
    return base64.b64encode(hmac.new(api_key.encode(), query.encode(), hashlib.sha256).digest()).decode()


def _since_param(cursor: str) -> str:
    """`modifiedSince` is inclusive; the cursor is the newest change already read, so ask from the
    next millisecond on."""
    moment = datetime.fromisoformat(cursor) + timedelta(milliseconds=1)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def first_of_next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Position:
    """Where a pull stands, carried in the opaque page token: the page, the cursor the pull started
    from (the filter must not move between pages) and the newest change seen so far."""

    page: int
    since: str
    seen: str

    def token(self) -> str:
        return "|".join((str(self.page), self.since, self.seen))

    @classmethod
    def start(cls, since: str | None, token: str | None) -> Position:
        if token is None:
            return cls(1, since or "", "")
        page, started, seen = token.split("|")
        return cls(int(page), started, seen)


class UnleashedConnector(Connector):
    spec = UNLEASHED

    # Hooks the session calls ---------------------------------------------------------------------

    def authenticate(self, request: requests.PreparedRequest) -> None:
        credentials = self.session.connection.credentials
        # Signed over the query exactly as it will be sent, so percent-encoding and order agree.
        query = urlsplit(request.url).query
        request.headers["api-auth-id"] = credentials["api_id"]
        request.headers["api-auth-signature"] = signature(credentials["api_key"], query)
        request.headers["client-type"] = CLIENT_TYPE
        request.headers["Accept"] = "application/json"
        request.headers["Content-Type"] = "application/json"

    def error_messages(self, response: requests.Response) -> list[str]:
        try:
            messages = mapping.error_messages(response.json())
        except ValueError:
            messages = []
        return messages or super().error_messages(response)

    def retry_after(self, response: requests.Response) -> datetime | None:
        told = super().retry_after(response)
        if told is not None or response.status_code != 429:
            return told
        # A spent monthly quota blocks every call until 00:00 UTC on the 1st
        # (https://intercom.help/unleashed-support/en/articles/11582291-api-usage-limit).
        return first_of_next_month(datetime.now(UTC))

    def classify(self, response: requests.Response) -> type[ConnectorError] | None:
        if response.status_code == 403:
            # A refused signature: the API id or key is wrong or was regenerated, and only the
            # merchant can enter the new pair (https://apidocs.unleashedsoftware.com/AuthenticationHelp).
            return AuthorizationRevoked
        if response.status_code == 429:
            return RateLimited
        return None

    def check_access(self) -> None:
        """One small signed call (a one-row page of warehouses) before the merchant's API id and
        key are saved: a wrong pair answers 403 and raises AuthorizationRevoked."""
        self._list("Warehouses", {"pageSize": 1}, purpose="check access")

    # Reading lists -------------------------------------------------------------------------------

    def _list(self, resource: str, params: dict, *, page: int = 1, purpose: str = "") -> mapping.ListPage:
        path = f"/{resource}/{page}" if page > 1 else f"/{resource}"
        data = self.session.get_json(path, params=params, purpose=purpose)
        return mapping.list_page(data, resource=resource)

    def _every(self, resource: str, params: dict, *, purpose: str = ""):
        page = 1
        while True:
            listed = self._list(resource, params, page=page, purpose=purpose)
            yield from listed.items
            if listed.is_last:
                return
            page += 1

    def _pull(self, resource: str, params: dict, to_record, *, since, token, ordered: bool) -> Page:
        position = Position.start(since, token)
        query = {"pageSize": PAGE_SIZE, **params}
        if position.since:
            query["modifiedSince"] = _since_param(position.since)
        listed = self._list(resource, query, page=position.page, purpose=f"pull {resource}")
        records = [to_record(item) for item in listed.items]
        stamps = [r.updated_at.isoformat() for r in records if r.updated_at] + [position.seen]
        seen = max((s for s in stamps if s), default="", key=datetime.fromisoformat)
        next_page = None if listed.is_last else Position(position.page + 1, position.since, seen).token()
        # In LastModifiedOn order every page's newest change is a safe cursor; otherwise only the
        # last page's running maximum is.
        mark = seen if (ordered or next_page is None) and seen else None
        return Page(records=records, next_page=next_page, high_water_mark=mark)

    def pull_products(self, *, since: str | None, page: str | None) -> Page[RemoteProduct]:
        params = {"includeObsolete": "true", "orderBy": "LastModifiedOn"}
        return self._pull(
            "Products", params, mapping.product_from_unleashed, since=since, token=page, ordered=True
        )

    def pull_stock(self, *, since: str | None, page: str | None) -> Page[RemoteStock]:
        return self._pull(
            "StockOnHand", {}, mapping.stock_from_unleashed, since=since, token=page, ordered=False
        )

    def pull_customers(self, *, since: str | None, page: str | None) -> Page[RemoteCustomer]:
        return self._pull(
            "Customers", {}, mapping.customer_from_unleashed, since=since, token=page, ordered=False
        )

    # Lookups -------------------------------------------------------------------------------------

    def _id_chunks(self, ids: Sequence[str], base: dict) -> list[list[str]]:
        """Pack ids into as few `productId` lists as fit one query string."""
        chunks: list[list[str]] = []
        current: list[str] = []
        for remote_id in dict.fromkeys(ids):
            candidate = [*current, remote_id]
            if current and len(urlencode({**base, "productId": ",".join(candidate)})) > MAX_QUERY_LENGTH:
                chunks.append(current)
                candidate = [remote_id]
            current = candidate
        if current:
            chunks.append(current)
        return chunks

    def _by_ids(self, resource: str, ids: Sequence[str], params: dict, to_record) -> list:
        base = {"pageSize": PAGE_SIZE, **params}
        found = []
        for chunk in self._id_chunks(ids, base):
            query = {**base, "productId": ",".join(chunk)}
            found.extend(
                to_record(item) for item in self._every(resource, query, purpose=f"{resource} by id")
            )
        return found

    def find_products_by_ids(self, ids: Sequence[str]) -> list[RemoteProduct]:
        return self._by_ids("Products", ids, {"includeObsolete": "true"}, mapping.product_from_unleashed)

    def stock_for_products(self, ids: Sequence[str]) -> list[RemoteStock]:
        return self._by_ids("StockOnHand", ids, {}, mapping.stock_from_unleashed)

    def find_products_by_code(self, codes: Sequence[str]) -> list[RemoteProduct]:
        found: dict[str, RemoteProduct] = {}
        for code in dict.fromkeys(codes):
            # `productCode` matches codes that start with it, so keep only the exact one.
            query = {"productCode": code, "includeObsolete": "true", "pageSize": PAGE_SIZE}
            for item in self._every("Products", query, purpose="products by code"):
                product = mapping.product_from_unleashed(item)
                if product.code.casefold() == code.casefold():
                    found[product.remote_id] = product
        return list(found.values())

    def find_customer(
        self, *, email: str | None = None, account_number: str | None = None
    ) -> list[RemoteCustomer]:
        found: dict[str, RemoteCustomer] = {}
        if account_number:
            query = {"customerCode": account_number, "pageSize": PAGE_SIZE}
            for item in self._every("Customers", query, purpose="customer by code"):
                customer = mapping.customer_from_unleashed(item)
                if customer.account_number.casefold() == account_number.casefold():
                    found[customer.remote_id] = customer
        if email:
            # The Customers list documents no email filter: read it all and compare here.
            for item in self._every("Customers", {"pageSize": PAGE_SIZE}, purpose="customer by email"):
                customer = mapping.customer_from_unleashed(item)
                if customer.email.casefold() == email.casefold():
                    found[customer.remote_id] = customer
        return list(found.values())

    def find_invoice_by_reference(self, reference: str) -> RemoteInvoice | None:
        # `sourceId` overrides every other filter (https://apidocs.unleashedsoftware.com/SalesOrders).
        listed = self._list("SalesOrders", {"sourceId": reference}, purpose="sales order by reference")
        for item in listed.items:
            invoice = mapping.invoice_from_sales_order(item)
            if invoice.reference == reference:
                return invoice
        return None

    # Writes: the GUID in the URL is ours, so a retried POST lands on the same record ----------------

    def create_product(self, product: NewProduct, *, idempotency_key: str) -> RemoteProduct:
        guid = mapping.guid_for("product", idempotency_key)
        data = self.session.send_json(
            "POST",
            f"/Products/{guid}",
            json=mapping.product_to_unleashed(product, guid=guid),
            idempotent=True,
            purpose="create product",
        )
        return mapping.product_from_unleashed(data)

    def create_customer(self, customer: NewCustomer, *, idempotency_key: str) -> RemoteCustomer:
        guid = mapping.guid_for("customer", idempotency_key)
        data = self.session.send_json(
            "POST",
            f"/Customers/{guid}",
            json=mapping.customer_to_unleashed(customer, guid=guid),
            idempotent=True,
            purpose="create customer",
        )
        return mapping.customer_from_unleashed(data)

    def post_invoices(self, invoices: Sequence[InvoiceDraft]) -> list[InvoiceResult]:
        results = []
        for draft in invoices:
            guid, body = mapping.sales_order_from_draft(draft)
            try:
                data = self.session.send_json(
                    "POST", f"/SalesOrders/{guid}", json=body, idempotent=True, purpose="post sales order"
                )
            except ValidationFailed as refused:
                results.append(mapping.refused_invoice(draft, refused.messages))
                continue
            results.append(mapping.invoice_result(draft, data))
        return results
