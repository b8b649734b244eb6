"""Lightspeed Retail X-Series (formerly Vend), as documented, for tests, the demo and benchmarks.

One emulator is one retailer: it serves the consent page, the token endpoint and API 2.0 under one
origin for whatever domain prefix the URL carried (`Connection.provider_url` rebases the retailer's
host onto it). Behaviours reproduced because the connector must cope with them:
- refresh tokens rotate and the old one is revoked at once; the token response carries `expires`
  and `domain_prefix` (https://x-series-api.lightspeedhq.com/changelog/2025-03-refresh-token-flow-update);
- lists page by `version`, one global integer bumped on every change: `after=<version>` answers
  records with a greater version in version order, `version.max` is the next cursor and only an
  empty `data` ends a read; `deleted=true` adds deleted records with `deleted_at` set
  (https://x-series-api.lightspeedhq.com/docs/pagination);
- 300 x registers + 50 calls per retailer per 5-minute window, then 429 with `Retry-After` as an
  HTTP date (https://x-series-api.lightspeedhq.com/docs/rate_limiting);
- a sale created with a client-chosen `id` twice is one sale
  (https://x-series-api.lightspeedhq.com/reference/createsale);
- errors are {"errors": {"global": [...]}}; webhooks are form-encoded with a signed `payload`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import math
import uuid
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlencode

import requests

from connectors.emulation import Emulator, OAuthServer, Request, Response, route
from connectors.emulation.oauth import EMULATOR_CLIENT_SECRET

SAMPLES = Path(__file__).with_name("samples")
API = "/api/2.0"
# The create-sale endpoint is documented under the date-versioned API as well as 2.0.
SALES_CREATE = r"/api/(?:2\.0|\d{4}-\d{2})/sales"
DEFAULT_PAGE_SIZE = 1000
# "Page size is capped at ten thousand for all endpoints except sales which it is capped at five
# hundred" (vend/vend-cli).
MAX_PAGE_SIZE = 10_000
MAX_SALES_PAGE_SIZE = 500
WINDOW = timedelta(minutes=5)
ACCESS_LIFETIME = timedelta(days=1)
OUTLET_NAMES = ("Main Street", "Harbour Side", "Airport Kiosk", "Warehouse Store")
ID_NAMESPACE = uuid.UUID("6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f")
CENT = Decimal("0.01")


def _sample(name: str):
    return json.loads((SAMPLES / name).read_text())


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _stamp_1_0(stamp: str | None) -> str:
    """A 2.0 timestamp as API 1.0 writes it: `2026-11-02 14:03:27`, UTC; empty for none."""
    return datetime.fromisoformat(stamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if stamp else ""


class Invalid(Exception):
    """A 400 a handler raises, in Lightspeed's words."""


class VersionLog:
    """Which record of one collection took each version, in the order versions are handed out,
    so a page of the feed is found by bisecting instead of sorting the whole collection. A record's
    version only grows: an entry whose version is no longer its record's is stale and skipped."""

    def __init__(self, records: dict) -> None:
        self.records = records
        self.versions: list[int] = []
        self.keys: list = []

    def note(self, version: int, key) -> None:
        self.versions.append(version)
        self.keys.append(key)

    def page(self, *, after: int, before: int | None, include_deleted: bool, size: int) -> list[dict]:
        """Up to `size` records with a version above `after` (and below `before`), in version order."""
        chosen = []
        for index in range(bisect_right(self.versions, after), len(self.versions)):
            version = self.versions[index]
            if len(chosen) == size or (before is not None and version >= before):
                break
            record = self.records.get(self.keys[index])
            if record and record["version"] == version and (include_deleted or not record.get("deleted_at")):
                chosen.append(record)
        return chosen


