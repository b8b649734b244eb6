"""A Xero Accounting API 2.0 emulator: OAuth2, tenants, Items, Contacts, Invoices, limits, webhooks.

Behaviour follows shared/providers/FACTS.md section 1; each quirk cites its source there. One
origin serves every Xero host (login, identity, api), as `rebase_url` expects.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from email.utils import parsedate_to_datetime

import requests

from connectors.emulation import Emulator, OAuthServer, Request, Response, route

API = "/api.xro/2.0"
# Deterministic ids: the same seed gives the same ItemIDs and ContactIDs on every run.
ID_NAMESPACE = uuid.UUID("6f1c0c1e-8a55-4c1c-9a0e-5d8b7f3e2a10")
ZERO_ID = "00000000-0000-0000-0000-000000000000"
MAX_IDS = 50  # More GUIDs than this in IDs= answers 404 in the wild (XeroAPI/Xero-OpenAPI#534).
# Those 53 GUIDs make a query string of about 2,060 characters and 50 make about 1,950: a longer
# query for invoices or contacts answers 404 the same way.
MAX_QUERY_CHARS = 2048
IDEMPOTENCY_TTL = timedelta(minutes=6)
CENT = Decimal("0.01")

ACCOUNTS = {
    "090": {"Name": "Business Bank Account", "Type": "BANK"},
    "091": {"Name": "Business Savings Account", "Type": "BANK"},
    "200": {"Name": "Sales", "Type": "REVENUE"},
    "260": {"Name": "Other Revenue", "Type": "REVENUE"},
    "400": {"Name": "Advertising", "Type": "EXPENSE"},
    "630": {"Name": "Inventory", "Type": "INVENTORY"},
}
TAX_RATES = {
    "OUTPUT2": {"Name": "15% GST on Income", "EffectiveRate": Decimal("15")},
    "EXEMPTOUTPUT": {"Name": "Zero Rated", "EffectiveRate": Decimal("0")},
    "NONE": {"Name": "No GST", "EffectiveRate": Decimal("0")},
}


def xero_date(moment: datetime) -> str:
    """/Date(ms+0000)/, the Microsoft JSON date Xero writes."""
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def _render(record: dict) -> dict:
    return {key: xero_date(value) if isinstance(value, datetime) else value for key, value in record.items()}


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


@dataclass
class Organisation:
    tenant_id: str
    name: str
    items: dict[str, dict] = field(default_factory=dict)
    contacts: dict[str, dict] = field(default_factory=dict)
    invoices: dict[str, dict] = field(default_factory=dict)
    credit_notes: dict[str, dict] = field(default_factory=dict)
    payments: dict[str, dict] = field(default_factory=dict)
    idempotency: dict[str, tuple[datetime, tuple, Response]] = field(default_factory=dict)
    minute_calls: dict[datetime, int] = field(default_factory=dict)
    day_calls: dict[datetime, int] = field(default_factory=dict)


class XeroEmulator(Emulator):
    name = "xero"

    def __init__(
        self,
        *,
        clock=None,
        minute_limit: int = 60,
        day_limit: int = 5000,
        app_minute_limit: int = 10000,
        organisation_name: str = "Demo Company (Emulator)",
    ) -> None:
        super().__init__(clock=clock)
        self.minute_limit = minute_limit
        self.day_limit = day_limit
        self.app_minute_limit = app_minute_limit
        self.app_minute_calls: dict[datetime, int] = {}
        self._sequence = 0
        first = Organisation(tenant_id=self._new_id("tenant"), name=organisation_name)
        self.organisations = {first.tenant_id: first}
        # https://developer.xero.com/faq/oauth2 : 30-minute access tokens, 30-minute grace for a
        # rotated-out refresh token.
        self.oauth = OAuthServer(
            self,
            provider_name="Xero",
            access_lifetime=timedelta(minutes=30),
            refresh_grace=timedelta(minutes=30),
            organisations=[self._connection(first)],
        )
        self.last_webhook: tuple[str, bytes, dict] | None = None

    @property
    def org(self) -> Organisation:
        return next(iter(self.organisations.values()))

    def _new_id(self, kind: str) -> str:
        with self.lock:
            self._sequence += 1
            return str(uuid.uuid5(ID_NAMESPACE, f"{kind}-{self._sequence}"))

    def _connection(self, org: Organisation) -> dict:
        return {
            "id": str(uuid.uuid5(ID_NAMESPACE, f"connection-{org.tenant_id}")),
            "tenantId": org.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": org.name,
            "name": org.name,
        }

    # Seeding surface -------------------------------------------------------------------------

    def issue_credentials(self) -> dict:
        tokens = self.oauth.issue_direct()
        return {
            "credentials": tokens,
            "remote_org_id": self.org.tenant_id,
            "remote_org_name": self.org.name,
            "token_expires_at": self.clock() + self.oauth.access_lifetime,
        }

    def add_product(self, *, code: str, name: str, price: Decimal, **fields) -> str:
        item_id = fields.get("remote_id") or self._new_id("item")
        tracked = bool(fields.get("tracked", False))
        item = {
            "ItemID": item_id,
            "Code": code,
            "Name": name,
            "Description": fields.get("description", name),
            "IsSold": True,
            "IsPurchased": tracked,
            "IsTrackedAsInventory": tracked,
            "SalesDetails": {
                "UnitPrice": float(price),
                "AccountCode": fields.get("account_code", "200"),
                "TaxType": fields.get("tax_type", "OUTPUT2"),
            },
            "PurchaseDetails": {},
            "UpdatedDateUTC": self.clock(),
        }
        if tracked:
            item["InventoryAssetAccountCode"] = "630"
            item["QuantityOnHand"] = float(fields.get("quantity", 0))
        with self.lock:
            self.org.items[item_id] = item
        return item_id

    def change_product(self, remote_id: str, changes: dict, *, touch: bool) -> None:
        with self.lock:
            item = self.org.items[remote_id]
            if touch:
                item["UpdatedDateUTC"] = self.clock()
            if "name" in changes:
                item["Name"] = changes["name"]
            if "description" in changes:
                item["Description"] = changes["description"]
            if "price" in changes:
                item["SalesDetails"]["UnitPrice"] = float(changes["price"])
            if "code" in changes:
                item["Code"] = changes["code"]

    def delete_product(self, remote_id: str) -> None:
        # Xero deletes items outright: no tombstone, nothing for If-Modified-Since to return.
        with self.lock:
            del self.org.items[remote_id]

    def set_stock(self, remote_id: str, location: str, quantity: Decimal) -> None:
        """Xero has one stock pool, so `location` is ignored. Xero moves stock through
        transactions; whether that stamps the item's UpdatedDateUTC is not documented (not every
        change does, FACTS 1.3), so the emulator stamps it and the sweep covers the other case."""
        with self.lock:
            item = self.org.items[remote_id]
            item["IsTrackedAsInventory"] = True
            item.setdefault("InventoryAssetAccountCode", "630")
            item["QuantityOnHand"] = float(quantity)
            item["UpdatedDateUTC"] = self.clock()

    def add_customer(self, *, name: str, email: str = "", account_number: str = "", **fields) -> str:
        contact_id = self._new_id("contact")
        contact = {
            "ContactID": contact_id,
            "ContactStatus": "ACTIVE",
            "Name": name,
            "EmailAddress": email,
            "AccountNumber": account_number,
            "FirstName": fields.get("first_name", ""),
            "LastName": fields.get("last_name", ""),
            "Phones": [],
            "Addresses": [],
            "IsCustomer": True,
            "IsSupplier": False,
            "HasValidationErrors": False,
            "UpdatedDateUTC": self.clock(),
        }
        if fields.get("contact_number"):
            contact["ContactNumber"] = fields["contact_number"]
        with self.lock:
            self.org.contacts[contact_id] = contact
        return contact_id

    def archive_customer(self, remote_id: str) -> None:
        with self.lock:
            contact = self.org.contacts[remote_id]
            contact["ContactStatus"] = "ARCHIVED"
            contact["UpdatedDateUTC"] = self.clock()

    def seed(self, *, products: int = 0, customers: int = 0, locations: int = 2) -> None:
        """`locations` is ignored: Xero keeps one stock pool. Every third product tracks stock."""
        start = len(self.org.items)
        for n in range(start + 1, start + products + 1):
            self.add_product(
                code=f"SKU-{n:05d}",
                name=f"Product {n:05d}",
                price=Decimal(5 + n % 20) + Decimal("0.99"),
                tracked=n % 3 == 0,
                quantity=n % 50,
            )
        start = len(self.org.contacts)
        for n in range(start + 1, start + customers + 1):
            self.add_customer(
                name=f"Customer {n:05d}",
                email=f"customer{n:05d}@example.com",
                account_number=f"CUST-{n:05d}",
            )

    def products(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "remote_id": item["ItemID"],
                    "code": item["Code"],
                    "name": item["Name"],
                    "price": Decimal(str(item.get("SalesDetails", {}).get("UnitPrice", 0))),
                    "active": True,
                }
                for item in self.org.items.values()
            ]

    def credit_notes(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "remote_id": note["CreditNoteID"],
                    "reference": note.get("Reference", ""),
                    "contact_id": note["Contact"]["ContactID"],
                    "total": Decimal(str(note["Total"])),
                }
                for note in self.org.credit_notes.values()
            ]

    def payments(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "remote_id": payment["PaymentID"],
                    "reference": payment.get("Reference", ""),
                    "document_id": (payment.get("Invoice") or {}).get("InvoiceID")
                    or (payment.get("CreditNote") or {}).get("CreditNoteID"),
                    "account_code": payment["Account"]["Code"],
                    "amount": Decimal(str(payment["Amount"])),
                    "type": payment["PaymentType"],
                }
                for payment in self.org.payments.values()
            ]

    def invoices(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "remote_id": invoice["InvoiceID"],
                    "reference": invoice.get("Reference", ""),
                    "contact_id": invoice["Contact"]["ContactID"],
                    "total": Decimal(str(invoice["Total"])),
                }
                for invoice in self.org.invoices.values()
            ]

    # Webhooks --------------------------------------------------------------------------------

    def send_webhook(self, url: str, events: list[dict], key: str, *, sign_with: str | None = None):
        """POST one delivery as Xero does: x-xero-signature = base64(HMAC-SHA256(raw body, key))
        (https://developer.xero.com/documentation/webhooks/configuring-your-server). `events` are
        Xero-shaped dicts; tenantId, tenantType and eventDateUtc default to this organisation.
        `sign_with` signs with another key, as in the intent-to-receive's wrong deliveries."""
        full = [
            {
                "tenantId": self.org.tenant_id,
                "tenantType": "ORGANISATION",
                "eventDateUtc": self.clock().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
                **event,
            }
            for event in events
        ]
        for event in full:
            event.setdefault(
                "resourceUrl",
                f"https://api.xero.com{API}/{event['eventCategory'].title()}s/{event['resourceId']}",
            )
        body = json.dumps(
            {
                "events": full,
                "firstEventSequence": 1 if full else 0,
                "lastEventSequence": len(full),
                "entropy": base64.b32encode(uuid.uuid4().bytes).decode()[:20],
            }
        ).encode()
        digest = hmac.new((sign_with or key).encode(), body, hashlib.sha256).digest()
        headers = {"Content-Type": "application/json", "x-xero-signature": base64.b64encode(digest).decode()}
        self.last_webhook = (url, body, headers)
        return requests.post(url, data=body, headers=headers, timeout=10)

    def resend_webhook(self):
        """POST the last delivery again, byte for byte, as Xero's retries (and a replay) do."""
        url, body, headers = self.last_webhook
        return requests.post(url, data=body, headers=headers, timeout=10)

    def send_intent_to_receive(self, url: str, key: str) -> tuple[int, int]:
        """The intent-to-receive check: an empty delivery signed correctly, then one signed
        wrongly. Xero expects (200, 401) back."""
        good = self.send_webhook(url, [], key)
        bad = self.send_webhook(url, [], key, sign_with=key + "-wrong")
        return good.status_code, bad.status_code

    # Errors in Xero's shapes -----------------------------------------------------------------

    def error(self, request: Request, status: int, message: str) -> Response:
        if status == 404:
            return Response(
                404, b"The resource you're looking for cannot be found", {"Content-Type": "text/html"}
            )
        return Response.json({"Type": None, "Title": message, "Status": status, "Detail": message}, status)

    def rate_limited(self, request: Request, retry_after: float, problem: str = "minute") -> Response:
        # xero-node#634 (Xero staff): 429 with Retry-After in seconds and X-Rate-Limit-Problem.
        return Response(
            429,
            b"",
            {"Retry-After": str(int(retry_after)), "X-Rate-Limit-Problem": problem},
        )

    def validation_exception(self, elements: list[dict]) -> Response:
        return Response.json(
            {
                "ErrorNumber": 10,
                "Type": "ValidationException",
                "Message": "A validation exception occurred",
                "Elements": elements,
            },
            400,
        )

    # Authentication, tenancy and rate limits ---------------------------------------------------

    def before_route(self, request: Request) -> Response | None:
        is_api = request.path.startswith(API)
        if not (is_api or request.path.lower() == "/connections"):
            return None
        grant = self.oauth.grant_for(request)
        if grant is None:
            return Response.json(
                {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"}, 401
            )
        request.grant = grant
        if not is_api:
            return None
        tenant_id = request.header("xero-tenant-id")
        allowed = {org["tenantId"] for org in grant.organisations}
        if tenant_id not in allowed or tenant_id not in self.organisations:
            return Response.json(
                {"Type": None, "Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"},
                403,
            )
        org = self.organisations[tenant_id]
        request.org = org
        return self._spend(request, org)

    def _spend(self, request: Request, org: Organisation) -> Response | None:
        # Fixed windows on the emulator clock (https://developer.xero.com/faq/limits).
        now = self.clock()
        minute = now.replace(second=0, microsecond=0)
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        with self.lock:
            if org.day_calls.get(day, 0) >= self.day_limit:
                wait = (day + timedelta(days=1) - now).total_seconds()
                return self.rate_limited(request, max(wait, 1), "day")
            if org.minute_calls.get(minute, 0) >= self.minute_limit:
                return self.rate_limited(
                    request, max((minute + timedelta(minutes=1) - now).total_seconds(), 1)
                )
            if self.app_minute_calls.get(minute, 0) >= self.app_minute_limit:
                return self.rate_limited(request, 60, "appminute")
            org.minute_calls[minute] = org.minute_calls.get(minute, 0) + 1
            org.day_calls[day] = org.day_calls.get(day, 0) + 1
            self.app_minute_calls[minute] = self.app_minute_calls.get(minute, 0) + 1
            request.remaining = {
                "X-MinLimit-Remaining": str(self.minute_limit - org.minute_calls[minute]),
                "X-DayLimit-Remaining": str(self.day_limit - org.day_calls[day]),
                "X-AppMinLimit-Remaining": str(self.app_minute_limit - self.app_minute_calls[minute]),
            }
        return None

    def after_route(self, request: Request, response: Response) -> Response:
        remaining = getattr(request, "remaining", None)
        if remaining:
            response.headers.update(remaining)
        return response

    def dispatch(self, request: Request) -> Response:
        key = request.header("idempotency-key")
        org = getattr(request, "org", None)
        if not (key and org and request.method in ("PUT", "POST")):
            return super().dispatch(request)
        fingerprint = (request.method, request.path, request.query_string, request.body)
        # Held across the handler so a concurrent retry waits for the first answer instead of
        # writing twice.
        with self.lock:
            cached = org.idempotency.get(key)
            if cached and cached[0] > self.clock():
                if cached[1] != fingerprint:
                    return self.validation_exception(
                        [
                            {
                                "ValidationErrors": [
                                    {"Message": f"Idempotency key {key} is used with a different request"}
                                ]
                            }
                        ]
                    )
                return copy.deepcopy(cached[2])
            response = super().dispatch(request)
            if response.status < 500:
                org.idempotency[key] = (self.clock() + IDEMPOTENCY_TTL, fingerprint, copy.deepcopy(response))
            return response

    # OAuth and connections -------------------------------------------------------------------

    @route("GET", "/identity/connect/authorize")
    def authorize_page(self, request: Request) -> Response:
        return self.oauth.authorize(request)

    @route("POST", "/identity/connect/authorize")
    def authorize_decision(self, request: Request) -> Response:
        return self.oauth.authorize(request)

    @route("POST", "/connect/token")
    def token(self, request: Request) -> Response:
        return self.oauth.token(request)

    @route("POST", "/connect/revocation")
    def revocation(self, request: Request) -> Response:
        presented = request.form().get("token", "")
        with self.lock:
            for grant in self.oauth.grants:
                if presented in (grant.refresh_token, *grant.access_tokens):
                    grant.access_tokens.clear()
                    grant.refresh_token = ""
                    grant.retired_refresh_tokens.clear()
        return Response(200)

    @route("GET", "/(?i:connections)")
    def connections(self, request: Request) -> Response:
        now = self.clock().strftime("%Y-%m-%dT%H:%M:%S.%f")
        return Response.json(
            [
                {**org, "authEventId": org["id"], "createdDateUtc": now, "updatedDateUtc": now}
                for org in request.grant.organisations
            ]
        )

    # Reading helpers -------------------------------------------------------------------------

    def _envelope(self, key: str, records: list[dict], **extra) -> Response:
        return Response.json(
            {
                "Id": str(uuid.uuid4()),
                "Status": "OK",
                "ProviderName": "Commerce Sync Hub",
                "DateTimeUTC": xero_date(self.clock()).replace("+0000", ""),
                **extra,
                key: [_render(record) for record in records],
            }
        )

    def _modified_since(self, request: Request, records: list[dict]) -> list[dict] | Response:
        value = request.header("if-modified-since")
        if not value:
            return records
        try:
            since = datetime.fromisoformat(value)
        except ValueError:
            try:
                since = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return self.validation_exception(
                    [{"ValidationErrors": [{"Message": "Invalid If-Modified-Since"}]}]
                )
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        return [record for record in records if record["UpdatedDateUTC"] > since]

    def _where(self, request: Request, records: list[dict]) -> list[dict] | Response:
        """`where` clauses of the form Field=="value" or Field==true joined by OR (or AND)."""
        text = request.params.get("where", "").strip()
        if not text:
            return records
        joiner = " AND " if " AND " in text.upper() and " OR " not in text.upper() else " OR "
        clauses = []
        for part in re.split(joiner, text, flags=re.IGNORECASE):
            match = re.fullmatch(r'\s*(\w+)\s*==\s*(?:"([^"]*)"|(true|false))\s*', part)
            if not match:
                return self.validation_exception(
                    [{"ValidationErrors": [{"Message": f"Invalid where: {text}"}]}]
                )
            name, text_value, flag = match.groups()
            clauses.append((name, text_value if flag is None else flag == "true"))

        def hit(record, name, value):
            return record.get(name) == value

        if joiner == " AND ":
            return [r for r in records if all(hit(r, n, v) for n, v in clauses)]
        return [r for r in records if any(hit(r, n, v) for n, v in clauses)]

    def _order(self, request: Request, records: list[dict]) -> list[dict]:
        order = request.params.get("order", "").split()
        if not order:
            return records
        reverse = len(order) > 1 and order[1].upper() == "DESC"
        return sorted(records, key=lambda r: str(r.get(order[0], "")), reverse=reverse)

    def _paged(self, request: Request, records: list[dict], key: str) -> Response:
        if "page" not in request.params:
            return self._envelope(key, records)
        page = max(int(request.params.get("page") or 1), 1)
        # pageSize is 1..1000; Xero's default is 100 (FACTS 1.4).
        size = min(max(int(request.params.get("pageSize") or 100), 1), 1000)
        chunk = records[(page - 1) * size : page * size]
        pagination = {
            "page": page,
            "pageSize": size,
            "pageCount": -(-len(records) // size),
            "itemCount": len(records),
        }
        return self._envelope(key, chunk, pagination=pagination)

    def _filtered(self, request: Request, records: list[dict]) -> list[dict] | Response:
        for step in (self._modified_since, self._where):
            records = step(request, records)
            if isinstance(records, Response):
                return records
        return self._order(request, records)

    def _body_list(self, request: Request, key: str) -> list[dict] | Response:
        try:
            body = request.json()
        except ValueError:
            return self.validation_exception(
                [{"ValidationErrors": [{"Message": "Invalid JSON in request body"}]}]
            )
        if isinstance(body, dict) and isinstance(body.get(key), list):
            return body[key]
        if isinstance(body, dict):
            return [body]
        return self.validation_exception([{"ValidationErrors": [{"Message": f"Expected {key}"}]}])

    def _batch_answer(self, request: Request, key: str, elements: list[dict]) -> Response:
        """summarizeErrors=false: 200 and every element marked; otherwise one error fails the
        whole answer with 400, though the good elements were saved (FACTS 1.6)."""
        failed = [e for e in elements if e.get("ValidationErrors")]
        if failed and request.params.get("summarizeErrors", "true").lower() != "false":
            return self.validation_exception(failed)
        return self._envelope(key, elements)

    # Settings: the chart of accounts and tax rates invoices are checked against ---------------

    @route("GET", f"{API}/Accounts")
    def list_accounts(self, request: Request) -> Response:
        accounts = [
            {
                "AccountID": str(uuid.uuid5(ID_NAMESPACE, f"account-{code}")),
                "Code": code,
                "Status": "ACTIVE",
                **data,
            }
            for code, data in ACCOUNTS.items()
        ]
        return self._envelope("Accounts", accounts)

    @route("GET", f"{API}/TaxRates")
    def list_tax_rates(self, request: Request) -> Response:
        rates = [
            {
                "TaxType": code,
                "Name": data["Name"],
                "Status": "ACTIVE",
                "EffectiveRate": float(data["EffectiveRate"]),
            }
            for code, data in TAX_RATES.items()
        ]
        return self._envelope("TaxRates", rates)

    # Items -----------------------------------------------------------------------------------

    @route("GET", f"{API}/Items")
    def list_items(self, request: Request) -> Response:
        with self.lock:
            records = self._filtered(request, list(request.org.items.values()))
        if isinstance(records, Response):
            return records
        return self._envelope("Items", records)

    def _find_item(self, org: Organisation, id_or_code: str) -> dict | None:
        return org.items.get(id_or_code) or next(
            (item for item in org.items.values() if item["Code"] == id_or_code), None
        )

    @route("GET", f"{API}/Items/(?P<item>[^/]+)")
    def get_item(self, request: Request) -> Response:
        item = self._find_item(request.org, request.args["item"])
        if item is None:
            return self.error(request, 404, "Not found")
        return self._envelope("Items", [item])

    @route("DELETE", f"{API}/Items/(?P<item>[^/]+)")
    def delete_item(self, request: Request) -> Response:
        with self.lock:
            item = self._find_item(request.org, request.args["item"])
            if item is None:
                return self.error(request, 404, "Not found")
            del request.org.items[item["ItemID"]]
        return Response(204)

    @route("PUT", f"{API}/Items")
    def create_items(self, request: Request) -> Response:
        return self._save_items(request, update=False)

    @route("POST", f"{API}/Items")
    def save_items(self, request: Request) -> Response:
        return self._save_items(request, update=True)

    def _save_items(self, request: Request, *, update: bool) -> Response:
        incoming = self._body_list(request, "Items")
        if isinstance(incoming, Response):
            return incoming
        org = request.org
        answers = []
        with self.lock:
            for data in incoming:
                errors = []
                code = str(data.get("Code") or "")
                existing = (
                    self._find_item(org, data.get("ItemID") or code) if code or data.get("ItemID") else None
                )
                if not code and not existing:
                    errors.append("Item code is required")
                if len(code) > 30:
                    errors.append("Item code must not be more than 30 characters long")
                if len(str(data.get("Name") or "")) > 50:
                    errors.append("Item name must not be more than 50 characters long")
                if existing and not update:
                    errors.append(f"Item code '{code}' already exists")
                errors += self._check_codes(data.get("SalesDetails") or {})
                if errors:
                    answers.append({**data, "ValidationErrors": [{"Message": m} for m in errors]})
                    continue
                item = existing or {
                    "ItemID": self._new_id("item"),
                    "IsSold": True,
                    "IsPurchased": False,
                    "IsTrackedAsInventory": False,
                    "PurchaseDetails": {},
                    "SalesDetails": {},
                }
                item.update({k: v for k, v in data.items() if k not in ("ItemID", "QuantityOnHand")})
                if item.get("InventoryAssetAccountCode"):
                    item["IsTrackedAsInventory"] = True
                    item.setdefault("QuantityOnHand", 0.0)
                item["UpdatedDateUTC"] = self.clock()
                org.items[item["ItemID"]] = item
                answers.append(copy.deepcopy(item))
        return self._batch_answer(request, "Items", answers)

    def _check_codes(self, details: dict) -> list[str]:
        errors = []
        account = details.get("AccountCode")
        if account and account not in ACCOUNTS:
            errors.append(f"Account code '{account}' is not a valid code for this document.")
        tax = details.get("TaxType")
        if tax and tax not in TAX_RATES:
            errors.append(
                f"The TaxType code '{tax}' does not exist or cannot be used for this type of transaction."
            )
        return errors

    # Contacts --------------------------------------------------------------------------------

    @route("GET", f"{API}/Contacts")
    def list_contacts(self, request: Request) -> Response:
        if len(request.query_string) > MAX_QUERY_CHARS:
            return self.error(request, 404, "Not found")
        with self.lock:
            records = list(request.org.contacts.values())
        ids = [i for i in request.params.get("IDs", "").split(",") if i.strip()]
        if len(ids) > MAX_IDS:
            return self.error(request, 404, "Not found")
        if ids:
            records = [r for r in records if r["ContactID"] in {i.strip() for i in ids}]
        if request.params.get("includeArchived", "false").lower() != "true" and not ids:
            records = [r for r in records if r["ContactStatus"] != "ARCHIVED"]
        term = request.params.get("searchTerm", "").strip().lower()
        if term:
            fields = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
            records = [r for r in records if any(term in str(r.get(f) or "").lower() for f in fields)]
        records = self._filtered(request, records)
        if isinstance(records, Response):
            return records
        return self._paged(request, records, "Contacts")

    @route("GET", f"{API}/Contacts/(?P<contact>[^/]+)")
    def get_contact(self, request: Request) -> Response:
        contact = request.org.contacts.get(request.args["contact"])
        if contact is None:
            return self.error(request, 404, "Not found")
        return self._envelope("Contacts", [contact])

    @route("PUT", f"{API}/Contacts")
    def create_contacts(self, request: Request) -> Response:
        return self._save_contacts(request)

    @route("POST", f"{API}/Contacts")
    def save_contacts(self, request: Request) -> Response:
        return self._save_contacts(request)

    def _save_contacts(self, request: Request) -> Response:
        incoming = self._body_list(request, "Contacts")
        if isinstance(incoming, Response):
            return incoming
        org = request.org
        answers = []
        with self.lock:
            for data in incoming:
                existing = org.contacts.get(data.get("ContactID", ""))
                name = str(data.get("Name") or (existing or {}).get("Name") or "")
                errors = []
                if not name:
                    errors.append("The contact name must be specified.")
                clash = next(
                    (
                        c
                        for c in org.contacts.values()
                        if c["Name"].lower() == name.lower()
                        and c["ContactStatus"] == "ACTIVE"
                        and c is not existing
                    ),
                    None,
                )
                if name and clash:
                    errors.append(
                        f"The contact name {name} is already assigned to another contact. "
                        "The contact name must be unique across all active contacts."
                    )
                if errors:
                    answers.append({**data, "ValidationErrors": [{"Message": m} for m in errors]})
                    continue
                contact = existing or {
                    "ContactID": self._new_id("contact"),
                    "ContactStatus": "ACTIVE",
                    "EmailAddress": "",
                    "Phones": [],
                    "Addresses": [],
                    "IsCustomer": False,
                    "IsSupplier": False,
                    "HasValidationErrors": False,
                }
                contact.update({k: v for k, v in data.items() if k != "ContactID"})
                contact["UpdatedDateUTC"] = self.clock()
                org.contacts[contact["ContactID"]] = contact
                answers.append(copy.deepcopy(contact))
        return self._batch_answer(request, "Contacts", answers)

    # Invoices --------------------------------------------------------------------------------

    @route("GET", f"{API}/Invoices")
    def list_invoices(self, request: Request) -> Response:
        if len(request.query_string) > MAX_QUERY_CHARS:
            return self.error(request, 404, "Not found")
        with self.lock:
            records = list(request.org.invoices.values())
        ids = [i.strip() for i in request.params.get("IDs", "").split(",") if i.strip()]
        if len(ids) > MAX_IDS:
            return self.error(request, 404, "Not found")
        if ids:
            records = [r for r in records if r["InvoiceID"] in ids]
        numbers = [n.strip() for n in request.params.get("InvoiceNumbers", "").split(",") if n.strip()]
        if numbers:
            records = [r for r in records if r.get("InvoiceNumber") in numbers]
        statuses = [s.strip() for s in request.params.get("Statuses", "").split(",") if s.strip()]
        if statuses:
            records = [r for r in records if r["Status"] in statuses]
        term = request.params.get("searchTerm", "").strip().lower()
        if term:
            records = [
                r
                for r in records
                if term in str(r.get("InvoiceNumber") or "").lower()
                or term in str(r.get("Reference") or "").lower()
            ]
        records = self._filtered(request, records)
        if isinstance(records, Response):
            return records
        return self._paged(request, records, "Invoices")

    @route("GET", f"{API}/Invoices/(?P<invoice>[^/]+)")
    def get_invoice(self, request: Request) -> Response:
        wanted = request.args["invoice"]
        invoice = request.org.invoices.get(wanted) or next(
            (i for i in request.org.invoices.values() if i.get("InvoiceNumber") == wanted), None
        )
        if invoice is None:
            return self.error(request, 404, "Not found")
        return self._envelope("Invoices", [invoice])

    @route("PUT", f"{API}/Invoices")
    def create_invoices(self, request: Request) -> Response:
        return self._save_invoices(request)

    @route("POST", f"{API}/Invoices")
    def save_invoices(self, request: Request) -> Response:
        return self._save_invoices(request)

    def _list_documents(self, request: Request, store: str, key: str) -> Response:
        """Credit notes or payments, filtered (`where`, If-Modified-Since) and paged."""
        with self.lock:
            records = self._filtered(request, list(getattr(request.org, store).values()))
        if isinstance(records, Response):
            return records
        return self._paged(request, records, key)

    def _save_documents(
        self, request: Request, key: str, id_field: str, error_flag: str, build: Callable, store: str
    ) -> Response:
        """A batch PUT/POST of invoices, credit notes or payments: each one built and checked by
        `build`, kept in the organisation's `store` when valid, and answered one by one in Xero's
        shape (a refused one echoed with a zero id, its error flag and its messages)."""
        incoming = self._body_list(request, key)
        if isinstance(incoming, Response):
            return incoming
        answers = []
        with self.lock:
            for data in incoming:
                record, errors = build(request.org, data)
                if errors:
                    answers.append(
                        {
                            **data,
                            id_field: ZERO_ID,
                            error_flag: True,
                            "StatusAttributeString": "ERROR",
                            "ValidationErrors": [{"Message": m} for m in errors],
                        }
                    )
                    continue
                getattr(request.org, store)[record[id_field]] = record
                answers.append({**copy.deepcopy(record), "StatusAttributeString": "OK"})
        return self._batch_answer(request, key, answers)

    def _save_invoices(self, request: Request) -> Response:
        return self._save_documents(
            request, "Invoices", "InvoiceID", "HasErrors", self._build_invoice, "invoices"
        )

    def _build_invoice(self, org: Organisation, data: dict) -> tuple[dict, list[str]]:
        errors: list[str] = []
        if data.get("Type") not in ("ACCREC", "ACCPAY"):
            errors.append("Invoice Type must be specified")
        contact_data = data.get("Contact") or {}
        contact = None
        if contact_data.get("ContactID"):
            contact = org.contacts.get(contact_data["ContactID"])
            if contact is None:
                errors.append("The contact with the specified ContactID could not be found")
        elif contact_data.get("Name"):
            contact = next((c for c in org.contacts.values() if c["Name"] == contact_data["Name"]), None)
        else:
            errors.append(
                "The Contact must contain at least 1 of the following elements to identify the contact: "
                "Name, ContactID, ContactNumber"
            )
        number = data.get("InvoiceNumber")
        if number and any(i.get("InvoiceNumber") == number for i in org.invoices.values()):
            errors.append("Invoice # must be unique.")
        lines = []
        amount_types = data.get("LineAmountTypes", "Exclusive")
        for line in data.get("LineItems") or []:
            line = dict(line)
            item = self._find_item(org, line["ItemCode"]) if line.get("ItemCode") else None
            if line.get("ItemCode") and item is None:
                errors.append(f"Item code '{line['ItemCode']}' is not valid")
            sales = (item or {}).get("SalesDetails") or {}
            line.setdefault("AccountCode", sales.get("AccountCode"))
            line.setdefault("TaxType", sales.get("TaxType") or "OUTPUT2")
            if not line.get("AccountCode"):
                errors.append("Account code must be specified")
            errors += self._check_codes(line)
            lines.append(line)
        if not lines:
            errors.append("Invoice must have at least one line item")
        if errors:
            return {}, errors
        if contact is None:
            contact = org.contacts[self.add_customer(name=contact_data["Name"])]
        sub_total = total_tax = Decimal(0)
        for line in lines:
            gross = _money(Decimal(str(line.get("Quantity", 1))) * Decimal(str(line.get("UnitAmount", 0))))
            if line.get("DiscountRate"):
                gross = _money(gross * (1 - Decimal(str(line["DiscountRate"])) / 100))
            rate = TAX_RATES[line["TaxType"]]["EffectiveRate"] / 100
            if amount_types == "Inclusive":
                tax = _money(gross * rate / (1 + rate))
                net = gross - tax
            else:
                tax = _money(gross * rate) if amount_types == "Exclusive" else Decimal(0)
                net = gross
            line.update(
                LineItemID=self._new_id("line"),
                LineAmount=float(gross),
                TaxAmount=float(tax),
                ValidationErrors=[],
            )
            sub_total += net
            total_tax += tax
        issued = _parse_day(data.get("Date")) or self.clock()
        invoice = {
            **data,
            "InvoiceID": self._new_id("invoice"),
            "InvoiceNumber": number or f"INV-{len(org.invoices) + 1:04d}",
            "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]},
            "Date": issued,
            "DueDate": _parse_day(data.get("DueDate")) or issued,
            "Status": data.get("Status", "DRAFT"),
            "LineAmountTypes": amount_types,
            "LineItems": lines,
            "SubTotal": float(sub_total),
            "TotalTax": float(total_tax),
            "Total": float(sub_total + total_tax),
            "AmountDue": float(sub_total + total_tax),
            "AmountPaid": 0.0,
            "CurrencyCode": data.get("CurrencyCode", "NZD"),
            "HasErrors": False,
            "UpdatedDateUTC": self.clock(),
        }
        return invoice, []

    # Credit notes ----------------------------------------------------------------------------

    @route("GET", f"{API}/CreditNotes")
    def list_credit_notes(self, request: Request) -> Response:
        return self._list_documents(request, "credit_notes", "CreditNotes")

    @route("PUT", f"{API}/CreditNotes")
    def create_credit_notes(self, request: Request) -> Response:
        return self._save_credit_notes(request)

    @route("POST", f"{API}/CreditNotes")
    def save_credit_notes(self, request: Request) -> Response:
        return self._save_credit_notes(request)

    def _save_credit_notes(self, request: Request) -> Response:
        return self._save_documents(
            request, "CreditNotes", "CreditNoteID", "HasErrors", self._build_credit_note, "credit_notes"
        )

    def _build_credit_note(self, org: Organisation, data: dict) -> tuple[dict, list[str]]:
        """Totals as an invoice's; the credit note's own number sequence and RemainingCredit."""
        kind = data.get("Type")
        if kind not in ("ACCRECCREDIT", "ACCPAYCREDIT"):
            return {}, ["CreditNote Type must be specified"]
        number = data.get("CreditNoteNumber")
        if number and any(n.get("CreditNoteNumber") == number for n in org.credit_notes.values()):
            return {}, ["Credit Note # must be unique."]
        body, errors = self._build_invoice(org, {**data, "Type": kind.removesuffix("CREDIT")})
        if errors:
            return {}, errors
        for key in ("InvoiceID", "InvoiceNumber", "AmountDue", "AmountPaid", "DueDate"):
            body.pop(key, None)
        body.update(
            Type=kind,
            CreditNoteID=self._new_id("credit-note"),
            CreditNoteNumber=number or f"CN-{len(org.credit_notes) + 1:04d}",
            RemainingCredit=body["Total"],
        )
        return body, []

    # Payments --------------------------------------------------------------------------------

    @route("GET", f"{API}/Payments")
    def list_payments(self, request: Request) -> Response:
        return self._list_documents(request, "payments", "Payments")

    @route("PUT", f"{API}/Payments")
    def create_payments(self, request: Request) -> Response:
        return self._save_payments(request)

    @route("POST", f"{API}/Payments")
    def create_payment(self, request: Request) -> Response:
        return self._save_payments(request)

    def _save_payments(self, request: Request) -> Response:
        return self._save_documents(
            request, "Payments", "PaymentID", "HasValidationErrors", self._build_payment, "payments"
        )

    def _build_payment(self, org: Organisation, data: dict) -> tuple[dict, list[str]]:
        """A payment against an AUTHORISED invoice (ACCRECPAYMENT) or a refund paid against a
        credit note (ARCREDITPAYMENT), into a BANK account, for no more than is outstanding."""
        invoice_id = (data.get("Invoice") or {}).get("InvoiceID")
        note_id = (data.get("CreditNote") or {}).get("CreditNoteID")
        document = org.invoices.get(invoice_id or "") if invoice_id else org.credit_notes.get(note_id or "")
        if not (invoice_id or note_id):
            return {}, ["Payment must have an Invoice or CreditNote"]
        if document is None:
            return {}, ["The document with the supplied id was not found for this organisation."]
        errors = []
        code = (data.get("Account") or {}).get("Code") or data.get("Code")
        account = ACCOUNTS.get(code or "")
        if account is None:
            errors.append(f"Account code '{code}' is not a valid code for this document.")
        elif account["Type"] != "BANK":
            errors.append("Payments can only be made to BANK accounts or accounts enabled for payments.")
        if document["Status"] != "AUTHORISED":
            errors.append("Payment can only be made against Authorised documents.")
        try:
            amount = _money(data.get("Amount"))
        except (ArithmeticError, TypeError, ValueError):
            return {}, ["Payment amount must be a number."]
        outstanding_key = "AmountDue" if invoice_id else "RemainingCredit"
        if amount <= 0:
            errors.append("Payment amount must be greater than zero.")
        elif amount > _money(document[outstanding_key]):
            errors.append("The payment amount exceeds the amount outstanding on this document.")
        if errors:
            return {}, errors
        left = _money(document[outstanding_key]) - amount
        document[outstanding_key] = float(left)
        if invoice_id:
            document["AmountPaid"] = float(_money(document["AmountPaid"]) + amount)
        if left == 0:
            document["Status"] = "PAID"
        document["UpdatedDateUTC"] = self.clock()
        link = (
            {"Invoice": {"InvoiceID": invoice_id, "InvoiceNumber": document["InvoiceNumber"]}}
            if invoice_id
            else {"CreditNote": {"CreditNoteID": note_id, "CreditNoteNumber": document["CreditNoteNumber"]}}
        )
        paid_on = _parse_day(data.get("Date")) or self.clock()
        payment = {
            **link,
            "PaymentID": self._new_id("payment"),
            "Account": {"AccountID": str(uuid.uuid5(ID_NAMESPACE, f"account-{code}")), "Code": code},
            "Date": paid_on,
            "Amount": float(amount),
            "Reference": data.get("Reference", ""),
            "Status": "AUTHORISED",
            "PaymentType": "ACCRECPAYMENT" if invoice_id else "ARCREDITPAYMENT",
            "IsReconciled": False,
            "HasValidationErrors": False,
            "UpdatedDateUTC": self.clock(),
        }
        return payment, []


def _parse_day(value) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
