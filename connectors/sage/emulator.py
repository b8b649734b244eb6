"""Sage Business Cloud Accounting v3.1, as documented, for tests, the demo and benchmarks.

One emulator serves every Sage host under its origin (consent page, token endpoint, API under
/v3.1). Behaviours reproduced because the connector must cope with them:
- access tokens live 5 minutes and refresh tokens rotate with no grace;
- lists carry only id / displayed_as / $path unless `attributes=all` is asked for;
- a page beyond the last answers the last page again, so only `$next == null` ends a read
  (https://developer.sage.com/accounting/guides/efficiencies/pagination);
- `updated_or_created_since` is inclusive, `deleted_since` exclusive and the only way deletions show
  (https://developer.sage.com/accounting/guides/efficiencies/filtering);
- `idempotency_id` in the resource namespace replays the first response
  (https://developer.sage.com/accounting/guides/concepts/idempotency);
- errors are arrays of {$severity, $dataCode, $message, $source}; 429 comes without headers.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlencode

from connectors.emulation import Emulator, OAuthServer, Request, Response, route

SAMPLES = Path(__file__).with_name("samples")
API = "/v3.1"
ACCESS_LIFETIME = timedelta(minutes=5)
REFRESH_LIFETIME_SECONDS = 2678400
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
IDEMPOTENCY_ID = re.compile(r"^[0-9a-fA-F]{32}$")
BASE_ATTRIBUTES = ("id", "displayed_as", "$path")
ZERO = Decimal("0")

DATA_CODES = {
    400: "BadRequest",
    401: "AuthorizationFailure",
    403: "MultiUserAccessDenied",
    404: "RecordNotFound",
    405: "MethodNotAllowed",
    422: "RecordInvalid",
    429: "TooManyRequests",
    500: "UnexpectedError",
    503: "ServiceUnavailable",
}


def _sample(name: str):
    return json.loads((SAMPLES / name).read_text())


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace(" ", "+"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


class Invalid(Exception):
    """A 422 the handler raises: Sage names the offending field in `$source`."""

    def __init__(self, message: str, source: str) -> None:
        super().__init__(message)
        self.message = message
        self.source = source


@dataclass
class Books:
    """One business's data. Records are stored whole; deleted ones stay with `deleted_at` set."""

    business: dict
    stock_items: dict[str, dict] = field(default_factory=dict)
    contacts: dict[str, dict] = field(default_factory=dict)
    invoices: dict[str, dict] = field(default_factory=dict)
    credit_notes: dict[str, dict] = field(default_factory=dict)
    payments: dict[str, dict] = field(default_factory=dict)
    bank_accounts: list[dict] = field(default_factory=list)
    ledger_accounts: list[dict] = field(default_factory=list)
    tax_rates: list[dict] = field(default_factory=list)
    replays: dict[tuple[str, str], Response] = field(default_factory=dict)
    calls_in_minute: dict[datetime, int] = field(default_factory=dict)


