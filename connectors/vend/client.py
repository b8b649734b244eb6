"""Lightspeed Retail X-Series (formerly Vend) for one retailer: API 2.0 on the store's own host.

Reads use the `version` feed: `after=<cursor>` returns what changed since, in version order, and
`version.max` of a page is both the next page and the new cursor. The documented end is an empty
`data`, so a poll that finds nothing costs one call
(https://x-series-api.lightspeedhq.com/docs/pagination); a change feed also ends on a page shorter
than the server fills (`VendConnector._page`), so a poll that finds a few changes costs one too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests

from connectors.base import Connector, Page, Window
from connectors.errors import NotFound, ValidationFailed
from connectors.records import (
    InvoiceDraft,
    InvoiceResult,
    NewCustomer,
    NewProduct,
    RemoteCustomer,
    RemoteInvoice,
    RemoteOrganisation,
    RemoteProduct,
    RemoteStock,
)
from connectors.vend import mapping
from connectors.vend.provider import VEND

# A whole-catalogue read costs at least two calls (a page, then the empty page that ends it), so
# up to this many single lookups are never dearer.
SINGLE_LOOKUPS_MAX = 2
# The create-sale endpoint that accepts a client-chosen sale id lives in the date-versioned API
# (https://x-series-api.lightspeedhq.com/reference/createsale); the host is the retailer's.
CREATE_SALE_URL = "https://{domain_prefix}.retail.lightspeed.app/api/2026-07/sales"
# Where a feed's largest page so far is kept, beside its cursor in `Connection.cursors`.
LARGEST_PAGE = "{resource}_largest_page"
# Where the outlet names are kept beside the stock cursor, and when they were read from `/outlets`.
OUTLET_NAMES = "outlet_names"
OUTLET_NAMES_READ_AT = "outlet_names_read_at"
# Kept names older than this are read again: a local location takes its outlet's name, so a renamed
# outlet shows within a day, for one call a day rather than one a poll.
OUTLET_NAMES_MAX_AGE = timedelta(days=1)


class VendConnector(Connector):
    spec = VEND

    def __init__(self, session) -> None:
        super().__init__(session)
        self._outlets: dict[str, str] | None = None
        self._outlets_read_at: datetime | None = None
        self._outlets_read = False
        self._largest_pages: dict[str, int] = {}

    # Hooks the HTTP session calls -------------------------------------------------------------------

    def error_messages(self, response: requests.Response) -> list[str]:
        try:
            body = response.json()
        except ValueError:
            return super().error_messages(response)
        if isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, dict) and isinstance(errors.get("global"), list):
                return [str(message) for message in errors["global"]]
            # The 429 body: {"error": "Too Many Requests", "message": "Rate limiting enforced"}.
            words = [str(body[key]) for key in ("error", "message") if body.get(key)]
            if words:
                return [": ".join(words)]
        return super().error_messages(response)

    def retry_after(self, response: requests.Response) -> datetime | None:
        # Lightspeed's Retry-After is an HTTP date (RFC 1123), not seconds
        # (https://x-series-api.lightspeedhq.com/docs/rate_limiting).
        value = (response.headers.get("Retry-After") or "").strip()
        if not value or value.isdigit():
            return super().retry_after(response)
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

    def remaining_calls(self, response: requests.Response) -> dict[Window, int]:
        value = (response.headers.get("X-RateLimit-Remaining") or "").strip()
        return {Window.FIVE_MINUTES: int(value)} if value.isdigit() else {}

    # Feeds ------------------------------------------------------------------------------------------

    def list_organisations(self) -> list[RemoteOrganisation]:
        connection = self.session.connection
        return [RemoteOrganisation(remote_id=connection.remote_org_id, name=connection.remote_org_name)]

    def _feed(self, path: str, resource: str, *, since: str | None, page: str | None) -> mapping.FeedPage:
        after = page or since or "0"
        body = self.session.get_json(
            path,
            params={"after": after, "page_size": self.spec.page_size, "deleted": "true"},
            purpose=f"pull {resource}",
        )
        return mapping.feed_page(body, resource=f"Lightspeed {resource}")

    def _page(
        self, feed: mapping.FeedPage, records: list, *, resource: str, remember: dict | None = None
    ) -> Page:
        """One page of the `resource` feed (named as its cursor: "products", "stock", "customers").

        The documented end is an empty page (FACTS §3.4). Ending on a short page saves that call
        and loses nothing in a poll: the cursor is this page's `version.max` either way, and the
        next poll reads on from it. But the server may serve fewer than the `page_size` we ask
        without saying so (vend-cli caps 10,000, sales 500; the dated inventory API 5,000: FACTS
        §3.3, §3.4), so a page is short only with fewer records than we asked AND than this feed
        has ever served on this connection; until it has served one, a read goes on to the empty
        page. A backfill re-reads from an older version without moving the cursor, so it may end
        early only once past the cursor, where the next poll reads on. `remember` is what else the
        feed keeps beside its cursor."""
        if feed.max_version is None:
            return Page(records=[], next_page=None, high_water_mark=None)
        cursors = self.session.connection.cursors or {}
        key = LARGEST_PAGE.format(resource=resource)
        largest = max(self._largest_pages.get(key, 0), int(cursors.get(key) or 0))
        served = len(feed.items)
        self._largest_pages[key] = max(largest, served)
        cursor = str(cursors.get(resource) or "")
        past_cursor = feed.max_version >= (int(cursor) if cursor.isdigit() else 0)
        short = served < min(largest, self.spec.page_size) and past_cursor
        version = str(feed.max_version)
        return Page(
            records=records,
            next_page=None if short else version,
            high_water_mark=version,
            remember={key: self._largest_pages[key], **(remember or {})},
        )

    def pull_products(self, *, since: str | None, page: str | None) -> Page[RemoteProduct]:
        feed = self._feed("/products", "products", since=since, page=page)
        return self._page(feed, [mapping.product_from_json(item) for item in feed.items], resource="products")

    def pull_stock(self, *, since: str | None, page: str | None) -> Page[RemoteStock]:
        feed = self._feed("/inventory", "inventory", since=since, page=page)
        stock = self._named(feed.items)
        return self._page(feed, stock, resource="stock", remember=self._outlet_names_to_keep())

    def pull_customers(self, *, since: str | None, page: str | None) -> Page[RemoteCustomer]:
        feed = self._feed("/customers", "customers", since=since, page=page)
        return self._page(
            feed, [mapping.customer_from_json(item) for item in feed.items], resource="customers"
        )

    def _named(self, items: list) -> list[RemoteStock]:
        """Inventory records, each with its outlet's name (a record names only the outlet id)."""
        stock = [mapping.stock_from_json(item) for item in items]
        if not stock:
            return stock
        names = self._outlet_names({record.location_remote_id for record in stock})
        return [replace(record, location_name=names.get(record.location_remote_id, "")) for record in stock]

    def _outlet_names(self, outlet_ids: set[str]) -> dict[str, str]:
        """Outlet names by id. Outlets are almost never added or renamed, so the names are kept
        beside the stock cursor and a poll over known outlets reads none; `/outlets` is read again
        (at most once per connector, i.e. per run) when a record names an outlet the kept names
        lack, or when they are a day old (`OUTLET_NAMES_MAX_AGE`)."""
        if self._outlets is None:
            self._outlets, self._outlets_read_at = self._kept_outlet_names()
        now = datetime.now(UTC)
        stale = self._outlets_read_at is None or now - self._outlets_read_at >= OUTLET_NAMES_MAX_AGE
        if not self._outlets_read and (stale or not outlet_ids <= self._outlets.keys()):
            self._outlets = mapping.outlet_names(self.session.get_json("/outlets", purpose="outlet names"))
            self._outlets_read_at, self._outlets_read = now, True
        return self._outlets

    def _kept_outlet_names(self) -> tuple[dict[str, str], datetime | None]:
        cursors = self.session.connection.cursors or {}
        names, read_at = cursors.get(OUTLET_NAMES), cursors.get(OUTLET_NAMES_READ_AT)
        try:
            moment = datetime.fromisoformat(read_at)
        except (TypeError, ValueError):
            return {}, None
        return (names, moment) if isinstance(names, dict) and moment.tzinfo else ({}, None)

    def _outlet_names_to_keep(self) -> dict:
        # Only names this connector read are new; the stock feed saves them with its cursor.
        if not self._outlets_read:
            return {}
        return {OUTLET_NAMES: self._outlets, OUTLET_NAMES_READ_AT: self._outlets_read_at.isoformat()}

    def _whole_catalogue(self) -> Iterator[dict]:
        # Read to the empty page, never ending on a short one: a product past a wrong end would
        # look deleted to a sweep, which is worse than one more call.
        after = "0"
        while True:
            body = self.session.get_json(
                "/products",
                params={"after": after, "page_size": self.spec.page_size},
                purpose="read catalogue",
            )
            feed = mapping.feed_page(body, resource="Lightspeed products")
            if feed.max_version is None:
                return
            yield from feed.items
            after = str(feed.max_version)

    # Lookups ------------------------------------------------------------------------------------------

    def find_products_by_ids(self, ids: Sequence[str]) -> list[RemoteProduct]:
        """API 2.0 has no many-ids filter: for one or two ids, one GET each (a 404 means deleted);
        beyond that one read of the whole live catalogue at 10,000 a page is cheaper (two calls for
        a store under 10,000 products), and whatever it lacks is gone."""
        wanted = list(dict.fromkeys(ids))
        if len(wanted) <= SINGLE_LOOKUPS_MAX:
            found = []
            for product_id in wanted:
                try:
                    body = self.session.get_json(f"/products/{product_id}", purpose="find product")
                except NotFound:
                    continue
                found.append(
                    mapping.product_from_json(mapping.data_object(body, resource="Lightspeed product"))
                )
        else:
            ids_wanted = set(wanted)
            found = [
                mapping.product_from_json(item)
                for item in self._whole_catalogue()
                if item.get("id") in ids_wanted
            ]
        return [product for product in found if not product.deleted]

    def find_products_by_code(self, codes: Sequence[str]) -> list[RemoteProduct]:
        """One search by SKU per code for one or two codes; beyond that one catalogue read."""
        wanted = list(dict.fromkeys(codes))
        if len(wanted) <= SINGLE_LOOKUPS_MAX:
            items = []
            for code in wanted:
                body = self.session.get_json(
                    "/search", params={"type": "products", "sku": code}, purpose="find product by SKU"
                )
                items.extend(mapping.data_list(body, resource="Lightspeed product search"))
            # Search may match loosely; the code must be exactly ours.
            products = [mapping.product_from_json(item) for item in items]
            return [p for p in products if p.code in wanted and not p.deleted]
        codes_wanted = set(wanted)
        return [
            product
            for product in (mapping.product_from_json(item) for item in self._whole_catalogue())
            if product.code in codes_wanted and not product.deleted
        ]

    def stock_for_products(self, ids: Sequence[str]) -> list[RemoteStock]:
        stock = []
        for product_id in dict.fromkeys(ids):
            try:
                body = self.session.get_json(f"/products/{product_id}/inventory", purpose="product stock")
            except NotFound:
                continue
            stock.extend(self._named(mapping.data_list(body, resource="Lightspeed product inventory")))
        return stock

    def find_customer(
        self, *, email: str | None = None, account_number: str | None = None
    ) -> list[RemoteCustomer]:
        searches = []
        if email:
            searches.append({"type": "customers", "email": email})
        if account_number:
            searches.append({"type": "customers", "customer_code": account_number})
        found: dict[str, RemoteCustomer] = {}
        for params in searches:
            body = self.session.get_json("/search", params=params, purpose="find customer")
            for item in mapping.data_list(body, resource="Lightspeed customer search"):
                customer = mapping.customer_from_json(item)
                matches = (email and customer.email.lower() == email.lower()) or (
                    account_number and customer.account_number == account_number
                )
                if matches and customer.active:
                    found.setdefault(customer.remote_id, customer)
        return list(found.values())

    def find_invoice_by_reference(self, reference: str) -> RemoteInvoice | None:
        body = self.session.get_json(
            "/search", params={"type": "sales", "invoice_number": reference}, purpose="find sale"
        )
        for item in mapping.data_list(body, resource="Lightspeed sale search"):
            invoice = mapping.invoice_from_json(item)
            if invoice.reference == reference:
                return invoice
        return None

    # Writes -------------------------------------------------------------------------------------------

    def create_product(self, product: NewProduct, *, idempotency_key: str) -> RemoteProduct:
        # No idempotency on product create: a lost answer is not retried (the SKU must be unique, so
        # a second create would be refused rather than duplicated).
        body = self.session.send_json(
            "POST", "/products", json=mapping.product_to_json(product), purpose="create product"
        )
        return mapping.product_from_json(mapping.data_object(body, resource="Lightspeed product"))

    def create_customer(self, customer: NewCustomer, *, idempotency_key: str) -> RemoteCustomer:
        body = self.session.send_json(
            "POST", "/customers", json=mapping.customer_to_json(customer), purpose="create customer"
        )
        return mapping.customer_from_json(mapping.data_object(body, resource="Lightspeed customer"))

    def post_invoices(self, invoices: Sequence[InvoiceDraft]) -> list[InvoiceResult]:
        """One sale per call (no batch create). The sale id comes from the idempotency key, so a
        retried create after a lost answer names the same sale and cannot duplicate it."""
        results = []
        for draft in invoices:
            try:
                body = self.session.send_json(
                    "POST",
                    CREATE_SALE_URL,
                    json=mapping.sale_to_json(draft),
                    idempotent=True,
                    purpose="post sale",
                )
            except ValidationFailed as refused:
                results.append(InvoiceResult(reference=draft.reference, errors=tuple(refused.messages)))
                continue
            results.append(mapping.invoice_result(draft, body))
        return results
