"""What the API reads and writes: one schema per resource shape, named as the OpenAPI document
shows it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import available_timezones

from ninja import Field, Schema
from pydantic import field_validator

from connectors.base import Category
from connectors.registry import all_providers
from invoices.models import OutboxEntry
from syncing.api.pagination import page_of
from syncing.services.outbound import EVENT_TYPES
from syncing.services.sync_flow import MAX_TEXT_LENGTH

# An id the caller sends in a body or a query: one no row can have (a 64-bit key) is refused with
# 422. Django finds nothing for such a primary key, but a foreign-key filter passes it on, and SQLite
# cannot bind it.
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]

SyncKind = Literal["products", "stock", "customers"]
PostingMode = Literal["detailed", "daily_summary"]
LinkState = Literal["linked", "remote_deleted", "not_linked"]
PostingKind = Literal[tuple(OutboxEntry.Kind.values)]
EventType = Literal[tuple(EVENT_TYPES)]
CommerceProvider = Literal[tuple(k for k, s in all_providers().items() if s.category == Category.INVENTORY)]
AccountingProvider = Literal[
    tuple(k for k, s in all_providers().items() if s.category == Category.ACCOUNTING)
]
Integration = Literal[tuple(all_providers())]
WEB_URL = r"^https?://[^\s/?#]+[^\s]*$"
TIME_ZONES = frozenset(available_timezones())


class CompanyOut(Schema):
    id: int
    name: str
    slug: str
    timezone: str
    plan: str
    created_at: datetime


class CompanyIn(Schema):
    name: str = Field(..., min_length=1, max_length=200, pattern=r"\S")
    slug: str | None = Field(
        None,
        min_length=1,
        max_length=50,
        pattern=r"^[-a-zA-Z0-9_]+$",
        description="Unique across companies; made from the name when left out.",
    )
    timezone: str = Field("UTC", max_length=64, description="An IANA zone, e.g. Europe/London.")

    @field_validator("timezone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        if value not in TIME_ZONES:
            raise ValueError(f"{value!r} is not an IANA time zone, e.g. Europe/London.")
        return value


class CompanyCreated(CompanyOut):
    api_key: str = Field(..., description="The company's first API key, shown this once.")


class Branding(Schema):
    logo_url: str
    colour: str


class IntegrationOut(Schema):
    key: str
    name: str
    category: str
    auth: str
    description: str
    capabilities: list[str]
    branding: Branding


class Organisation(Schema):
    id: str
    name: str


class ConnectionOut(Schema):
    id: int
    integration: str
    status: str
    status_reason: str
    enabled: bool
    organisation: Organisation
    created_at: datetime
    freshness_promise_seconds: int = Field(
        ...,
        description=(
            "While the connection is active, a change made in the provider shows here within this long."
        ),
    )
    recent_lag_seconds: list[int] = Field(
        ...,
        description=(
            "For each of the last products pulls, newest first: the longest a change made in the "
            "provider waited to show here."
        ),
    )
    poll_interval_effective_seconds: int = Field(
        ...,
        description=(
            "How often the provider is checked: the configured interval, longer when this month's "
            "plan cannot pay for polls that often."
        ),
    )


class ConnectionPatch(Schema):
    enabled: bool


class ApiKeyAuthorization(Schema):
    """The API id and key of a provider without a sign-in page (Unleashed), checked with it."""

    # Both travel in HTTP headers, which carry visible ASCII only.
    api_id: str = Field(..., min_length=1, max_length=100, pattern=r"^[!-~]+$")
    api_key: str = Field(..., min_length=1, max_length=200, pattern=r"^[!-~]+$")


class ConnectionCreate(ApiKeyAuthorization):
    integration: Integration = Field(
        ..., description="A provider authorised by API keys; the others connect through a sync-flow URL."
    )


class ConnectionConfigOut(Schema):
    connection: int
    poll_interval_minutes: int
    sweep_interval_minutes: int
    sweep_size: int
    posting_mode: PostingMode
    sales_account_code: str
    payment_account_code: str
    payment_accounts: dict[str, str]
    tax_rate_map: dict[str, str]
    cash_sale_contact_id: str
    create_cash_sale_contact: bool
    send_contact_details: bool


class ConnectionConfigPatch(Schema):
    """Every field optional: only those sent change. Intervals are clamped to what the product
    promises (see syncing.schedules)."""

    poll_interval_minutes: int | None = Field(None, ge=1)
    sweep_interval_minutes: int | None = Field(None, ge=1)
    sweep_size: int | None = Field(None, ge=1)
    posting_mode: PostingMode | None = None
    sales_account_code: str | None = Field(None, max_length=64)
    payment_account_code: str | None = Field(None, max_length=64)
    payment_accounts: dict[str, str] | None = None
    tax_rate_map: dict[str, str] | None = None
    cash_sale_contact_id: str | None = Field(None, max_length=100)
    create_cash_sale_contact: bool | None = None
    send_contact_details: bool | None = None


class CompanyConfigOut(Schema):
    connections: list[ConnectionConfigOut]


class ConnectionConfigIn(Schema):
    """Every setting, all required: what is sent replaces what was there."""

    poll_interval_minutes: int = Field(..., ge=1)
    sweep_interval_minutes: int = Field(..., ge=1)
    sweep_size: int = Field(..., ge=1)
    posting_mode: PostingMode
    sales_account_code: str = Field(..., max_length=64)
    payment_account_code: str = Field(..., max_length=64)
    payment_accounts: dict[str, str]
    tax_rate_map: dict[str, str]
    cash_sale_contact_id: str = Field(..., max_length=100)
    create_cash_sale_contact: bool
    send_contact_details: bool


class ConnectionConfigEntry(ConnectionConfigIn):
    connection: RowId


class CompanyConfigIn(Schema):
    """The settings of each connection listed; connections left out keep theirs."""

    connections: list[ConnectionConfigEntry]


class SyncFlowUrlIn(Schema):
    commerce: CommerceProvider | None = Field(None, description="The inventory / POS provider to connect.")
    accounting: AccountingProvider | None = Field(None, description="The accounting provider to connect.")
    redirect_url: str | None = Field(
        None,
        max_length=500,
        pattern=WEB_URL,
        description="Where the merchant is sent back to, with ?outcome=; without it the flow ends there.",
    )


class SyncFlowUrlOut(Schema):
    url: str
    expires_at: datetime


class SyncFlowTexts(Schema):
    texts: dict[str, Annotated[str, Field(max_length=MAX_TEXT_LENGTH)]] = Field(
        ..., description="Text key -> wording; keys left out show ours."
    )


class VisibleAccounts(Schema):
    accounts: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        ..., max_length=500, description="Account codes the sync flow offers."
    )


class WebhookEndpointIn(Schema):
    url: str = Field(..., max_length=500, pattern=WEB_URL)
    event_types: list[EventType] = Field(..., min_length=1)
    description: str = Field("", max_length=200)
    active: bool = True


class WebhookEndpointPatch(Schema):
    url: str | None = Field(None, max_length=500, pattern=WEB_URL)
    event_types: list[EventType] | None = Field(None, min_length=1)
    description: str | None = Field(None, max_length=200)
    active: bool | None = None


class WebhookEndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    active: bool
    created_at: datetime


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(..., description="Signs every delivery; shown only now.")


class BackfillRequest(Schema):
    connection: RowId
    start: datetime
    end: datetime | None = Field(None, description="Defaults to now.")


class SyncRequest(Schema):
    kind: SyncKind


class SyncQueued(Schema):
    task_id: str
    connection: int
    kind: SyncKind


class SyncRunOut(Schema):
    id: int
    connection: int = Field(..., alias="connection_id")
    kind: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    fetched: int
    created: int
    updated: int
    unchanged: int
    failed: int
    api_calls: int
    error_summary: str
    record_errors: list
    range_start: datetime | None = None
    range_end: datetime | None = None


class SyncFilters(Schema):
    connection: RowId | None = None
    kind: str | None = None
    status: str | None = None


class LinkOut(Schema):
    connection: int
    state: LinkState
    remote_id: str | None = None
    last_confirmed_at: datetime | None = None


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    description: str
    sale_price: Decimal | None
    purchase_price: Decimal | None
    tax_code: str
    active: bool
    synced_at: datetime | None
    links: list[LinkOut]


class SearchFilters(Schema):
    search: str = ""


class CustomerOut(Schema):
    id: int
    name: str
    email: str
    account_number: str
    phone: str
    links: list[LinkOut]


class SaleLineIn(Schema):
    sku: str = Field(..., min_length=1)
    quantity: Decimal = Field(..., gt=0)
    unit_price: Decimal = Field(..., ge=0)
    description: str = ""
    tax_code: str = ""
    tax_amount: Decimal = Field(Decimal("0"), ge=0)
    discount_rate: Decimal = Field(Decimal("0"), ge=0, le=100)


class SaleIn(Schema):
    number: str = Field(..., min_length=1, max_length=50)
    lines: list[SaleLineIn] = Field(..., min_length=1)
    sold_at: datetime | None = None
    customer_id: RowId | None = None
    payment_method: str = Field("", max_length=30)
    paid: bool = False
    refund_of: str | None = Field(
        None, min_length=1, max_length=50, description="The number of the earlier sale this refunds."
    )


class SaleLineOut(Schema):
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_code: str
    tax_amount: Decimal
    discount_rate: Decimal


class PostingOut(Schema):
    """One outbox entry that carries the sale (or its payment) to one connection."""

    connection: int
    kind: PostingKind = Field(
        ..., description="daily_summary: the sale is one of that business day's sales in one invoice."
    )
    reference: str = Field(
        ..., description='What the provider files it under: the sale number, or "Daily sales <day>".'
    )
    business_day: date | None = Field(None, description="The daily summary's business day.")
    state: str
    attempts: int
    remote_id: str
    remote_number: str
    posted_at: datetime | None
    last_error: str = Field(..., description="Why the last try failed, in plain words.")
    provider_messages: list[str] = Field(..., description="What the provider itself said.")


class SaleOut(Schema):
    id: int
    number: str
    sold_at: datetime
    customer_id: int | None
    currency: str
    payment_method: str
    paid: bool
    refund_of: str | None
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal
    lines: list[SaleLineOut]
    postings: list[PostingOut]


ConnectionPage = page_of(ConnectionOut)
SyncRunPage = page_of(SyncRunOut)
ProductPage = page_of(ProductOut)
CustomerPage = page_of(CustomerOut)
IntegrationPage = page_of(IntegrationOut)
CompanyPage = page_of(CompanyOut)
WebhookEndpointPage = page_of(WebhookEndpointOut)