class SageEmulator(Emulator):
    name = "sage"

    def __init__(self, *, clock=None, rate_limit: int = 200, businesses: int = 1) -> None:
        super().__init__(clock=clock)
        self.rate_limit = rate_limit
        self.requested_by_id = "0e5e0e5e0e5e4e5e8e5e0e5e0e5e0e5e"
        lead = _sample("businesses.json")["$items"][0]
        self.books: dict[str, Books] = {}
        for number in range(businesses):
            business = dict(lead) if number == 0 else self._extra_business(number)
            self.books[business["id"]] = Books(
                business=business,
                ledger_accounts=_sample("ledger_accounts.json"),
                bank_accounts=_sample("bank_accounts.json"),
                tax_rates=_sample("tax_rates.json"),
            )
        self.lead_business_id = lead["id"]
        self._serial = 0
        self.oauth = OAuthServer(
            self,
            provider_name="Sage Accounting",
            access_lifetime=ACCESS_LIFETIME,
            organisations=[{"id": b.business["id"], "name": b.business["name"]} for b in self.books.values()],
        )

    @staticmethod
    def _extra_business(number: int) -> dict:
        business_id = hashlib.md5(f"business-{number}".encode()).hexdigest()
        name = f"Emulated Branch {number} Ltd"
        return {"id": business_id, "displayed_as": name, "$path": f"/businesses/{business_id}", "name": name}

    @property
    def lead(self) -> Books:
        return self.books[self.lead_business_id]

    def _new_id(self, kind: str) -> str:
        with self.lock:
            self._serial += 1
            return hashlib.md5(f"{kind}-{self._serial}".encode()).hexdigest()

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    # Provider-shaped errors -------------------------------------------------------------------

    @staticmethod
    def errors(status: int, message: str, *, source: str = "", data_code: str = "") -> Response:
        body = [
            {
                "$severity": "error",
                "$dataCode": data_code or DATA_CODES.get(status, HTTPStatus(status).phrase.replace(" ", "")),
                "$message": message,
                "$source": source,
            }
        ]
        return Response.json(body, status)

    def error(self, request: Request, status: int, message: str) -> Response:
        return self.errors(status, message)

    def rate_limited(self, request: Request, retry_after: float) -> Response:
        # Sage documents the 429 but no Retry-After or remaining-calls headers.
        return self.errors(429, "Too many requests. Please retry later.")

    # OAuth -----------------------------------------------------------------------------------

    @route("GET", "/oauth2/auth/central")
    def consent_page(self, request: Request) -> Response:
        return self.oauth.authorize(request)

    @route("POST", "/oauth2/auth/central")
    def consent_decision(self, request: Request) -> Response:
        return self.oauth.authorize(request, extra_redirect_params={"country": "gb"})

    @route("POST", "/token")
    def token(self, request: Request) -> Response:
        return self.oauth.token(request, **self._token_extras())

    def _token_extras(self) -> dict:
        return {"refresh_token_expires_in": REFRESH_LIFETIME_SECONDS, "requested_by_id": self.requested_by_id}

    # Authentication, tenant selection and the rate limit ---------------------------------------

    def before_route(self, request: Request) -> Response | None:
        if not request.path.startswith(API + "/"):
            return None
        grant = self.oauth.grant_for(request)
        if grant is None:
            return self.errors(401, "The access token is missing or has expired.")
        business_id = request.header("x-business") or grant.organisations[0]["id"]
        if business_id not in {org["id"] for org in grant.organisations} or business_id not in self.books:
            return self.errors(403, "The current user is not allowed to access that business.")
        request.books = self.books[business_id]
        minute = self._now().replace(second=0)
        with self.lock:
            used = request.books.calls_in_minute.get(minute, 0)
            if used >= self.rate_limit:
                return self.rate_limited(request, 0)
            request.books.calls_in_minute = {minute: used + 1}
        return None

    def dispatch(self, request: Request) -> Response:
        try:
            with self.lock:
                return super().dispatch(request)
        except Invalid as exc:
            return self.errors(422, exc.message, source=exc.source)

    # Lists -------------------------------------------------------------------------------------

    def _page(self, request: Request, collection: str, records: list[dict]) -> Response:
        params = request.params
        size = self._int_param(params, "items_per_page", DEFAULT_PAGE_SIZE)
        size = max(1, min(size, MAX_PAGE_SIZE))
        last = max(1, math.ceil(len(records) / size))
        # Asking past the end answers the last page again (Sage pagination guide).
        page = max(1, min(self._int_param(params, "page", 1), last))
        chosen = records[(page - 1) * size : page * size]
        others = {k: v for k, v in params.items() if k not in {"page", "items_per_page"}}

        def link(number: int) -> str:
            return f"/{collection}?" + urlencode({**others, "page": number, "items_per_page": size})

        return Response.json(
            {
                "$total": len(records),
                "$page": page,
                "$next": link(page + 1) if page < last else None,
                "$back": link(page - 1) if page > 1 else None,
                "$itemsPerPage": size,
                "$items": [self._shape(record, params.get("attributes", "")) for record in chosen],
            }
        )

    @staticmethod
    def _shape(record: dict, attributes: str) -> dict:
        if attributes == "all":
            return record
        wanted = set(BASE_ATTRIBUTES) | {name.strip() for name in attributes.split(",") if name.strip()}
        return {key: value for key, value in record.items() if key in wanted}

    @staticmethod
    def _int_param(params: dict, name: str, default: int) -> int:
        try:
            return int(params.get(name) or default)
        except ValueError:
            raise Invalid(f"{name} must be a number", name) from None

    @staticmethod
    def _moment_param(params: dict, name: str) -> datetime | None:
        if not params.get(name):
            return None
        try:
            return _parse_moment(params[name])
        except ValueError:
            raise Invalid(f"{name} is not a valid date", name) from None

    def _changed(self, request: Request, records: list[dict]) -> list[dict]:
        """Apply the two change filters every collection shares."""
        since = self._moment_param(request.params, "updated_or_created_since")
        deleted_since = self._moment_param(request.params, "deleted_since")
        if deleted_since is not None:
            return [
                r for r in records if r.get("deleted_at") and _parse_moment(r["deleted_at"]) > deleted_since
            ]
        live = [r for r in records if not r.get("deleted_at")]
        if since is not None:
            live = [r for r in live if _parse_moment(r["updated_at"]) >= since]
        return live

    def _one(self, records: dict[str, dict], key: str) -> Response:
        record = records.get(key)
        if record is None or record.get("deleted_at"):
            return self.errors(404, "The resource you're looking for cannot be found")
        return Response.json(record)

    def _replay_or_create(self, request: Request, namespace: str, create) -> Response:
        body = request.json() if request.body else None
        if not isinstance(body, dict) or not isinstance(body.get(namespace), dict):
            raise Invalid(f"The request body must hold a {namespace} object", namespace)
        fields = body[namespace]
        idempotency_id = fields.get("idempotency_id")
        if idempotency_id is not None and not IDEMPOTENCY_ID.match(str(idempotency_id)):
            raise Invalid("idempotency_id must be a 32 character hyphenless GUID", "idempotency_id")
        key = (namespace, str(idempotency_id))
        if idempotency_id and key in request.books.replays:
            return request.books.replays[key]
        response = Response.json(create(request.books, fields), 201)
        if idempotency_id:
            request.books.replays[key] = response
        return response

    # Businesses --------------------------------------------------------------------------------

    @route("GET", API + "/businesses")
    def list_businesses(self, request: Request) -> Response:
        grant = self.oauth.grant_for(request)
        reachable = {org["id"] for org in grant.organisations}
        items = [b.business for b in self.books.values() if b.business["id"] in reachable]
        return Response.json(
            {
                "$total": len(items),
                "$page": 1,
                "$next": None,
                "$back": None,
                "$items_per_page": 2147483647,
                "$items": items,
            }
        )

    # Stock items -------------------------------------------------------------------------------

    @route("GET", API + "/stock_items")
    def list_stock_items(self, request: Request) -> Response:
        records = self._changed(request, list(request.books.stock_items.values()))
        search = request.params.get("search", "").lower()
        if search:
            records = [
                r
                for r in records
                if search in (r.get("item_code") or "").lower()
                or search in (r.get("description") or "").lower()
            ]
        if request.params.get("active") in {"true", "false"}:
            wanted = request.params["active"] == "true"
            records = [r for r in records if r.get("active") is wanted]
        return self._page(request, "stock_items", records)

    @route("GET", API + "/stock_items/(?P<key>[^/]+)")
    def get_stock_item(self, request: Request) -> Response:
        return self._one(request.books.stock_items, request.args["key"])

    @route("POST", API + "/stock_items")
    def create_stock_item(self, request: Request) -> Response:
        return self._replay_or_create(request, "stock_item", self._create_stock_item)

    def _create_stock_item(self, books: Books, fields: dict) -> dict:
        code = str(fields.get("item_code") or "").strip()
        description = str(fields.get("description") or "").strip()
        if not code:
            raise Invalid("Item Code can't be blank", "item_code")
        if not description:
            raise Invalid("Description can't be blank", "description")
        if any(r["item_code"] == code and not r.get("deleted_at") for r in books.stock_items.values()):
            raise Invalid("Item Code has already been taken", "item_code")
        prices = fields.get("sales_prices") or []
        if not isinstance(prices, list) or not all(isinstance(p, dict) for p in prices):
            raise Invalid("Sales prices must be a list", "sales_prices")
        price = self._decimal(prices[0].get("price", 0), "sales_prices.0.price") if prices else ZERO
        return self._store_stock_item(
            books, code=code, description=description, price=price, account=fields.get("sales_ledger_account")
        )

    def _store_stock_item(
        self,
        books: Books,
        *,
        code: str,
        description: str,
        price: Decimal,
        quantity: Decimal = ZERO,
        active: bool = True,
        account: dict | None = None,
    ) -> dict:
        item_id = self._new_id("stock_item")
        now = _stamp(self._now())
        sales_account = books.ledger_accounts[0]
        record = {
            "id": item_id,
            "displayed_as": f"{code} - {description}",
            "$path": f"/stock_items/{item_id}",
            "item_code": code,
            "description": description,
            "sales_prices": [
                {
                    "id": self._new_id("price"),
                    "displayed_as": "Selling Price",
                    "price_name": "Selling Price",
                    "price": str(price),
                    "price_includes_tax": False,
                }
            ],
            "sales_ledger_account": account
            or {"id": sales_account["id"], "displayed_as": sales_account["displayed_as"]},
            "sales_tax_rate": {"id": "GB_STANDARD", "displayed_as": "Standard 20.00%"},
            "quantity_in_stock": str(quantity),
            "active": active,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        books.stock_items[item_id] = record
        return record

    # Contacts ----------------------------------------------------------------------------------

    @route("GET", API + "/contacts")
    def list_contacts(self, request: Request) -> Response:
        records = self._changed(request, list(request.books.contacts.values()))
        params = request.params
        if params.get("email"):
            wanted = params["email"].lower()
            records = [r for r in records if wanted in self._contact_emails(r)]
        if params.get("search"):
            needle = params["search"].lower()
            records = [
                r
                for r in records
                if needle in r["name"].lower() or needle in (r.get("reference") or "").lower()
            ]
        if params.get("contact_type_id"):
            records = [
                r
                for r in records
                if params["contact_type_id"] in {t["id"] for t in r.get("contact_types", [])}
            ]
        return self._page(request, "contacts", records)

    @staticmethod
    def _contact_emails(record: dict) -> set[str]:
        person = record.get("main_contact_person") or {}
        return {e.lower() for e in (record.get("email"), person.get("email")) if e}

    @route("GET", API + "/contacts/(?P<key>[^/]+)")
    def get_contact(self, request: Request) -> Response:
        return self._one(request.books.contacts, request.args["key"])

    @route("POST", API + "/contacts")
    def create_contact(self, request: Request) -> Response:
        return self._replay_or_create(request, "contact", self._create_contact)

    def _create_contact(self, books: Books, fields: dict) -> dict:
        name = str(fields.get("name") or "").strip()
        if not name:
            raise Invalid("Name can't be blank", "name")
        types = fields.get("contact_type_ids") or []
        if not types:
            raise Invalid("Contact type can't be blank", "contact_type_ids")
        reference = str(fields.get("reference") or "").strip()
        if reference and any(r.get("reference") == reference for r in books.contacts.values()):
            raise Invalid("Reference has already been taken", "reference")
        person = fields.get("main_contact_person") or {}
        email = fields.get("email") or person.get("email") or ""
        return self._store_contact(books, name=name, email=email, reference=reference, types=types)

    def _store_contact(
        self, books: Books, *, name: str, email: str, reference: str, types: list[str] | None = None
    ) -> dict:
        contact_id = self._new_id("contact")
        reference = reference or f"CUST{len(books.contacts) + 1:05d}"
        now = _stamp(self._now())
        record = {
            "id": contact_id,
            "displayed_as": f"{name} ({reference})",
            "$path": f"/contacts/{contact_id}",
            "name": name,
            "reference": reference,
            "email": email or None,
            "contact_types": [{"id": t, "displayed_as": t.title()} for t in (types or ["CUSTOMER"])],
            "main_contact_person": {"name": name, "email": email or None} if email else None,
            "system": False,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        books.contacts[contact_id] = record
        return record

    # Sales invoices -----------------------------------------------------------------------------

    @route("GET", API + "/sales_invoices")
    def list_sales_invoices(self, request: Request) -> Response:
        return self._list_artefacts(request, request.books.invoices, "sales_invoices")

    def _list_artefacts(self, request: Request, artefacts: dict, collection: str) -> Response:
        """Sales invoices and credit notes list alike: changed-since, then `search`, which
        matches the reference or the contact's name."""
        records = self._changed(request, list(artefacts.values()))
        if request.params.get("search"):
            needle = request.params["search"].lower()
            records = [
                r
                for r in records
                if needle in (r.get("reference") or "").lower() or needle in r["contact_name"].lower()
            ]
        return self._page(request, collection, records)

    @route("GET", API + "/sales_invoices/(?P<key>[^/]+)")
    def get_sales_invoice(self, request: Request) -> Response:
        return self._one(request.books.invoices, request.args["key"])

    @route("POST", API + "/sales_invoices")
    def create_sales_invoice(self, request: Request) -> Response:
        return self._replay_or_create(request, "sales_invoice", self._create_sales_invoice)

    def _create_sales_invoice(self, books: Books, fields: dict) -> dict:
        contact_id = (
            (fields.get("contact") or {}).get("id") if isinstance(fields.get("contact"), dict) else None
        )
        contact = books.contacts.get(contact_id or "")
        if contact is None or contact.get("deleted_at"):
            raise Invalid("Contact is invalid", "contact")
        try:
            date = datetime.strptime(str(fields.get("date") or ""), "%Y-%m-%d").date()
        except ValueError:
            raise Invalid("Date is invalid", "date") from None
        raw_lines = fields.get("invoice_lines") or []
        if not isinstance(raw_lines, list) or not raw_lines:
            raise Invalid("Invoice lines can't be blank", "invoice_lines")
        lines = [self._invoice_line(books, line, number) for number, line in enumerate(raw_lines)]
        net = sum((line["net_amount_value"] for line in lines), ZERO)
        tax = sum((line["tax_amount_value"] for line in lines), ZERO)
        for line in lines:
            line.pop("net_amount_value")
            line.pop("tax_amount_value")
        invoice_id = self._new_id("sales_invoice")
        number = f"SI-{len(books.invoices) + 1}"
        now = _stamp(self._now())
        record = {
            "id": invoice_id,
            "displayed_as": number,
            "$path": f"/sales_invoices/{invoice_id}",
            "invoice_number": number,
            "contact": {"id": contact["id"], "displayed_as": contact["displayed_as"]},
            "contact_name": contact["name"],
            "contact_reference": contact["reference"],
            "date": date.isoformat(),
            "due_date": fields.get("due_date") or (date + timedelta(days=30)).isoformat(),
            "reference": fields.get("reference") or "",
            "status": {"id": "UNPAID", "displayed_as": "Unpaid"},
            "currency": {"id": "GBP", "displayed_as": "Pound Sterling (GBP)"},
            "net_amount": _money(net),
            "tax_amount": _money(tax),
            "total_amount": _money(net + tax),
            "outstanding_amount": _money(net + tax),
            "invoice_lines": lines,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
            "editable": True,
        }
        books.invoices[invoice_id] = record
        return record

    def _invoice_line(self, books: Books, line, number: int) -> dict:
        where = f"invoice_lines.{number}"
        if not isinstance(line, dict):
            raise Invalid("Invoice line is invalid", where)
        if not str(line.get("description") or "").strip():
            raise Invalid("Description can't be blank", f"{where}.description")
        quantity = self._decimal(line.get("quantity"), f"{where}.quantity")
        unit_price = self._decimal(line.get("unit_price"), f"{where}.unit_price")
        account_id = (line.get("ledger_account") or {}).get("id")
        account = next((a for a in books.ledger_accounts if a["id"] == account_id), None)
        if account is None:
            raise Invalid("Ledger Account is invalid", f"{where}.ledger_account")
        rate_id = (line.get("tax_rate") or {}).get("id")
        rate = next((r for r in books.tax_rates if r["id"] == rate_id), None) if rate_id else None
        if rate_id and rate is None:
            raise Invalid("Tax Rate is invalid", f"{where}.tax_rate")
        percentage = Decimal(rate["percentage"]) if rate else ZERO
        # "tax_amount: required in v3.1, unless the tax rate is of a zero, exempt or no_tax type".
        if line.get("tax_amount") is None and percentage:
            raise Invalid("Tax Amount is required for this tax rate", f"{where}.tax_amount")
        tax = self._decimal(line.get("tax_amount") or 0, f"{where}.tax_amount")
        discount = self._decimal(line.get("discount_percentage") or 0, f"{where}.discount_percentage")
        gross = quantity * unit_price * (1 - discount / 100)
        net = gross - tax if line.get("unit_price_includes_tax") else gross
        return {
            **{key: value for key, value in line.items() if key != "tax_amount"},
            "ledger_account": {"id": account["id"], "displayed_as": account["displayed_as"]},
            "tax_rate": {"id": rate["id"], "displayed_as": rate["displayed_as"]} if rate else None,
            "net_amount": _money(net),
            "tax_amount": _money(tax),
            "total_amount": _money(net + tax),
            "net_amount_value": net,
            "tax_amount_value": tax,
        }

    @staticmethod
    def _decimal(value, source: str) -> Decimal:
        try:
            return Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise Invalid(
                f"{source.rsplit('.', 1)[-1].replace('_', ' ').capitalize()} is not a number", source
            ) from None

    # Sales credit notes ------------------------------------------------------------------------

    @route("GET", API + "/sales_credit_notes")
    def list_sales_credit_notes(self, request: Request) -> Response:
        return self._list_artefacts(request, request.books.credit_notes, "sales_credit_notes")

    @route("GET", API + "/sales_credit_notes/(?P<key>[^/]+)")
    def get_sales_credit_note(self, request: Request) -> Response:
        return self._one(request.books.credit_notes, request.args["key"])

    @route("POST", API + "/sales_credit_notes")
    def create_sales_credit_note(self, request: Request) -> Response:
        return self._replay_or_create(request, "sales_credit_note", self._create_sales_credit_note)

    def _create_sales_credit_note(self, books: Books, fields: dict) -> dict:
        """Checked and totalled as an invoice is; numbered SCN-n, with `outstanding_amount` the
        credit left to refund or allocate."""
        lines = fields.get("credit_note_lines")
        if not isinstance(lines, list) or not lines:
            raise Invalid("Credit note lines can't be blank", "credit_note_lines")
        record = self._create_sales_invoice(
            Books(
                business=books.business,
                contacts=books.contacts,
                ledger_accounts=books.ledger_accounts,
                tax_rates=books.tax_rates,
            ),
            {**fields, "invoice_lines": lines},
        )
        note_id = self._new_id("sales_credit_note")
        number = f"SCN-{len(books.credit_notes) + 1}"
        record.update(
            id=note_id,
            displayed_as=number,
            credit_note_number=number,
            credit_note_lines=record.pop("invoice_lines"),
            status={"id": "UNPAID", "displayed_as": "Unpaid"},
        )
        record["$path"] = f"/sales_credit_notes/{note_id}"
        for key in ("invoice_number", "due_date"):
            record.pop(key)
        books.credit_notes[note_id] = record
        return record

    # Contact payments ---------------------------------------------------------------------------

    @route("GET", API + "/contact_payments")
    def list_contact_payments(self, request: Request) -> Response:
        records = self._changed(request, list(request.books.payments.values()))
        params = request.params
        if params.get("contact_id"):
            records = [r for r in records if r["contact"]["id"] == params["contact_id"]]
        if params.get("transaction_type_id"):
            records = [r for r in records if r["transaction_type"]["id"] == params["transaction_type_id"]]
        if params.get("from_date"):
            records = [r for r in records if r["date"] >= params["from_date"]]
        if params.get("to_date"):
            records = [r for r in records if r["date"] <= params["to_date"]]
        return self._page(request, "contact_payments", records)

    @route("GET", API + "/contact_payments/(?P<key>[^/]+)")
    def get_contact_payment(self, request: Request) -> Response:
        return self._one(request.books.payments, request.args["key"])

    @route("POST", API + "/contact_payments")
    def create_contact_payment(self, request: Request) -> Response:
        return self._replay_or_create(request, "contact_payment", self._create_contact_payment)

    def _create_contact_payment(self, books: Books, fields: dict) -> dict:
        """A customer receipt allocated to sales invoices, or a customer refund allocated to sales
        credit notes (https://developer.sage.com/accounting/guides/concepts/payments); every
        allocation must fit what is outstanding and together make up the total."""
        kind = fields.get("transaction_type_id")
        documents = {"CUSTOMER_RECEIPT": books.invoices, "CUSTOMER_REFUND": books.credit_notes}.get(kind)
        if documents is None:
            raise Invalid("Transaction Type is invalid", "transaction_type_id")
        contact = books.contacts.get(str(fields.get("contact_id") or ""))
        if contact is None or contact.get("deleted_at"):
            raise Invalid("Contact is invalid", "contact_id")
        bank = next((b for b in books.bank_accounts if b["id"] == fields.get("bank_account_id")), None)
        if bank is None:
            raise Invalid("Bank Account is invalid", "bank_account_id")
        try:
            date = datetime.strptime(str(fields.get("date") or ""), "%Y-%m-%d").date()
        except ValueError:
            raise Invalid("Date is invalid", "date") from None
        total = self._decimal(fields.get("total_amount"), "total_amount")
        if total <= 0:
            raise Invalid("Total Amount must be greater than 0", "total_amount")
        allocations = []
        for number, allocation in enumerate(fields.get("allocated_artefacts") or []):
            where = f"allocated_artefacts.{number}"
            document = documents.get(str((allocation or {}).get("artefact_id") or ""))
            if document is None or document.get("deleted_at") or document["contact"]["id"] != contact["id"]:
                raise Invalid("Artefact is invalid", f"{where}.artefact_id")
            amount = self._decimal(allocation.get("amount"), f"{where}.amount")
            if amount <= 0 or amount > Decimal(document["outstanding_amount"]):
                raise Invalid("Amount must not exceed the outstanding amount", f"{where}.amount")
            allocations.append((document, amount))
        if sum((amount for _, amount in allocations), ZERO) != total:
            raise Invalid("Total Amount must equal the allocated amounts", "total_amount")
        now = _stamp(self._now())
        for document, amount in allocations:
            left = Decimal(document["outstanding_amount"]) - amount
            document["outstanding_amount"] = _money(left)
            document["status"] = (
                {"id": "PAID", "displayed_as": "Paid"}
                if left == 0
                else {"id": "PART_PAID", "displayed_as": "Part Paid"}
            )
            document["updated_at"] = now
        payment_id = self._new_id("contact_payment")
        record = {
            "id": payment_id,
            "displayed_as": fields.get("reference") or payment_id,
            "$path": f"/contact_payments/{payment_id}",
            "transaction_type": {"id": kind, "displayed_as": kind.replace("_", " ").title()},
            "contact": {"id": contact["id"], "displayed_as": contact["displayed_as"]},
            "bank_account": {"id": bank["id"], "displayed_as": bank["displayed_as"]},
            "date": date.isoformat(),
            "total_amount": _money(total),
            "reference": fields.get("reference") or "",
            "allocated_artefacts": [
                {
                    "id": self._new_id("allocation"),
                    "artefact": {"id": document["id"], "displayed_as": document["displayed_as"]},
                    "amount": _money(amount),
                }
                for document, amount in allocations
            ],
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        books.payments[payment_id] = record
        return record

    # Reference data ----------------------------------------------------------------------------

    @route("GET", API + "/bank_accounts")
    def list_bank_accounts(self, request: Request) -> Response:
        return self._page(request, "bank_accounts", request.books.bank_accounts)

    @route("GET", API + "/ledger_accounts")
    def list_ledger_accounts(self, request: Request) -> Response:
        return self._page(request, "ledger_accounts", request.books.ledger_accounts)

    @route("GET", API + "/tax_rates")
    def list_tax_rates(self, request: Request) -> Response:
        return self._page(request, "tax_rates", request.books.tax_rates)

    # The seeding surface (lead business) --------------------------------------------------------

    def issue_credentials(self) -> dict:
        token = self.oauth.issue_direct()
        token.update(self._token_extras())
        return {
            "credentials": token,
            "remote_org_id": self.lead_business_id,
            "remote_org_name": self.lead.business["name"],
            "token_expires_at": self.clock() + ACCESS_LIFETIME,
        }

    def add_product(self, *, code: str, name: str, price: Decimal, **fields) -> str:
        with self.lock:
            record = self._store_stock_item(
                self.lead,
                code=code,
                description=name,
                price=Decimal(price),
                quantity=Decimal(fields.get("quantity", 0)),
                active=fields.get("active", True),
            )
        return record["id"]

    def change_product(self, remote_id: str, changes: dict, *, touch: bool) -> None:
        with self.lock:
            record = self.lead.stock_items[remote_id]
            if "name" in changes:
                record["description"] = changes["name"]
                record["displayed_as"] = f"{record['item_code']} - {changes['name']}"
            if "price" in changes:
                record["sales_prices"][0]["price"] = str(changes["price"])
            if "active" in changes:
                record["active"] = bool(changes["active"])
            if "code" in changes:
                record["item_code"] = changes["code"]
            if touch:
                record["updated_at"] = _stamp(self._now())

    def delete_product(self, remote_id: str) -> None:
        with self.lock:
            record = self.lead.stock_items[remote_id]
            now = _stamp(self._now())
            record.update(deleted_at=now, updated_at=now, active=False)

    def set_stock(self, remote_id: str, location: str, quantity: Decimal) -> None:
        # Sage keeps one stock figure per item; a stock movement also moves updated_at.
        with self.lock:
            record = self.lead.stock_items[remote_id]
            record["quantity_in_stock"] = str(Decimal(quantity))
            record["updated_at"] = _stamp(self._now())

    def add_customer(self, *, name: str, email: str = "", account_number: str = "") -> str:
        with self.lock:
            return self._store_contact(self.lead, name=name, email=email, reference=account_number)["id"]

    def delete_customer(self, remote_id: str) -> None:
        with self.lock:
            now = _stamp(self._now())
            self.lead.contacts[remote_id].update(deleted_at=now, updated_at=now)

    def seed(self, *, products: int = 0, customers: int = 0, locations: int = 2) -> None:
        """Sage has one stock figure per item, so `locations` does not apply."""
        for n in range(1, products + 1):
            self.add_product(
                code=f"SKU-{n:05d}",
                name=f"Product {n:05d}",
                price=Decimal(5 + n % 50) + Decimal("0.99"),
                quantity=Decimal(n % 40),
            )
        for n in range(1, customers + 1):
            self.add_customer(
                name=f"Customer {n:05d}", email=f"customer{n:05d}@example.com", account_number=f"CUST{n:05d}"
            )

    def products(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "remote_id": r["id"],
                    "code": r["item_code"],
                    "name": r["description"],
                    "price": Decimal(r["sales_prices"][0]["price"]) if r["sales_prices"] else None,
                    "active": r["active"],
                }
                for r in self.lead.stock_items.values()
                if not r.get("deleted_at")
            ]

    def credit_notes(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "remote_id": r["id"],
                    "reference": r["reference"],
                    "contact_id": r["contact"]["id"],
                    "total": Decimal(r["total_amount"]),
                }
                for r in self.lead.credit_notes.values()
            ]

    def payments(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "remote_id": r["id"],
                    "reference": r["reference"],
                    "document_id": r["allocated_artefacts"][0]["artefact"]["id"]
                    if r["allocated_artefacts"]
                    else "",
                    "account_code": next(
                        str(b["nominal_code"])
                        for b in self.lead.bank_accounts
                        if b["id"] == r["bank_account"]["id"]
                    ),
                    "amount": Decimal(r["total_amount"]),
                    "type": r["transaction_type"]["id"],
                }
                for r in self.lead.payments.values()
            ]

    def invoices(self) -> list[dict]:
        with self.lock:
            return [
                {
                    "remote_id": r["id"],
                    "reference": r["reference"],
                    "contact_id": r["contact"]["id"],
                    "total": Decimal(r["total_amount"]),
                }
                for r in self.lead.invoices.values()
            ]
