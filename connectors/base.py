"""The provider-neutral connector interface.

Two objects per provider (the Sentry provider/installation split): a frozen `ProviderSpec`
declaration that the admin, dashboard and budget read without any HTTP, and a `Connector` bound to
one connection's `ProviderSession`, which speaks the provider's API in the neutral records of
`connectors.records`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum
from functools import cached_property
from importlib import import_module, resources
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from django.utils.module_loading import import_string

from connectors.errors import CapabilityMissing, ConnectorError
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

if TYPE_CHECKING:
    from connectors.http import ProviderSession

T = TypeVar("T")


class Category(StrEnum):
    ACCOUNTING = "accounting"
    INVENTORY = "inventory"


class AuthKind(StrEnum):
    OAUTH2 = "oauth2"
    API_KEY_HMAC = "api_key_hmac"


class Capability(StrEnum):
    PULL_PRODUCTS = "pull_products"
    PULL_STOCK = "pull_stock"
    PULL_CUSTOMERS = "pull_customers"
    FIND_PRODUCTS_BY_CODE = "find_products_by_code"
    FIND_PRODUCTS_BY_IDS = "find_products_by_ids"
    CREATE_PRODUCT = "create_product"
    FIND_CUSTOMER = "find_customer"
    FIND_CUSTOMERS = "find_customers"
    CREATE_CUSTOMER = "create_customer"
    CREATE_CUSTOMERS = "create_customers"
    POST_INVOICES = "post_invoices"
    FIND_INVOICE_BY_REFERENCE = "find_invoice_by_reference"
    FIND_INVOICES_BY_REFERENCE = "find_invoices_by_reference"
    LIST_ACCOUNTS = "list_accounts"
    LIST_TAX_RATES = "list_tax_rates"
    POST_CREDIT_NOTES = "post_credit_notes"
    FIND_CREDIT_NOTE_BY_REFERENCE = "find_credit_note_by_reference"
    POST_PAYMENTS = "post_payments"
    FIND_PAYMENT = "find_payment"
    FIND_PAYMENTS = "find_payments"
    WEBHOOKS = "webhooks"


# Which Connector method implements each capability: the registry test keeps the two honest.
CAPABILITY_METHODS: dict[Capability, str] = {
    Capability.PULL_PRODUCTS: "pull_products",
    Capability.PULL_STOCK: "pull_stock",
    Capability.PULL_CUSTOMERS: "pull_customers",
    Capability.FIND_PRODUCTS_BY_CODE: "find_products_by_code",
    Capability.FIND_PRODUCTS_BY_IDS: "find_products_by_ids",
    Capability.CREATE_PRODUCT: "create_product",
    Capability.FIND_CUSTOMER: "find_customer",
    Capability.FIND_CUSTOMERS: "find_customers",
    Capability.CREATE_CUSTOMER: "create_customer",
    Capability.CREATE_CUSTOMERS: "create_customers",
    Capability.POST_INVOICES: "post_invoices",
    Capability.FIND_INVOICE_BY_REFERENCE: "find_invoice_by_reference",
    Capability.FIND_INVOICES_BY_REFERENCE: "find_invoices_by_reference",
    Capability.LIST_ACCOUNTS: "list_accounts",
    Capability.LIST_TAX_RATES: "list_tax_rates",
    Capability.POST_CREDIT_NOTES: "post_credit_notes",
    Capability.FIND_CREDIT_NOTE_BY_REFERENCE: "find_credit_note_by_reference",
    Capability.POST_PAYMENTS: "post_payments",
    Capability.FIND_PAYMENT: "find_payment",
    Capability.FIND_PAYMENTS: "find_payments",
}


class Window(StrEnum):
    """Budget windows, aligned to UTC boundaries (the 5-minute one is Lightspeed's)."""

    MINUTE = "minute"
    FIVE_MINUTES = "five_minutes"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


class Priority(IntEnum):
    """Who may spend the last slice of a budget window: invoices first, then polls, then sweeps."""

    SWEEP = 0
    POLL = 1
    INVOICE = 2


@dataclass(frozen=True)
class Limit:
    calls: int
    window: Window


@dataclass(frozen=True)
class OAuthEndpoints:
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    revoke_url: str = ""
    # Path, relative to the API base, that lists the organisations a grant reaches (Xero /connections).
    organisations_path: str = ""
    # How the token endpoint takes our app credentials: "form" fields, or "basic" (an HTTP Basic header).
    client_auth: str = "form"


@dataclass(frozen=True)
class ProviderSpec:
    key: str
    name: str
    category: Category
    auth: AuthKind
    limits: tuple[Limit, ...]
    capabilities: frozenset[Capability]
    page_size: int
    invoice_batch_size: int
    production_url: str
    brand_colour: str
    connector: str
    emulator: str
    oauth: OAuthEndpoints | None = None
    # Dotted path of the package's webhooks module (verify + parse), "" when it sends none.
    webhooks: str = ""
    description: str = ""
    # How many identical requests the provider answers at once per connection (Xero: 5).
    max_concurrent: int = 0
    access_token_lifetime: timedelta | None = None
    package: str = field(default="", compare=False)

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @cached_property
    def connector_class(self) -> type[Connector]:
        return import_string(self.connector)

    @cached_property
    def webhooks_module(self):
        return import_module(self.webhooks) if self.webhooks else None

    @cached_property
    def logo_svg(self) -> str:
        return resources.files(self.package).joinpath("logo.svg").read_text()


def rebase_url(url: str, base_url: str) -> str:
    """Point a production URL at a sandbox or emulator: keep the path, swap scheme and host.

    An emulator serves every host of its provider (API, identity, login) under one origin, e.g.
    `rebase_url("https://identity.xero.com/connect/token", "http://127.0.0.1:8001")`
    -> `"http://127.0.0.1:8001/connect/token"`.
    """
    if not base_url:
        return url
    production = urlsplit(url)
    base = urlsplit(base_url)
    path = base.path.rstrip("/") + production.path
    return urlunsplit((base.scheme, base.netloc, path, production.query, ""))


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of records; `next_page` is opaque (None on the last page), and `high_water_mark`
    is what the resource's cursor may advance to once this page is stored."""

    records: list[T]
    next_page: str | None = None
    high_water_mark: str | None = None
    # Whatever else the connector keeps beside the resource's cursor (Lightspeed: the largest page
    # each feed has served, the outlet names), saved with the cursor into `Connection.cursors` (so
    # JSON) and read back there.
    remember: dict[str, object] = field(default_factory=dict)


class Connector(abc.ABC):
    """Speaks one provider's API for one connection. Every method takes and returns neutral
    records; each unsupported capability raises `CapabilityMissing`."""

    spec: ClassVar[ProviderSpec]

    def __init__(self, session: ProviderSession) -> None:
        self.session = session

    # Hooks the HTTP session calls around every request; defaults suit a plain JSON API.

    def authenticate(self, request: requests.PreparedRequest) -> None:
        """Add the provider's own headers (tenant id, signature) to a request about to be sent.
        The session has already attached the OAuth2 bearer token where the provider uses one."""

    def error_messages(self, response: requests.Response) -> list[str]:
        """The provider's own words from an error response, one per problem."""
        return [response.text[:500]] if response.text else [response.reason or ""]

    def retry_after(self, response: requests.Response) -> datetime | None:
        """When a throttled response says calls may resume (None: not said)."""
        value = response.headers.get("Retry-After")
        if value and value.strip().isdigit():
            return datetime.now(UTC) + timedelta(seconds=int(value))
        return None

    def remaining_calls(self, response: requests.Response) -> dict[Window, int]:
        """What the provider's headers say is left in each of its windows."""
        return {}

    def classify(self, response: requests.Response) -> type[ConnectorError] | None:
        """A provider-specific reading of a failed response, or None for the default table."""
        return None

    def _missing(self, capability: Capability):
        raise CapabilityMissing(f"{self.spec.name} cannot {capability.value.replace('_', ' ')}.")

    def list_organisations(self) -> list[RemoteOrganisation]:
        """The organisations the current grant reaches (one for most providers)."""
        return []

    def pull_products(self, *, since: str | None, page: str | None) -> Page[RemoteProduct]:
        """Products changed after cursor `since` (None: all), deletions and archives included,
        one page at a time. Example: `pull_products(since=None, page=None)` starts a full read."""
        self._missing(Capability.PULL_PRODUCTS)

    def pull_stock(self, *, since: str | None, page: str | None) -> Page[RemoteStock]:
        """Stock positions changed after cursor `since`, one page at a time."""
        self._missing(Capability.PULL_STOCK)

    def pull_customers(self, *, since: str | None, page: str | None) -> Page[RemoteCustomer]:
        """Customers / contacts changed after cursor `since`, archived ones included."""
        self._missing(Capability.PULL_CUSTOMERS)

    def find_products_by_ids(self, ids: Sequence[str]) -> list[RemoteProduct]:
        """The products with these remote ids that still exist, in as few calls as the API allows;
        an id missing from the answer means the product is gone."""
        self._missing(Capability.FIND_PRODUCTS_BY_IDS)

    def find_products_by_code(self, codes: Sequence[str]) -> list[RemoteProduct]:
        """The products whose code (SKU) is one of `codes`."""
        self._missing(Capability.FIND_PRODUCTS_BY_CODE)

    def stock_for_products(self, ids: Sequence[str]) -> list[RemoteStock]:
        """Stock positions of these products only (for a one-product sync)."""
        self._missing(Capability.PULL_STOCK)

    def create_product(self, product: NewProduct, *, idempotency_key: str) -> RemoteProduct:
        self._missing(Capability.CREATE_PRODUCT)

    def find_customer(
        self, *, email: str | None = None, account_number: str | None = None
    ) -> list[RemoteCustomer]:
        """Every remote customer matching the email (case-insensitive) or account number; more than
        one means the match is ambiguous."""
        self._missing(Capability.FIND_CUSTOMER)

    def find_customers(
        self, *, emails: Sequence[str] = (), account_numbers: Sequence[str] = ()
    ) -> list[RemoteCustomer]:
        """Every live remote customer whose email is one of `emails` (case-insensitive) or whose
        account number is one of `account_numbers`, in as few calls as the API allows."""
        self._missing(Capability.FIND_CUSTOMERS)

    def create_customer(self, customer: NewCustomer, *, idempotency_key: str) -> RemoteCustomer:
        self._missing(Capability.CREATE_CUSTOMER)

    def create_customers(
        self, customers: Sequence[NewCustomer], *, idempotency_keys: Sequence[str]
    ) -> list[CustomerResult]:
        """Create many customers in as few calls as the API allows; one result per customer, in
        order. `idempotency_keys` are the customers' own, stable per customer."""
        self._missing(Capability.CREATE_CUSTOMERS)

    def post_invoices(self, invoices: Sequence[InvoiceDraft]) -> list[InvoiceResult]:
        """Post up to `spec.invoice_batch_size` drafts; one result per draft, in order."""
        self._missing(Capability.POST_INVOICES)

    def find_invoice_by_reference(self, reference: str) -> RemoteInvoice | None:
        """The invoice we posted earlier for this sale reference, if the provider has it."""
        self._missing(Capability.FIND_INVOICE_BY_REFERENCE)

    def find_invoices_by_reference(self, references: Sequence[str]) -> dict[str, RemoteInvoice]:
        """The invoices we posted earlier under any of these references, by reference, in as few
        calls as the API allows; a reference missing from the answer is not on the provider."""
        self._missing(Capability.FIND_INVOICES_BY_REFERENCE)

    def post_credit_notes(self, credit_notes: Sequence[InvoiceDraft]) -> list[InvoiceResult]:
        """Post refunds as sales credit notes, up to `spec.invoice_batch_size` per call; one result
        per draft, in order. A provider without credit notes leaves refunds out of its outbox."""
        self._missing(Capability.POST_CREDIT_NOTES)

    def find_credit_note_by_reference(self, reference: str) -> RemoteInvoice | None:
        """The credit note we posted earlier under this reference, if the provider has it."""
        self._missing(Capability.FIND_CREDIT_NOTE_BY_REFERENCE)

    def post_payments(self, payments: Sequence[PaymentDraft]) -> list[PaymentResult]:
        """Record payments against posted invoices (refunds against credit notes), up to
        `spec.invoice_batch_size` per call; one result per draft, in order."""
        self._missing(Capability.POST_PAYMENTS)

    def find_payment(self, payment: PaymentDraft) -> RemotePayment | None:
        """The payment recorded earlier for this draft (same reference and document), if any."""
        self._missing(Capability.FIND_PAYMENT)

    def find_payments(self, payments: Sequence[PaymentDraft]) -> dict[str, RemotePayment]:
        """The payments recorded earlier for these drafts (each with its draft's reference and
        document), by reference, in as few calls as the API allows; a reference missing from the
        answer is not on the provider."""
        self._missing(Capability.FIND_PAYMENTS)

    def list_accounts(self) -> list[RemoteAccount]:
        """The live accounts of the chart of accounts a sale may be posted to or paid into, each
        with the code a mapping stores (Xero's account Code, Sage's nominal code)."""
        self._missing(Capability.LIST_ACCOUNTS)

    def list_tax_rates(self) -> list[RemoteTaxRate]:
        """The live tax rates an invoice line may name, each with the code a mapping stores."""
        self._missing(Capability.LIST_TAX_RATES)