class VendEmulator(Emulator):
    name = "vend"

    def __init__(
        self,
        *,
        clock=None,
        domain_prefix: str = "emulatedstore",
        store_name: str = "Emulated Coffee Co",
        registers: int = 1,
        outlets: int = 2,
        access_lifetime: timedelta = ACCESS_LIFETIME,
        max_page_size: int = MAX_PAGE_SIZE,
        **options,
    ) -> None:
        super().__init__(clock=clock)
        # A feed never answers more than this, whatever `page_size` asks: a test lowers it to make
        # a small catalogue span several pages.
        self.max_page_size = max_page_size
        self.domain_prefix = domain_prefix
        self.store_name = store_name
        self.registers = registers
        self.rate_limit = 300 * registers + 50
        self.client_secret = EMULATOR_CLIENT_SECRET
        self.version = 1000
        self._serial = 0
        self.outlets: dict[str, dict] = {}
        self.register_ids: list[str] = []
        self.product_records: dict[str, dict] = {}
        self.inventory: dict[tuple[str, str], dict] = {}
        self.customers: dict[str, dict] = {}
        self.sales: dict[str, dict] = {}
        self.product_feed = VersionLog(self.product_records)
        self.inventory_feed = VersionLog(self.inventory)
        self.customer_feed = VersionLog(self.customers)
        self.sale_feed = VersionLog(self.sales)
        self.calls_in_window: dict[int, int] = {}
        self.tax_id = _sample("product.json")["tax_id"]
        self.user_id = self._new_id("user")
        self.oauth = OAuthServer(
            self,
            provider_name="Lightspeed Retail (X-Series)",
            access_lifetime=access_lifetime,
            organisations=[{"id": domain_prefix, "name": store_name}],
        )
        self._ensure_outlets(outlets)
        self.register_ids = [self._new_id("register") for _ in range(registers)]

    # Identity and versions ---------------------------------------------------------------------

    def _new_id(self, kind: str) -> str:
        with self.lock:
            self._serial += 1
            return str(uuid.uuid5(ID_NAMESPACE, f"{kind}-{self._serial}"))

    def _bump(self, feed: VersionLog, key) -> int:
        """The next value of the retailer-wide version counter, for the record at `key` in `feed`."""
        with self.lock:
            self.version += 1
            feed.note(self.version, key)
            return self.version

    def _now(self) -> str:
        return _stamp(self.clock())

    def _ensure_outlets(self, count: int) -> None:
        with self.lock:
            while len(self.outlets) < count:
                number = len(self.outlets)
                self.add_outlet(
                    OUTLET_NAMES[number] if number < len(OUTLET_NAMES) else f"Outlet {number + 1}"
                )

    # Provider-shaped errors ---------------------------------------------------------------------

    @staticmethod
    def errors(status: int, *messages: str) -> Response:
        return Response.json({"errors": {"global": list(messages)}}, status)

    def error(self, request: Request, status: int, message: str) -> Response:
        return self.errors(status, message)

    def rate_limited(self, request: Request, retry_after: float) -> Response:
        # An HTTP date has whole seconds: round up so a client never comes back early.
        moment = self.clock().astimezone(UTC) + timedelta(seconds=retry_after)
        return self._too_many_requests(
            moment.replace(microsecond=0) + timedelta(seconds=1 if moment.microsecond else 0)
        )

    @staticmethod
    def _too_many_requests(resumes: datetime) -> Response:
        return Response.json(
            _sample("rate_limited.json"), 429, {"Retry-After": format_datetime(resumes, usegmt=True)}
        )

    # OAuth ----------------------------------------------------------------------------------------

    @route("GET", "/connect")
    def consent_page(self, request: Request) -> Response:
        return self.oauth.authorize(request)

    @route("POST", "/connect")
    def consent_decision(self, request: Request) -> Response:
        # The callback names the store; the token URL lives on that store's host.
        return self.oauth.authorize(request, extra_redirect_params={"domain_prefix": self.domain_prefix})

    @route("POST", "/api/1.0/token")
    def token(self, request: Request) -> Response:
        return self.oauth.token(request, **self._token_extras())

    def _token_extras(self) -> dict:
        expires = self.clock() + self.oauth.access_lifetime
        return {"expires": int(expires.timestamp()), "domain_prefix": self.domain_prefix}

    # Authentication and the rate limit -----------------------------------------------------------

    def _window(self) -> int:
        return math.floor(self.clock().timestamp() / WINDOW.total_seconds())

    def before_route(self, request: Request) -> Response | None:
        if not request.path.startswith("/api/") or request.path == "/api/1.0/token":
            return None
        if self.oauth.grant_for(request) is None:
            return self.errors(401, "The access token is missing, invalid or has expired.")
        window = self._window()
        with self.lock:
            used = self.calls_in_window.get(window, 0)
            if used >= self.rate_limit:
                return self._too_many_requests(
                    datetime.fromtimestamp((window + 1) * WINDOW.total_seconds(), UTC)
                )
            self.calls_in_window = {window: used + 1}
        return None

    def after_route(self, request: Request, response: Response) -> Response:
        if request.path.startswith("/api/") and request.path != "/api/1.0/token":
            window = self._window()
            used = self.calls_in_window.get(window, 0)
            response.headers.update(
                {
                    "X-RateLimit-Limit": str(self.rate_limit),
                    "X-RateLimit-Remaining": str(max(self.rate_limit - used, 0)),
                    "X-RateLimit-Reset": str(int((window + 1) * WINDOW.total_seconds())),
                }
            )
        return response

    def dispatch(self, request: Request) -> Response:
        try:
            with self.lock:
                return super().dispatch(request)
        except Invalid as exc:
            return self.errors(400, str(exc))

    # The version feed -------------------------------------------------------------------------------

    def _feed(self, request: Request, feed: VersionLog, *, cap: int = MAX_PAGE_SIZE) -> Response:
        params = request.params
        cap = min(cap, self.max_page_size)
        chosen = feed.page(
            after=self._int(params, "after", 0),
            before=self._int(params, "before", 0) or None,
            include_deleted=params.get("deleted") == "true",
            size=max(1, min(self._int(params, "page_size", min(DEFAULT_PAGE_SIZE, cap)), cap)),
        )
        version = {"min": chosen[0]["version"], "max": chosen[-1]["version"]} if chosen else None
        return Response.json({"data": copy.deepcopy(chosen), "version": version})

    @staticmethod
    def _int(params: dict, name: str, default: int) -> int:
        try:
            return int(params.get(name) or default)
        except ValueError:
            raise Invalid(f"{name} must be an integer") from None

    @route("GET", API + "/products")
    def list_products(self, request: Request) -> Response:
        return self._feed(request, self.product_feed)

    @route("GET", API + "/products/(?P<product_id>[^/]+)")
    def get_product(self, request: Request) -> Response:
        record = self.product_records.get(request.args["product_id"])
        if record is None or record.get("deleted_at"):
            return self.errors(404, "Product not found")
        return Response.json({"data": copy.deepcopy(record)})

    @route("GET", API + "/products/(?P<product_id>[^/]+)/inventory")
    def get_product_inventory(self, request: Request) -> Response:
        product_id = request.args["product_id"]
        if product_id not in self.product_records:
            return self.errors(404, "Product not found")
        records = [
            r for (pid, _), r in self.inventory.items() if pid == product_id and not r.get("deleted_at")
        ]
        return Response.json({"data": copy.deepcopy(records)})

    @route("GET", API + "/inventory")
    def list_inventory(self, request: Request) -> Response:
        return self._feed(request, self.inventory_feed)

    @route("GET", API + "/customers")
    def list_customers(self, request: Request) -> Response:
        return self._feed(request, self.customer_feed)

    @route("GET", API + "/sales")
    def list_sales(self, request: Request) -> Response:
        return self._feed(request, self.sale_feed, cap=MAX_SALES_PAGE_SIZE)

    @route("GET", API + "/outlets")
    def list_outlets(self, request: Request) -> Response:
        return Response.json({"data": [dict(o) for o in self.outlets.values()]})

    # Search ---------------------------------------------------------------------------------------

    @route("GET", API + "/search")
    def search(self, request: Request) -> Response:
        params = request.params
        kind = params.get("type", "")
        filters = {
            "products": (self.product_records, ("sku", "handle", "id")),
            "customers": (self.customers, ("email", "customer_code", "id")),
            "sales": (self.sales, ("invoice_number", "id")),
        }
        if kind not in filters:
            raise Invalid("type must be one of products, customers, sales")
        records, fields = filters[kind]
        wanted = {f: params[f] for f in fields if params.get(f)}
        found = [
            r
            for r in records.values()
            if not r.get("deleted_at")
            # Search matching is case-insensitive, which is what lets an email be matched loosely.
            and all(str(r.get(f) or "").lower() == value.lower() for f, value in wanted.items())
        ]
        offset = self._int(params, "offset", 0)
        size = max(1, min(self._int(params, "page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE))
        return Response.json({"data": copy.deepcopy(found[offset : offset + size])})

    # Writes ---------------------------------------------------------------------------------------

    def _body(self, request: Request) -> dict:
        try:
            body = request.json()
        except ValueError:
            raise Invalid("The request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise Invalid("The request body must be a JSON object")
        return body

    @staticmethod
    def _decimal(value, field: str) -> Decimal:
        if isinstance(value, bool):
            raise Invalid(f"{field} must be a number")
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise Invalid(f"{field} must be a number") from None
        if not number.is_finite():
            raise Invalid(f"{field} must be a number")
        return number

    @route("POST", API + "/products")
    def create_product(self, request: Request) -> Response:
        body = self._body(request)
        name = str(body.get("name") or "").strip()
        sku = str(body.get("sku") or "").strip()
        if not name:
            raise Invalid("name is required")
        if not sku:
            raise Invalid("sku is required")
        if any(r["sku"] == sku and not r.get("deleted_at") for r in self.product_records.values()):
            raise Invalid(f"sku {sku} is already in use")
        price = self._decimal(body.get("price_excluding_tax", 0), "price_excluding_tax")
        product_id = self._store_product(
            code=sku, name=name, price=price, active=body.get("active", True) is not False
        )
        return Response.json({"data": copy.deepcopy(self.product_records[product_id])}, 201)

    @route("POST", API + "/customers")
    def create_customer(self, request: Request) -> Response:
        body = self._body(request)
        names = [str(body.get(f) or "").strip() for f in ("first_name", "last_name", "company_name")]
        if not any(names):
            raise Invalid("A customer needs a first name, last name or company name")
        code = str(body.get("customer_code") or "").strip()
        if code and any(
            r["customer_code"] == code for r in self.customers.values() if not r.get("deleted_at")
        ):
            raise Invalid(f"customer_code {code} is already in use")
        customer_id = self._store_customer(
            first_name=names[0],
            last_name=names[1],
            company_name=names[2],
            email=str(body.get("email") or ""),
            code=code,
            phone=str(body.get("phone") or ""),
        )
        return Response.json({"data": copy.deepcopy(self.customers[customer_id])}, 201)

    @route("POST", SALES_CREATE)
    def create_sale(self, request: Request) -> Response:
        body = self._body(request)
        sale_id = body.get("id")
        if sale_id is not None:
            try:
                sale_id = str(uuid.UUID(str(sale_id)))
            except ValueError:
                raise Invalid("id must be a UUID") from None
            if sale_id in self.sales:
                # The same client-chosen id again is the same sale: a retried create is harmless.
                return Response.json({"data": copy.deepcopy(self.sales[sale_id])}, 200)
        customer_id = body.get("customer_id")
        if customer_id and (
            customer_id not in self.customers or self.customers[customer_id].get("deleted_at")
        ):
            raise Invalid("customer_id: customer not found")
        lines = body.get("line_items")
        if not isinstance(lines, list) or not lines:
            raise Invalid("line_items: a sale needs at least one line item")
        items = [self._sale_line(line, number) for number, line in enumerate(lines)]
        total_price = sum((i["price"] * i["quantity"] for i in items), Decimal(0))
        total_tax = sum((i["tax"] * i["quantity"] for i in items), Decimal(0))
        sale_id = sale_id or self._new_id("sale")
        invoice_sequence = len(self.sales) + 1
        now = self._now()
        record = {
            "id": sale_id,
            "outlet_id": body.get("outlet_id") or next(iter(self.outlets)),
            "register_id": body.get("register_id") or self.register_ids[0],
            "user_id": (body.get("source") or {}).get("author_id") or self.user_id,
            "customer_id": customer_id or None,
            "invoice_number": str(body.get("invoice_number") or invoice_sequence),
            "receipt_number": str(body.get("invoice_number") or invoice_sequence),
            "invoice_sequence": invoice_sequence,
            "status": "CLOSED" if body.get("state", "closed") == "closed" else "SAVED",
            "state": body.get("state", "closed"),
            "note": str(body.get("note") or ""),
            "sale_date": body.get("sale_date") or now,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
            "total_price": float(total_price.quantize(CENT)),
            "total_tax": float(total_tax.quantize(CENT)),
            "line_items": [
                {
                    **i,
                    "price": float(i["price"]),
                    "unit_price": float(i["price"]),
                    "quantity": float(i["quantity"]),
                    "tax": float(i["tax"]),
                    "unit_tax": float(i["tax"]),
                }
                for i in items
            ],
            "payments": [],
            "taxes": [],
            "version": self._bump(self.sale_feed, sale_id),
        }
        self.sales[sale_id] = record
        return Response.json({"data": copy.deepcopy(record)}, 201)

    def _sale_line(self, line, number: int) -> dict:
        where = f"line_items.{number}"
        if not isinstance(line, dict):
            raise Invalid(f"{where}: must be an object")
        product_id = (line.get("product") or {}).get("id") if isinstance(line.get("product"), dict) else None
        product = self.product_records.get(product_id or "")
        if product is None or product.get("deleted_at"):
            raise Invalid(f"{where}.product.id: product not found")
        quantity = self._decimal(line.get("quantity"), f"{where}.quantity")
        pricing = line.get("pricing") if isinstance(line.get("pricing"), dict) else {}
        price = self._decimal(pricing.get("price", product["price_excluding_tax"]), f"{where}.pricing.price")
        tax = line.get("tax") if isinstance(line.get("tax"), dict) else {}
        tax_amount = self._decimal(tax.get("amount", 0), f"{where}.tax.amount")
        return {
            "id": self._new_id("line"),
            "product_id": product_id,
            "quantity": quantity,
            "price": price,
            "tax": tax_amount,
            "tax_id": tax.get("id") or product["tax_id"],
            "discount": 0,
            "cost": product["supply_price"],
            "is_return": quantity < 0,
            "status": "CONFIRMED",
        }

    # Webhooks -------------------------------------------------------------------------------------

    def send_webhook(
        self, url: str, type: str, payload_obj: dict, secret: str | None = None
    ) -> requests.Response:
        """POST a webhook as Lightspeed does: form-encoded `payload` (a JSON string), signed with
        HMAC-SHA256 of the raw body keyed with the app's client secret.

        The docs show `X-Signature: signature=897hRT893qkA783M093ha903f,algorithm=HMAC-SHA256` and
        do not name the digest's encoding (https://x-series-api.lightspeedhq.com/docs/webhooks); the
        example holds letters beyond a-f, so it is not hex: we sign with standard base64.
        """
        body = urlencode(
            {
                "type": type,
                "domain_prefix": self.domain_prefix,
                "environment": "prod",
                "payload": json.dumps(payload_obj, default=str),
            }
        ).encode()
        key = (secret if secret is not None else self.client_secret).encode()
        signature = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
        return requests.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
                "X-Signature": f"signature={signature},algorithm=HMAC-SHA256",
            },
            timeout=5,
        )

    def product_webhook_payload(self, remote_id: str) -> dict:
        """A product as it stands, in the API 1.0 shape webhooks carry: amounts as strings, times
        as `YYYY-MM-DD HH:MM:SS` in UTC, an empty `deleted_at` for a live product."""
        with self.lock:
            record = self.product_records[remote_id]
            price = Decimal(str(record["price_excluding_tax"]))
            payload = _sample("webhook_product_update.json")
            payload.update(
                id=record["id"],
                handle=record["handle"],
                name=record["name"],
                description=record["description"],
                sku=record["sku"],
                supply_price=f"{record['supply_price']:.2f}",
                price=f"{price:.2f}",
                # At the rate of the sample's tax (15%): `tax` is the amount on top of `price`.
                tax=f"{price * Decimal('0.15'):.2f}",
                tax_id=record["tax_id"],
                active=record["active"],
                updated_at=_stamp_1_0(record["updated_at"]),
                deleted_at=_stamp_1_0(record["deleted_at"]),
                inventory=[
                    {
                        "outlet_id": outlet_id,
                        "outlet_name": self.outlets[outlet_id]["name"],
                        "count": f"{inv['inventory_level']:.5f}",
                    }
                    for (pid, outlet_id), inv in self.inventory.items()
                    if pid == remote_id
                ],
            )
            return payload

    def inventory_webhook_payload(self, product_id: str, outlet_id: str) -> dict:
        """One product's inventory record at one outlet, as `inventory.update` carries it."""
        with self.lock:
            record = self.inventory[(product_id, outlet_id)]
            payload = _sample("webhook_inventory_update.json")
            payload.update(
                id=record["id"],
                product_id=product_id,
                outlet_id=outlet_id,
                count=record["inventory_level"],
                version=record["version"],
            )
            return payload

    # Storage ----------------------------------------------------------------------------------------

    def _store_product(self, *, code: str, name: str, price: Decimal, active: bool = True, **fields) -> str:
        with self.lock:
            product_id = self._new_id("product")
            now = self._now()
            record = _sample("product.json")
            record.update(
                id=product_id,
                name=name,
                variant_name=name,
                handle="".join(ch for ch in name.lower() if ch.isalnum()),
                sku=code,
                product_codes=[{"type": "CUSTOM", "code": code}],
                active=active,
                description=fields.get("description", ""),
                price_excluding_tax=float(Decimal(price)),
                supply_price=float(Decimal(fields.get("supply_price", Decimal(price) / 2)).quantize(CENT)),
                tax_id=self.tax_id,
                created_at=now,
                updated_at=now,
                deleted_at=None,
                version=self._bump(self.product_feed, product_id),
            )
            self.product_records[product_id] = record
            quantity = Decimal(fields.get("quantity", 0))
            for outlet_id in self.outlets:
                self._store_inventory(product_id, outlet_id, quantity)
            return product_id

    def _store_inventory(self, product_id: str, outlet_id: str, quantity: Decimal) -> None:
        key = (product_id, outlet_id)
        record = self.inventory.get(key) or {
            "id": self._new_id("inventory"),
            "outlet_id": outlet_id,
            "product_id": product_id,
            "average_cost": self.product_records[product_id]["supply_price"],
            "reorder_point": 0,
            "reorder_amount": 0,
            "deleted_at": None,
        }
        version = self._bump(self.inventory_feed, key)
        record.update(inventory_level=float(quantity), current_amount=float(quantity), version=version)
        self.inventory[key] = record

    def _store_customer(
        self, *, first_name: str, last_name: str, company_name: str, email: str, code: str, phone: str = ""
    ) -> str:
        with self.lock:
            customer_id = self._new_id("customer")
            now = self._now()
            self.customers[customer_id] = {
                "id": customer_id,
                "customer_code": code or f"CUS-{len(self.customers) + 1:05d}",
                "name": company_name or f"{first_name} {last_name}".strip(),
                "first_name": first_name or None,
                "last_name": last_name or None,
                "company_name": company_name or None,
                "email": email or None,
                "phone": phone or None,
                "mobile": None,
                "customer_group_id": None,
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
                "version": self._bump(self.customer_feed, customer_id),
            }
            return customer_id

    # The seeding surface ------------------------------------------------------------------------

    def issue_credentials(self) -> dict:
        token = self.oauth.issue_direct()
        token.update(self._token_extras())
        return {
            "credentials": token,
            "remote_org_id": self.domain_prefix,
            "remote_org_name": self.store_name,
            "token_expires_at": self.clock() + self.oauth.access_lifetime,
        }

    def add_product(self, *, code: str, name: str, price: Decimal, **fields) -> str:
        return self._store_product(code=code, name=name, price=Decimal(price), **fields)

    def change_product(self, remote_id: str, changes: dict, *, touch: bool) -> None:
        with self.lock:
            record = self.product_records[remote_id]
            if "name" in changes:
                record["name"] = record["variant_name"] = changes["name"]
            if "price" in changes:
                record["price_excluding_tax"] = float(Decimal(changes["price"]))
            if "description" in changes:
                record["description"] = changes["description"]
            if "active" in changes:
                record["active"] = bool(changes["active"])
            if "code" in changes:
                record["sku"] = changes["code"]
            if touch:
                record["updated_at"] = self._now()
                record["version"] = self._bump(self.product_feed, remote_id)

    def delete_product(self, remote_id: str) -> None:
        # Deleting a product also removes its inventory records; both show in `deleted=true` feeds.
        with self.lock:
            now = self._now()
            self.product_records[remote_id].update(
                deleted_at=now, updated_at=now, active=False, version=self._bump(self.product_feed, remote_id)
            )
            for key, record in self.inventory.items():
                if key[0] == remote_id:
                    record.update(deleted_at=now, version=self._bump(self.inventory_feed, key))

    def _outlet_id(self, location: str) -> str:
        for outlet in self.outlets.values():
            if location in (outlet["id"], outlet["name"]):
                return outlet["id"]
        raise KeyError(f"No outlet is called {location!r}")

    def add_outlet(self, name: str) -> str:
        """A new outlet, with an inventory record of nothing for every product that keeps stock."""
        with self.lock:
            outlet_id = self._new_id("outlet")
            self.outlets[outlet_id] = {"id": outlet_id, "name": name, "deleted_at": None}
            for product_id, product in self.product_records.items():
                if product["has_inventory"]:
                    self._store_inventory(product_id, outlet_id, Decimal(0))
            return outlet_id

    def rename_outlet(self, location: str, name: str) -> None:
        """`location` is an outlet id or name. Inventory records do not change with it."""
        with self.lock:
            self.outlets[self._outlet_id(location)]["name"] = name

    def set_stock(self, remote_id: str, location: str, quantity: Decimal) -> None:
        """`location` is an outlet id or name."""
        with self.lock:
            self._store_inventory(remote_id, self._outlet_id(location), Decimal(quantity))

    def add_customer(self, *, name: str, email: str = "", account_number: str = "") -> str:
        return self._store_customer(
            first_name="", last_name="", company_name=name, email=email, code=account_number
        )

    def delete_customer(self, remote_id: str) -> None:
        with self.lock:
            now = self._now()
            version = self._bump(self.customer_feed, remote_id)
            self.customers[remote_id].update(deleted_at=now, updated_at=now, version=version)

    def seed(self, *, products: int = 0, customers: int = 0, locations: int = 2) -> None:
        self._ensure_outlets(locations)
        outlet_ids = list(self.outlets)[:locations]
        for n in range(1, products + 1):
            product_id = self.add_product(
                code=f"SKU-{n:05d}", name=f"Product {n:05d}", price=Decimal(5 + n % 50) + Decimal("0.99")
            )
            for number, outlet_id in enumerate(outlet_ids):
                self.set_stock(product_id, outlet_id, Decimal((n + number * 7) % 40))
        for n in range(1, customers + 1):
            self.add_customer(
                name=f"Customer {n:05d}", email=f"customer{n:05d}@example.com", account_number=f"CUST{n:05d}"
            )

    def products(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "remote_id": r["id"],
                    "code": r["sku"],
                    "name": r["name"],
                    "price": Decimal(str(r["price_excluding_tax"])),
                    "active": r["active"],
                }
                for r in self.product_records.values()
                if not r.get("deleted_at")
            ]

    def invoices(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "remote_id": r["id"],
                    "reference": r["invoice_number"],
                    "contact_id": r["customer_id"],
                    "total": (Decimal(str(r["total_price"])) + Decimal(str(r["total_tax"]))).quantize(CENT),
                }
                for r in self.sales.values()
            ]
