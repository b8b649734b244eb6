"""Unleashed's API, as documented, for tests, the demo and benchmarks.

Behaviours reproduced because the connector must cope with them:
- no OAuth: every request carries `api-auth-id` and `api-auth-signature`, the Base64 HMAC-SHA256 of
  the raw query string (empty when there is none) keyed with the API key; a wrong one is a 403
  (https://apidocs.unleashedsoftware.com/AuthenticationHelp). The page number is a path segment and
  so is not signed (https://apidocs.unleashedsoftware.com/Pagination);
- lists answer `{"Pagination": {...}, "Items": [...]}`, `pageSize` 200 by default, 1 to 1000;
- products are obsoleted, not deleted, and hidden unless `includeObsolete=true`; stock on hand lists
  only products that have had a stock transaction (https://apidocs.unleashedsoftware.com/StockOnHand);
- creates take a client-chosen GUID in the URL (`POST /Products/{guid}` creates or updates);
- a monthly call quota blocks every call once spent, until 00:00 UTC on the 1st
  (https://intercom.help/unleashed-support/en/articles/11582291-api-usage-limit);
- webhooks are signed over `{timestamp}.{raw body}` (https://apidocs.unleashedsoftware.com/Webhooks).

Error bodies are not in the research notes; this emulator answers `{"Description": ...}` and, for
validation failures, `Errors: [{"Field", "Message"}]`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import requests

from connectors.emulation import Emulator, Request, Response, route

GUID = r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
PAGE = r"(?:/(?P<page>\d+))?"
DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000
# ASP.NET on IIS refuses query strings over 2048 characters by default (requestFiltering
# maxQueryString); Unleashed does not publish its own figure, so the emulator holds to that one.
MAX_QUERY_LENGTH = 2048
NAMESPACE = uuid.UUID("6c1f4f3e-2f55-4c55-9d0e-6e9a1d0b7a11")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CENT = Decimal("0.01")


def ms_date(moment: datetime) -> str:
    """Unleashed's JSON dates: milliseconds since the epoch, UTC, in "/Date(ms)/"."""
    return f"/Date({(moment - EPOCH) // timedelta(milliseconds=1)})/"


def _moment(value: str) -> datetime:
    ms = int(re.match(r"/Date\((-?\d+)", value).group(1))
    return EPOCH + timedelta(milliseconds=ms)


