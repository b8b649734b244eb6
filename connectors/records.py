"""The neutral vocabulary between the sync engine and every connector.

Connectors return and accept only these frozen records; provider JSON never leaves a provider's
`mapping.py`. Money is Decimal, times are aware datetimes in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True)
class RemoteProduct:
    remote_id: str
    code: str
    name: str
    description: str = ""
    sale_price: Decimal | None = None
    purchase_price: Decimal | None = None
    tax_code: str = ""
    active: bool = True
    deleted: bool = False
    tracks_stock: bool = False
    updated_at: datetime | None = None
    version: str = ""


@dataclass(frozen=True)
class RemoteStock:
    product_remote_id: str
    location_remote_id: str
    quantity: Decimal
    location_name: str = ""
    product_code: str = ""
    updated_at: datetime | None = None
    version: str = ""


@dataclass(frozen=True)
class RemoteCustomer:
    remote_id: str
    name: str
    email: str = ""
    account_number: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    active: bool = True
    updated_at: datetime | None = None
    version: str = ""


@dataclass(frozen=True)
class NewProduct:
    code: str
    name: str
    sale_price: Decimal | None = None
    tax_code: str = ""
    account_code: str = ""


@dataclass(frozen=True)
class NewCustomer:
    name: str
    email: str = ""
    account_number: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class CustomerResult:
    """What the provider said about one customer of a batch: created, or refused with its messages."""

    customer: RemoteCustomer | None = None
    errors: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.customer is not None and not self.errors


@dataclass(frozen=True)
class InvoiceLineDraft:
    description: str
    quantity: Decimal
    unit_price: Decimal
    product_remote_id: str = ""
    product_code: str = ""
    tax_code: str = ""
    account_code: str = ""
    discount_rate: Decimal | None = None


@dataclass(frozen=True)
class InvoiceDraft:
    """One sale as an invoice (or a refund as a credit note, a day's sales as a summary invoice);
    `reference` is our sale number or summary name, the key for a lookup-before-retry."""

    reference: str
    idempotency_key: str
    customer_remote_id: str
    issued_on: date
    lines: tuple[InvoiceLineDraft, ...]
    due_on: date | None = None
    currency: str = ""
    customer_details: NewCustomer | None = None
    amounts_include_tax: bool = True


@dataclass(frozen=True)
class RemoteInvoice:
    remote_id: str
    reference: str
    number: str = ""
    status: str = ""
    total: Decimal | None = None


@dataclass(frozen=True)
class InvoiceResult:
    """What the provider said about one draft of a batch: posted, or refused with its messages."""

    reference: str
    invoice: RemoteInvoice | None = None
    errors: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.invoice is not None and not self.errors

    @property
    def remote(self) -> RemoteInvoice | None:
        return self.invoice


@dataclass(frozen=True)
class PaymentDraft:
    """Money received against a posted invoice, or paid back against a posted credit note
    (`refund`), into the account `account_code` names (a bank account code or id)."""

    reference: str
    idempotency_key: str
    document_remote_id: str
    contact_remote_id: str
    account_code: str
    amount: Decimal
    paid_on: date
    refund: bool = False
    currency: str = ""


@dataclass(frozen=True)
class RemotePayment:
    remote_id: str
    reference: str
    amount: Decimal | None = None
    number: str = ""


@dataclass(frozen=True)
class PaymentResult:
    """What the provider said about one payment draft: recorded, or refused with its messages."""

    reference: str
    payment: RemotePayment | None = None
    errors: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.payment is not None and not self.errors

    @property
    def remote(self) -> RemotePayment | None:
        return self.payment


@dataclass(frozen=True)
class RemoteOrganisation:
    remote_id: str
    name: str


class AccountKind(StrEnum):
    SALES = "sales"
    BANK = "bank"
    OTHER = "other"


@dataclass(frozen=True)
class RemoteAccount:
    """An account of the provider's chart; `code` is what a connection's mapping stores."""

    code: str
    name: str
    kind: AccountKind = AccountKind.OTHER


@dataclass(frozen=True)
class RemoteTaxRate:
    code: str
    name: str
    percentage: Decimal | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """One change a provider told us about: which resource, which record, what happened."""

    resource: str
    remote_id: str
    action: str
    event_id: str = ""
    tenant_id: str = ""
    occurred_at: datetime | None = None
    # The changed record itself, when the delivery carries every field we store for it (and a
    # marker that orders it against what we hold): stored without asking the provider again.
    record: RemoteProduct | RemoteStock | None = None