def _parse_since(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sign(key: str, message: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()).decode()


def first_of_next_month(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


class Invalid(Exception):
    """A 400 raised by a handler, naming the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class UnleashedEmulator(Emulator):
    name = "unleashed"

    def __init__(
        self,
        *,
        clock=None,
        quota: int | None = None,
        max_query_length: int = MAX_QUERY_LENGTH,
        **options,
    ) -> None:
        super().__init__(clock=clock)
        self.quota = quota
        self.max_query_length = max_query_length
        self.api_id = str(uuid.uuid5(NAMESPACE, "api-id"))
        self.api_key = base64.b64encode(hashlib.sha256(b"unleashed-emulator-api-key").digest()).decode()
        self.company = {"Guid": str(uuid.uuid5(NAMESPACE, "company")), "Name": "Emulated Wholesale Ltd"}
        self.usage: dict[tuple[int, int], int] = {}
        self.products_by_guid: dict[str, dict] = {}
        self.stock: dict[tuple[str, str], dict] = {}
        self.customers: dict[str, dict] = {}
        self.sales_orders: dict[str, dict] = {}
        self.warehouses: list[dict] = []
        self._serial = 0
        for number, (code, name) in enumerate((("MAIN", "Main Warehouse"), ("STORE", "Shop Floor")), 1):
            self._add_warehouse(code, name, default=number == 1)

    def _guid(self, kind: str) -> str:
        with self.lock:
            self._serial += 1
            return str(uuid.uuid5(NAMESPACE, f"{kind}-{self._serial}"))

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def _add_warehouse(self, code: str, name: str, *, default: bool = False) -> dict:
        warehouse = {
            "Guid": self._guid("warehouse"),
            "WarehouseCode": code,
            "WarehouseName": name,
            "IsDefault": default,
            "Obsolete": False,
            "LastModifiedOn": ms_date(self._now()),
        }
        self.warehouses.append(warehouse)
        return warehouse

    # Provider-shaped errors -------------------------------------------------------------------

    def error(self, request: Request, status: int, message: str) -> Response:
        return Response.json({"Description": message}, status)

    @staticmethod
    def invalid(field: str, message: str) -> Response:
        return Response.json(
            {"Description": "Validation failed", "Errors": [{"Field": field, "Message": message}]}, 400
        )

    # Signature and quota ---------------------------------------------------------------------

    def before_route(self, request: Request) -> Response | None:
        if len(request.query_string) > self.max_query_length:
            return self.error(request, 414, "The query string is too long.")
        # Signed over the query string exactly as it arrived, percent-encoding and order included.
        expected = _sign(self.api_key, request.query_string)
        given = request.header("api-auth-signature")
        if request.header("api-auth-id") != self.api_id or not hmac.compare_digest(
            expected.encode(), given.encode()
        ):
            return self.error(request, 403, "Forbidden: the API id or signature is not valid.")
        if self.quota is not None:
            now = self._now()
            month = (now.year, now.month)
            with self.lock:
                used = self.usage.get(month, 0)
                if used >= self.quota:
                    # The status of a blocked call is not documented: a 429 says "not now, later"
                    # to any client, and the body says until when.
                    resets = first_of_next_month(now).strftime("%Y-%m-%dT%H:%M:%SZ")
                    return self.error(
                        request,
                        429,
                        f"API usage limit reached: all API requests are blocked until {resets}.",
                    )
                self.usage[month] = used + 1
        return None

    def dispatch(self, request: Request) -> Response:
        try:
            with self.lock:
                return super().dispatch(request)
        except Invalid as exc:
            return self.invalid(exc.field, exc.message)

    def revoke_credentials(self) -> None:
        """The owner regenerates the company's API key: every signature we make stops matching."""
        self.api_key = base64.b64encode(hashlib.sha256(self.api_key.encode()).digest()).decode()

    # Lists -------------------------------------------------------------------------------------

    def _page(self, request: Request, records: list[dict]) -> Response:
        try:
            size = int(request.params.get("pageSize") or DEFAULT_PAGE_SIZE)
        except ValueError:
            raise Invalid("pageSize", "pageSize must be a number") from None
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise Invalid("pageSize", f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
        number = int(request.args.get("page") or 1)
        pages = max(1, math.ceil(len(records) / size))
        return Response.json(
            {
                "Pagination": {
                    "NumberOfItems": len(records),
                    "PageSize": size,
                    "PageNumber": number,
                    "NumberOfPages": pages,
                },
                "Items": records[(number - 1) * size : number * size],
            }
        )

    @staticmethod
    def _since(request: Request, records: list[dict]) -> list[dict]:
        value = request.params.get("modifiedSince")
        if not value:
            return records
        try:
            since = _parse_since(value)
        except ValueError:
            raise Invalid("modifiedSince", "modifiedSince is not a valid UTC date") from None
        return [r for r in records if _moment(r["LastModifiedOn"]) >= since]

    @staticmethod
    def _guids(request: Request, name: str) -> set[str] | None:
        if not request.params.get(name):
            return None
        return {value.strip().lower() for value in request.params[name].split(",") if value.strip()}

    @staticmethod
    def _ordered(request: Request, records: list[dict], default: str) -> list[dict]:
        field = request.params.get("orderBy") or default
        if field in ("LastModifiedOn", "CreatedOn"):
            return sorted(records, key=lambda r: (_moment(r[field]), r["Guid"]))
        return sorted(records, key=lambda r: (str(r.get(field, "")).lower(), r["Guid"]))

    # Products ----------------------------------------------------------------------------------

    @route("GET", "/Products" + PAGE)
    def list_products(self, request: Request) -> Response:
        records = list(self.products_by_guid.values())
        if request.params.get("includeObsolete", "").lower() != "true":
            records = [r for r in records if not r["Obsolete"]]
        records = self._since(request, records)
        if request.params.get("productCode"):
            prefix = request.params["productCode"].lower()
            records = [r for r in records if r["ProductCode"].lower().startswith(prefix)]
        wanted = self._guids(request, "productId")
        if wanted is not None:
            records = [r for r in records if r["Guid"] in wanted]
        return self._page(request, self._ordered(request, records, "ProductCode"))

    @route("GET", f"/Products/(?P<guid>{GUID})")
    def get_product(self, request: Request) -> Response:
        record = self.products_by_guid.get(request.args["guid"].lower())
        if record is None:
            return self.error(request, 404, "Product not found")
        return Response.json(record)

    @route("POST", f"/Products/(?P<guid>{GUID})")
    def save_product(self, request: Request) -> Response:
        guid = request.args["guid"].lower()
        fields = self._body(request)
        if str(fields.get("Guid") or guid).lower() != guid:
            raise Invalid("Guid", "The Guid in the body does not match the Guid in the URL")
        existing = self.products_by_guid.get(guid)
        code = str(fields.get("ProductCode") or (existing or {}).get("ProductCode") or "").strip()
        description = str(
            fields.get("ProductDescription") or (existing or {}).get("ProductDescription") or ""
        ).strip()
        if not code:
            raise Invalid("ProductCode", "Product code is required")
        if not description:
            raise Invalid("ProductDescription", "Product description is required")
        if any(
            r["ProductCode"].lower() == code.lower() and r["Guid"] != guid
            for r in self.products_by_guid.values()
        ):
            raise Invalid("ProductCode", f"Product code '{code}' is already in use")
        price = self._decimal(fields, "DefaultSellPrice", (existing or {}).get("DefaultSellPrice") or 0)
        if existing is None:
            record = self._store_product(guid=guid, code=code, name=description, price=price)
            return Response.json(record, 201)
        existing.update(
            ProductCode=code,
            ProductDescription=description,
            DefaultSellPrice=float(price),
            LastModifiedOn=ms_date(self._now()),
        )
        return Response.json(existing)

    @route("POST", f"/Products/Obsolete/(?P<guid>{GUID})")
    def obsolete_product(self, request: Request) -> Response:
        record = self.products_by_guid.get(request.args["guid"].lower())
        if record is None:
            return self.error(request, 404, "Product not found")
        record.update(Obsolete=True, LastModifiedOn=ms_date(self._now()))
        return Response.json(record)

    def _store_product(self, *, guid: str, code: str, name: str, price: Decimal) -> dict:
        now = ms_date(self._now())
        record = {
            "Guid": guid,
            "ProductCode": code,
            "ProductDescription": name,
            "Barcode": None,
            "DefaultSellPrice": float(price),
            "DefaultPurchasePrice": None,
            "IsSellable": True,
            "IsComponent": False,
            "IsAssembledProduct": False,
            "NeverDiminishing": False,
            "Obsolete": False,
            "UnitOfMeasure": {"Name": "EA"},
            "CreatedOn": now,
            "LastModifiedOn": now,
        }
        self.products_by_guid[guid] = record
        return record

    @staticmethod
    def _body(request: Request) -> dict:
        try:
            fields = request.json()
        except ValueError:
            raise Invalid("", "The request body is not valid JSON") from None
        if not isinstance(fields, dict):
            raise Invalid("", "The request body must be an object")
        return fields

    @staticmethod
    def _decimal(fields: dict, name: str, default) -> Decimal:
        value = fields.get(name, default)
        try:
            number = Decimal(str(value if value is not None else default))
        except InvalidOperation:
            raise Invalid(name, f"{name} is not a number") from None
        if not number.is_finite():
            raise Invalid(name, f"{name} is not a number")
        return number

    # Stock on hand -----------------------------------------------------------------------------

    @route("GET", "/StockOnHand" + PAGE)
    def list_stock(self, request: Request) -> Response:
        records = self._since(request, list(self.stock.values()))
        wanted = self._guids(request, "productId")
        if wanted is not None:
            records = [r for r in records if r["ProductGuid"] in wanted]
        if request.params.get("warehouseCode"):
            code = request.params["warehouseCode"].lower()
            records = [r for r in records if r["WarehouseCode"].lower() == code]
        return self._page(request, self._ordered(request, records, "ProductCode"))

    # Customers ---------------------------------------------------------------------------------

    @route("GET", "/Customers" + PAGE)
    def list_customers(self, request: Request) -> Response:
        records = self._since(request, list(self.customers.values()))
        if request.params.get("customerCode"):
            prefix = request.params["customerCode"].lower()
            records = [r for r in records if r["CustomerCode"].lower().startswith(prefix)]
        return self._page(request, self._ordered(request, records, "CustomerCode"))

    @route("GET", f"/Customers/(?P<guid>{GUID})")
    def get_customer(self, request: Request) -> Response:
        record = self.customers.get(request.args["guid"].lower())
        if record is None:
            return self.error(request, 404, "Customer not found")
        return Response.json(record)

    @route("POST", f"/Customers/(?P<guid>{GUID})")
    def save_customer(self, request: Request) -> Response:
        guid = request.args["guid"].lower()
        fields = self._body(request)
        existing = self.customers.get(guid)
        code = str(fields.get("CustomerCode") or (existing or {}).get("CustomerCode") or "").strip()
        name = str(fields.get("CustomerName") or (existing or {}).get("CustomerName") or "").strip()
        if not code:
            raise Invalid("CustomerCode", "Customer code is required")
        if not name:
            raise Invalid("CustomerName", "Customer name is required")
        if any(
            r["CustomerCode"].lower() == code.lower() and r["Guid"] != guid for r in self.customers.values()
        ):
            raise Invalid("CustomerCode", f"Customer code '{code}' is already in use")
        if existing is None:
            return Response.json(self._store_customer(guid, code, name, fields.get("Email") or ""), 201)
        existing.update(
            CustomerCode=code,
            CustomerName=name,
            Email=fields.get("Email", existing["Email"]),
            LastModifiedOn=ms_date(self._now()),
        )
        return Response.json(existing)

    def _store_customer(self, guid: str, code: str, name: str, email: str) -> dict:
        now = ms_date(self._now())
        record = {
            "Guid": guid,
            "CustomerCode": code,
            "CustomerName": name,
            "Email": email or None,
            "PhoneNumber": None,
            "Obsolete": False,
            "CreatedOn": now,
            "LastModifiedOn": now,
        }
        self.customers[guid] = record
        return record

    # Sales orders ------------------------------------------------------------------------------

    @route("GET", "/SalesOrders" + PAGE)
    def list_sales_orders(self, request: Request) -> Response:
        records = list(self.sales_orders.values())
        params = request.params
        # orderNumber, then sourceId, override every other filter (SalesOrders page).
        if params.get("orderNumber"):
            records = [r for r in records if r["OrderNumber"] == params["orderNumber"]]
        elif params.get("sourceId"):
            records = [r for r in records if r.get("SourceId") == params["sourceId"]]
        else:
            statuses = {s.strip() for s in params.get("orderStatus", "").split(",") if s.strip()}
            records = [
                r
                for r in self._since(request, records)
                if r["OrderStatus"] in statuses or (not statuses and r["OrderStatus"] != "Deleted")
            ]
        return self._page(request, self._ordered(request, records, "OrderNumber"))

    @route("GET", f"/SalesOrders/(?P<guid>{GUID})")
    def get_sales_order(self, request: Request) -> Response:
        record = self.sales_orders.get(request.args["guid"].lower())
        if record is None:
            return self.error(request, 404, "Sales order not found")
        return Response.json(record)

    @route("POST", f"/SalesOrders/(?P<guid>{GUID})")
    def create_sales_order(self, request: Request) -> Response:
        guid = request.args["guid"].lower()
        # What Unleashed does with a second POST of an existing order GUID is not documented; the
        # emulator answers with the order already stored and changes nothing, so a retried create
        # can never make a second order.
        if guid in self.sales_orders:
            return Response.json(self.sales_orders[guid])
        fields = self._body(request)
        customer_ref = fields.get("Customer") if isinstance(fields.get("Customer"), dict) else {}
        customer = self.customers.get(str(customer_ref.get("Guid") or "").lower()) or next(
            (c for c in self.customers.values() if c["CustomerCode"] == customer_ref.get("CustomerCode")),
            None,
        )
        if customer is None:
            raise Invalid("Customer", "Customer does not exist")
        number = str(fields.get("OrderNumber") or f"SO-{len(self.sales_orders) + 1:08d}")
        if any(r["OrderNumber"] == number for r in self.sales_orders.values()):
            raise Invalid("OrderNumber", f"Order number '{number}' is already in use")
        currency = fields.get("Currency") if isinstance(fields.get("Currency"), dict) else {}
        raw_lines = fields.get("SalesOrderLines")
        if not isinstance(raw_lines, list) or not raw_lines:
            raise Invalid("SalesOrderLines", "A sales order needs at least one line")
        lines = [self._order_line(line, index) for index, line in enumerate(raw_lines)]
        subtotal = sum((Decimal(str(line["LineTotal"])) for line in lines), Decimal(0))
        tax = sum((Decimal(str(line["LineTax"])) for line in lines), Decimal(0))
        now = self._now()
        record = {
            "Guid": guid,
            "OrderNumber": number,
            "SourceId": fields.get("SourceId"),
            "OrderStatus": fields.get("OrderStatus") or "Parked",
            "OrderDate": fields.get("OrderDate") or ms_date(now),
            "RequiredDate": fields.get("RequiredDate") or fields.get("OrderDate") or ms_date(now),
            "Customer": {
                "Guid": customer["Guid"],
                "CustomerCode": customer["CustomerCode"],
                "CustomerName": customer["CustomerName"],
            },
            "Currency": {"CurrencyCode": currency.get("CurrencyCode") or "NZD"},
            "SalesOrderLines": lines,
            "SubTotal": float(subtotal),
            "TaxTotal": float(tax),
            "Total": float(subtotal + tax),
            "CreatedOn": ms_date(now),
            "LastModifiedOn": ms_date(now),
        }
        self.sales_orders[guid] = record
        return Response.json(record, 201)

    def _order_line(self, line, index: int) -> dict:
        where = f"SalesOrderLines[{index}]"
        if not isinstance(line, dict):
            raise Invalid(where, "A line must be an object")
        ref = line.get("Product") if isinstance(line.get("Product"), dict) else {}
        product = self.products_by_guid.get(str(ref.get("Guid") or "").lower()) or next(
            (p for p in self.products_by_guid.values() if p["ProductCode"] == ref.get("ProductCode")), None
        )
        if product is None or product["Obsolete"]:
            raise Invalid(f"{where}.Product", "Product does not exist or is obsolete")
        quantity = self._decimal(line, "OrderQuantity", None)
        price = self._decimal(line, "UnitPrice", None)
        if quantity <= 0:
            raise Invalid(f"{where}.OrderQuantity", "Order quantity must be more than zero")
        discount = self._decimal(line, "DiscountRate", 0)
        total = (quantity * price * (1 - discount)).quantize(CENT)
        line_tax = self._decimal(line, "LineTax", 0).quantize(CENT)
        return {
            "Guid": str(line.get("Guid") or self._guid("line")),
            "LineNumber": line.get("LineNumber") or index + 1,
            "Product": {
                "Guid": product["Guid"],
                "ProductCode": product["ProductCode"],
                "ProductDescription": product["ProductDescription"],
            },
            "OrderQuantity": float(quantity),
            "UnitPrice": float(price),
            "DiscountRate": float(discount),
            "LineTotal": float(total),
            "LineTax": float(line_tax),
            "Comments": line.get("Comments"),
        }

    # Warehouses --------------------------------------------------------------------------------

    @route("GET", "/Warehouses" + PAGE)
    def list_warehouses(self, request: Request) -> Response:
        return self._page(request, self._ordered(request, list(self.warehouses), "WarehouseCode"))

    # Webhooks ----------------------------------------------------------------------------------

    def send_webhook(self, url: str, event_type: str, data: dict, signing_key: str) -> requests.Response:
        """Deliver one event the way Unleashed does: JSON body, signed over "{timestamp}.{body}"."""
        body = json.dumps(
            {
                "eventId": self._guid("event"),
                "eventType": event_type,
                "createdOn": self._now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "subscriptionId": str(uuid.uuid5(NAMESPACE, f"subscription-{url}")),
                "data": data,
            }
        )
        timestamp = str(int(self._now().timestamp()))
        signature = _sign(signing_key, f"{timestamp}.{body}")
        return requests.post(
            url,
            data=body.encode(),
            headers={
                "Content-Type": "application/json",
                "x-unleashed-timestamp": timestamp,
                "x-unleashed-signature": signature,
            },
            timeout=(5, 30),
        )

    # The seeding surface -----------------------------------------------------------------------

    def issue_credentials(self) -> dict:
        return {
            "credentials": {"api_id": self.api_id, "api_key": self.api_key},
            "remote_org_id": self.company["Guid"],
            "remote_org_name": self.company["Name"],
            "token_expires_at": None,
        }

    def add_product(self, *, code: str, name: str, price: Decimal, **fields) -> str:
        with self.lock:
            return self._store_product(
                guid=self._guid("product"), code=code, name=name, price=Decimal(price)
            )["Guid"]

    def change_product(self, remote_id: str, changes: dict, *, touch: bool) -> None:
        with self.lock:
            record = self.products_by_guid[remote_id]
            if "name" in changes:
                record["ProductDescription"] = changes["name"]
            if "price" in changes:
                record["DefaultSellPrice"] = float(changes["price"])
            if "code" in changes:
                record["ProductCode"] = changes["code"]
            if "active" in changes:
                record["Obsolete"] = not changes["active"]
            if touch:
                record["LastModifiedOn"] = ms_date(self._now())

    def delete_product(self, remote_id: str) -> None:
        """Unleashed cannot delete a product that has been used; it is made obsolete."""
        with self.lock:
            self.products_by_guid[remote_id].update(Obsolete=True, LastModifiedOn=ms_date(self._now()))

    def set_stock(self, remote_id: str, location: str, quantity: Decimal) -> None:
        """`location` is a warehouse code; an unknown one opens a new warehouse."""
        with self.lock:
            product = self.products_by_guid[remote_id]
            warehouse = next((w for w in self.warehouses if w["WarehouseCode"] == location), None)
            if warehouse is None:
                warehouse = self._add_warehouse(location, location)
            quantity = Decimal(quantity)
            key = (remote_id, warehouse["WarehouseCode"])
            record = self.stock.get(key) or {
                "Guid": self._guid("stock"),
                "ProductGuid": remote_id,
                "WarehouseId": warehouse["Guid"],
                "WarehouseCode": warehouse["WarehouseCode"],
                "Warehouse": warehouse["WarehouseName"],
                "AllocatedQty": 0.0,
                "OnPurchase": 0.0,
                "AvgCost": 0.0,
            }
            record.update(
                ProductCode=product["ProductCode"],
                ProductDescription=product["ProductDescription"],
                QtyOnHand=float(quantity),
                AvailableQty=float(quantity),
                TotalCost=0.0,
                LastModifiedOn=ms_date(self._now()),
            )
            self.stock[key] = record

    def add_customer(self, *, name: str, email: str = "", account_number: str = "") -> str:
        with self.lock:
            guid = self._guid("customer")
            code = account_number or f"CUST{len(self.customers) + 1:05d}"
            return self._store_customer(guid, code, name, email)["Guid"]

    def seed(self, *, products: int = 0, customers: int = 0, locations: int = 2) -> None:
        """Products SKU-00001.. with stock in the first `locations` warehouses; every seventh product
        has never moved stock, so StockOnHand leaves it out as Unleashed does."""
        while len(self.warehouses) < locations:
            with self.lock:
                self._add_warehouse(f"WH{len(self.warehouses) + 1}", f"Warehouse {len(self.warehouses) + 1}")
        codes = [w["WarehouseCode"] for w in self.warehouses[:locations]]
        start = len(self.products_by_guid)
        for n in range(start + 1, start + products + 1):
            guid = self.add_product(
                code=f"SKU-{n:05d}", name=f"Product {n:05d}", price=Decimal(5 + n % 50) + Decimal("0.99")
            )
            if n % 7:
                for offset, code in enumerate(codes):
                    self.set_stock(guid, code, Decimal((n + offset * 3) % 40))
        start = len(self.customers)
        for n in range(start + 1, start + customers + 1):
            self.add_customer(
                name=f"Customer {n:05d}", email=f"customer{n:05d}@example.com", account_number=f"CUST{n:05d}"
            )

    def products(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "remote_id": r["Guid"],
                    "code": r["ProductCode"],
                    "name": r["ProductDescription"],
                    "price": Decimal(str(r["DefaultSellPrice"])),
                    "active": not r["Obsolete"],
                }
                for r in sorted(self.products_by_guid.values(), key=lambda r: r["ProductCode"])
                if not r["Obsolete"]
            ]

    def invoices(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "remote_id": r["Guid"],
                    "reference": r.get("SourceId") or r["OrderNumber"],
                    "contact_id": r["Customer"]["Guid"],
                    "total": Decimal(str(r["Total"])),
                }
                for r in self.sales_orders.values()
            ]
