"""Posting the outbox: each sale reaches each provider once, whatever fails on the way.

Kinds. An entry posts a sale's invoice, a refund's credit note, a day's summary invoice (see
`invoices.services.outbox`), or a payment against one of those. A payment is not due until its
document is posted (it needs the document's remote id); a run that posts documents goes round once
more for the payments that became due. Every kind gets what follows.

Claiming. A worker claims due entries of one connection by moving them to IN_FLIGHT with a
`claimed_until`, inside one transaction: PostgreSQL skips rows another worker has locked
(`select_for_update(skip_locked=True)`); SQLite ignores the lock clause, but this project's
connections BEGIN IMMEDIATE, so the transaction holds the database's write lock from its first
statement and two claims cannot interleave. An IN_FLIGHT entry whose claim has expired belonged to
a worker that died: it is due again.

Exactly once in effect. `outcome_unknown` is set before a draft is sent and cleared once the
provider has answered for the draft (posted or refused it) or a lookup has found it; an error
answer (429, a spent budget, a revoked grant) to a later request leaves it as it was, and so does
one that ends a call after the session re-sent a lost send (`ConnectorError.may_have_written`: the
first send may have written; the next try may form another batch, under another key). So after a
timeout, a dropped connection or a dead worker the next try first asks the provider for an invoice
with the sale's reference and, if it is there, records it instead of posting again. Where the
provider can search many at once, the claim's lost invoices (and lost payments) are looked up
together (one call for a lost batch of 50 on Xero); otherwise one by one. The provider's
idempotency key (stable per entry) covers the retries the HTTP session makes within the same call.

Drafting reads, per claim rather than per sale: the sales' lines with their products, and the live
links of those products and customers, one query each. Only a product or customer with no link
yet goes through `ensure_remote_product` / `link_customer_for_sale`, whose claim rows keep two
workers from creating it twice. Where the provider searches and creates contacts many at a time,
the claim's unlinked customers are first linked together (`link_customers_for_sales`: on Xero one
search and one create for all of them).

Failures, per entry (an `OutboxAttempt` row for every try):
  transient (timeouts, 5xx, unreadable answers) -> RETRYING after 1, 2, 4 ... minutes (capped)
  rate limited / our budget spent                -> RATE_LIMITED until the time given (not an attempt)
  our access refused (a revoked grant)           -> PENDING (one needing attention stays so), not an
                                                    attempt and no email of its own: the connection
                                                    needs reconnecting, its owners get the one
                                                    "access lost" email, and the entry is due the
                                                    moment the merchant reconnects
  refused (validation, mapping)                  -> NEEDS_ATTENTION, the merchant is emailed once
                                                    and the entry is retried every few hours
  `OUTBOX_MAX_ATTEMPTS` attempts                 -> GIVEN_UP, emailed once, retryable by hand
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Case, F, Q, Sum, Value, When
from django.utils import timezone

from connectors.base import Capability, Connector, Priority
from connectors.errors import (
    AuthorizationRevoked,
    BudgetExhausted,
    ConnectorError,
    ProviderBug,
    RateLimited,
    TransientError,
    ValidationFailed,
)
from connectors.http import connector_for
from connectors.records import (
    InvoiceDraft,
    InvoiceLineDraft,
    NewCustomer,
    PaymentDraft,
    RemoteInvoice,
    RemotePayment,
)
from invoices.models import OutboxAttempt, OutboxEntry, Sale, SaleLine
from invoices.services import notifications
from invoices.services.advice import what_to_change
from invoices.services.outbox import business_day
from syncing.models import Connection, CustomerLink, ProductLink
from syncing.services.customers import (
    AmbiguousCustomer,
    NoCashSaleContact,
    cash_sale_contact,
    link_customer_for_sale,
    link_customers_for_sales,
)
from syncing.services.outbound import emit_event, outbox_event
from syncing.services.products import ensure_remote_product

logger = logging.getLogger(__name__)

State = OutboxEntry.State
Outcome = OutboxAttempt.Outcome
Kind = OutboxEntry.Kind

NOUNS = {
    Kind.INVOICE: "invoice",
    Kind.CREDIT_NOTE: "credit note",
    Kind.DAILY_SUMMARY: "summary invoice",
    Kind.PAYMENT: "payment",
}

DUE_STATES = (State.PENDING, State.RETRYING, State.RATE_LIMITED, State.NEEDS_ATTENTION)
# Long enough for one claim's posts at one call per invoice; a live worker never outlasts it.
CLAIM_TTL = timedelta(minutes=15)
DEFAULT_LIMIT = 200
BACKOFF_CAP_MINUTES = 60


def attention_retry_interval() -> timedelta:
    return timedelta(hours=settings.OUTBOX_ATTENTION_RETRY_HOURS)


def max_attempts() -> int:
    return settings.OUTBOX_MAX_ATTEMPTS


class OutboxEntryLocked(Exception):
    """The entry is posted, or a worker is posting it right now: it cannot be changed by hand."""


class SettingMissing(Exception):
    """A connection setting the entry needs (a payment or sales account) is not chosen yet."""


@dataclass
class PostingSummary:
    claimed: int = 0
    posted: int = 0
    found_existing: int = 0
    retrying: int = 0
    rate_limited: int = 0
    needs_attention: int = 0
    given_up: int = 0
    released: int = 0
    invoice_calls: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def count(self, state: str) -> None:
        name = {
            State.RETRYING: "retrying",
            State.RATE_LIMITED: "rate_limited",
            State.NEEDS_ATTENTION: "needs_attention",
            State.GIVEN_UP: "given_up",
        }[state]
        setattr(self, name, getattr(self, name) + 1)


class _Stop(Exception):
    """The whole connection must wait (rate limit, budget, revoked grant): stop this claim."""


def due_filter(now: datetime) -> Q:
    """Entries ready for a try: due by their schedule, or claimed by a worker that has died; a
    payment only once the document it pays is posted."""
    ready = Q(depends_on__isnull=True) | Q(depends_on__state=State.POSTED)
    scheduled = Q(state__in=DUE_STATES, next_attempt_at__lte=now)
    abandoned = Q(state=State.IN_FLIGHT, claimed_until__lt=now)
    return (scheduled | abandoned) & ready


def claim_due_entries(*, connection: Connection, now: datetime, limit: int) -> list[OutboxEntry]:
    """Move up to `limit` due entries of `connection` to IN_FLIGHT under a claim, oldest due first.
    Each returned entry carries the state it was claimed from as `claimed_from`."""
    with transaction.atomic():
        queryset = OutboxEntry.objects.filter(due_filter(now), connection=connection).order_by(
            "next_attempt_at", "pk"
        )
        if db_connection.features.has_select_for_update_skip_locked:
            # Only the entries' own rows: the join to a payment's document must not lock it.
            queryset = queryset.select_for_update(skip_locked=True, of=("self",))
        claimed = dict(queryset.values_list("pk", "state")[:limit])
        # A claimed daily summary takes no more sales: its contents are fixed from here on.
        OutboxEntry.objects.filter(pk__in=claimed).update(
            state=State.IN_FLIGHT, claimed_until=now + CLAIM_TTL, accepting_sales=False
        )
    entries = list(
        OutboxEntry.objects.filter(pk__in=claimed)
        .select_related("sale__customer", "sale__tenant", "depends_on__sale")
        .order_by("next_attempt_at", "pk")
    )
    for entry in entries:
        # Released untried, an entry taken over from a dead worker goes back as due for a retry.
        entry.claimed_from = State.RETRYING if claimed[entry.pk] == State.IN_FLIGHT else claimed[entry.pk]
        # One Connection object for the whole claim: what one entry learns (the cash-sale contact)
        # the next one sees without asking again.
        entry.connection = connection
    return entries


def post_due_outbox_entries(
    *, connection: Connection, now: datetime | None = None, limit: int = DEFAULT_LIMIT
) -> PostingSummary:
    """Post every due entry of `connection` (up to `limit`), in the provider's batch size, and
    give each its outcome. Example: `post_due_outbox_entries(connection=c).as_dict()`."""
    now = now or timezone.now()
    summary = PostingSummary()
    if not connection.is_active:
        return summary
    connector = None
    # A second round posts the payments whose documents the first one posted.
    for _ in range(2):
        entries = claim_due_entries(connection=connection, now=now, limit=limit - summary.claimed)
        summary.claimed += len(entries)
        if not entries:
            break
        connector = connector or connector_for(connection, run=None, priority=Priority.INVOICE)
        try:
            _post_claimed(entries, connector, now, summary)
        except _Stop:
            break
        finally:
            # Whatever was claimed but not tried (the connection had to stop) goes back as it was.
            summary.released += _release([entry for entry in entries if entry.state == State.IN_FLIGHT])
        if not any(entry.state == State.POSTED and entry.kind != Kind.PAYMENT for entry in entries):
            break
    return summary


@dataclass
class ClaimReads:
    """What the claim's drafts read, fetched once for all its sales: each sale's lines (with their
    products) and the live links of those products and customers. A link made while drafting is
    added, so the claim's later sales find it here too. Customers not linked yet are linked
    together first where the provider can search and create many at once; one that failed there
    fails each of its entries with that error."""

    lines: dict[int, list[SaleLine]] = field(default_factory=dict)
    product_links: dict[int, ProductLink] = field(default_factory=dict)
    customer_links: dict[int, CustomerLink] = field(default_factory=dict)
    customer_failures: dict[int, Exception] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: Sequence[OutboxEntry], connection: Connection) -> ClaimReads:
        documents = (Kind.INVOICE, Kind.CREDIT_NOTE)
        sale_ids = {entry.sale_id for entry in entries if entry.kind in documents}
        customer_ids = {entry.sale.customer_id for entry in entries if entry.sale_id}
        reads = cls()
        for line in SaleLine.objects.filter(sale_id__in=sale_ids).select_related("product").order_by("pk"):
            reads.lines.setdefault(line.sale_id, []).append(line)
        product_ids = {line.product_id for lines in reads.lines.values() for line in lines}
        live = {"connection": connection, "remote_deleted": False}
        reads.product_links = {
            link.product_id: link for link in ProductLink.objects.filter(product_id__in=product_ids, **live)
        }
        reads.customer_links = {
            link.customer_id: link
            for link in CustomerLink.objects.filter(customer_id__in=customer_ids - {None}, **live)
        }
        unlinked = {
            entry.sale.customer_id: entry.sale.customer
            for entry in entries
            if entry.sale_id and entry.sale.customer_id and entry.sale.customer_id not in reads.customer_links
        }
        if unlinked:
            linked = link_customers_for_sales(customers=list(unlinked.values()), connection=connection)
            reads.customer_links.update(linked.links)
            reads.customer_failures = linked.failures
        return reads

    def product_link(self, product, connection: Connection) -> ProductLink:
        if product.pk not in self.product_links:
            self.product_links[product.pk] = ensure_remote_product(product=product, connection=connection)
        return self.product_links[product.pk]

    def customer_link(self, customer, connection: Connection) -> CustomerLink:
        if customer.pk in self.customer_failures:
            raise self.customer_failures[customer.pk]
        if customer.pk not in self.customer_links:
            link = link_customer_for_sale(customer=customer, connection=connection)
            self.customer_links[customer.pk] = link
        return self.customer_links[customer.pk]


def _post_claimed(entries: Sequence[OutboxEntry], connector: Connector, now, summary: PostingSummary) -> None:
    reads = ClaimReads.of(entries, entries[0].connection)
    # A payment's lookup needs its draft (contact, day, document); the others need only the reference.
    drafts: dict[int, PaymentDraft] = {}
    for entry in entries:
        if entry.kind == Kind.PAYMENT:
            with _failing_on_error(entry, now, summary):
                drafts[entry.pk] = build_draft(entry, reads)
    found = _look_up_lost(entries, drafts, connector, now, summary)
    ready = []
    for entry in entries:
        if entry.state != State.IN_FLIGHT:
            continue  # failed above
        with _failing_on_error(entry, now, summary):
            if entry.outcome_unknown:
                remote = found[entry.pk] if entry.pk in found else _find_posted(entry, connector, drafts)
                if remote is not None:
                    _mark_posted(entry, remote, now, Outcome.FOUND_EXISTING)
                    summary.found_existing += 1
                    continue
                # Not there: the earlier request never reached the provider, so it is safe to send.
            ready.append((entry, drafts.get(entry.pk) or build_draft(entry, reads)))
    size = max(connector.spec.invoice_batch_size, 1)
    senders = (
        ((Kind.INVOICE, Kind.DAILY_SUMMARY), connector.post_invoices),
        ((Kind.CREDIT_NOTE,), connector.post_credit_notes),
        ((Kind.PAYMENT,), connector.post_payments),
    )
    for kinds, send in senders:
        group = [(entry, draft) for entry, draft in ready if entry.kind in kinds]
        for start in range(0, len(group), size):
            _send(group[start : start + size], send, now, summary)


def _look_up_lost(
    entries: Sequence[OutboxEntry],
    drafts: dict[int, PaymentDraft],
    connector: Connector,
    now: datetime,
    summary: PostingSummary,
) -> dict[int, RemoteInvoice | RemotePayment | None]:
    """Whether each invoice or payment of the claim whose last answer was lost reached the
    provider, in one search per kind for all of them (by entry pk; None: not there). A kind the
    provider can only look up one at a time is left out: it is asked per entry. A failed search
    fails its entries as a failed single lookup would."""
    lost = [entry for entry in entries if entry.outcome_unknown and entry.state == State.IN_FLIGHT]
    searches = (
        (
            (Kind.INVOICE, Kind.DAILY_SUMMARY),
            Capability.FIND_INVOICES_BY_REFERENCE,
            lambda group: connector.find_invoices_by_reference([entry.reference for entry in group]),
        ),
        (
            (Kind.PAYMENT,),
            Capability.FIND_PAYMENTS,
            lambda group: connector.find_payments([drafts[entry.pk] for entry in group]),
        ),
    )
    found: dict[int, RemoteInvoice | RemotePayment | None] = {}
    for kinds, capability, search in searches:
        group = [entry for entry in lost if entry.kind in kinds]
        if not group or not connector.spec.can(capability):
            continue
        try:
            remote = search(group)
        except ConnectorError as exc:
            for entry in group:
                _fail_with_error(entry, exc, now, summary, stop=False)
            if _stops_connection(exc):
                raise _Stop from exc
            continue
        found.update({entry.pk: remote.get(entry.reference) for entry in group})
    return found


@contextmanager
def _failing_on_error(entry: OutboxEntry, now: datetime, summary: PostingSummary):
    """Settle `entry` as failed when making it ready (its customer, products, draft, lookup) fails."""
    try:
        yield
    except (AmbiguousCustomer, NoCashSaleContact, SettingMissing) as exc:
        _fail(entry, now, summary, state=State.NEEDS_ATTENTION, message=str(exc), messages=[str(exc)])
    except ConnectorError as exc:
        _fail_with_error(entry, exc, now, summary)
    except Exception:
        # A bug must not keep an entry claimed forever: it counts as an attempt and ends given up.
        logger.exception("Preparing outbox entry %s crashed", entry.pk)
        _fail(
            entry,
            now,
            summary,
            state=State.RETRYING,
            message="The invoice could not be prepared (an unexpected error); our staff have been alerted.",
        )


def _find_posted(entry: OutboxEntry, connector: Connector, drafts: dict[int, PaymentDraft]):
    if entry.kind == Kind.PAYMENT:
        return connector.find_payment(drafts[entry.pk])
    if entry.kind == Kind.CREDIT_NOTE:
        return connector.find_credit_note_by_reference(entry.reference)
    return connector.find_invoice_by_reference(entry.reference)


def build_draft(entry: OutboxEntry, reads: ClaimReads) -> InvoiceDraft | PaymentDraft:
    """What to send for the entry: its sale as an invoice or credit note, its day as a summary
    invoice, or its payment. `reads` is `ClaimReads.of` the claim holding the entry."""
    if entry.kind == Kind.DAILY_SUMMARY:
        return build_summary_draft(entry)
    if entry.kind == Kind.PAYMENT:
        return build_payment_draft(entry, reads)
    return build_sale_draft(entry, reads)


def _contact_for(sale: Sale, connection: Connection, reads: ClaimReads) -> str:
    if sale.customer_id:
        return reads.customer_link(sale.customer, connection).remote_id
    return cash_sale_contact(connection=connection)


def build_sale_draft(entry: OutboxEntry, reads: ClaimReads) -> InvoiceDraft:
    """The sale as an invoice (a refund as a credit note) for the entry's connection: the
    customer's remote contact (or the cash-sale contact), every product present remotely, tax
    codes and the sales account mapped."""
    sale, connection = entry.sale, entry.connection
    details = None
    customer_remote_id = _contact_for(sale, connection, reads)
    if sale.customer_id:
        customer = sale.customer
        if connection.send_contact_details:
            details = NewCustomer(
                name=customer.name,
                email=customer.email,
                account_number=customer.account_number,
                first_name=customer.first_name,
                last_name=customer.last_name,
                phone=customer.phone,
            )
    lines = []
    for line in reads.lines.get(sale.pk, []):
        link = reads.product_link(line.product, connection)
        # Products pulled from the provider already carry its tax codes: unmapped codes pass as they are.
        tax_code = connection.remote_tax_code(line.tax_code)
        lines.append(
            InvoiceLineDraft(
                description=line.description or line.product.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                product_remote_id=link.remote_id,
                product_code=link.remote_code or line.product.sku,
                tax_code=tax_code,
                account_code=connection.sales_account_code,
                discount_rate=line.discount_rate or None,
            )
        )
    return InvoiceDraft(
        reference=sale.number,
        idempotency_key=str(entry.idempotency_key),
        customer_remote_id=customer_remote_id,
        issued_on=sale.sold_at.astimezone(ZoneInfo(connection.tenant.timezone)).date(),
        lines=tuple(lines),
        currency=sale.currency,
        customer_details=details,
    )


def build_summary_draft(entry: OutboxEntry) -> InvoiceDraft:
    """The day's sales as one invoice to the cash-sale contact, one line per (tax rate, account),
    the way Codat and A2X post: amounts include tax, as the till's prices do."""
    connection = entry.connection
    if not connection.sales_account_code:
        raise SettingMissing(
            f"Daily summaries need a sales account. Choose the {connection.spec.name} sales account "
            "in the connection settings."
        )
    totals: dict[tuple[str, str], Decimal] = {}
    currency = ""
    lines = SaleLine.objects.filter(sale__summary_memberships__entry=entry).select_related("sale")
    for line in lines.order_by("pk"):
        tax_code = connection.remote_tax_code(line.tax_code)
        key = (tax_code, connection.sales_account_code)
        totals[key] = totals.get(key, Decimal("0")) + line.net_amount
        currency = currency or line.sale.currency
    drafts = tuple(
        InvoiceLineDraft(
            description=f"Sales, tax {tax_code}" if tax_code else "Sales, no tax rate",
            quantity=Decimal("1"),
            unit_price=amount,
            tax_code=tax_code,
            account_code=account_code,
        )
        for (tax_code, account_code), amount in sorted(totals.items())
    )
    return InvoiceDraft(
        reference=entry.reference,
        idempotency_key=str(entry.idempotency_key),
        customer_remote_id=cash_sale_contact(connection=connection),
        issued_on=entry.business_day,
        lines=drafts,
        currency=currency,
    )


def build_payment_draft(entry: OutboxEntry, reads: ClaimReads) -> PaymentDraft:
    """The payment against the entry's posted document, into the account mapped for its payment
    method (else the connection's payment account): a sale's total, or for a summary the total of
    its paid sales with that method. Against a credit note it is the refund paid out."""
    connection, document = entry.connection, entry.depends_on
    method = entry.payment_method
    account = connection.payment_accounts.get(method) or connection.payment_account_code
    if not account:
        paid_by = f"{method} payments" if method else "payments"
        raise SettingMissing(
            f"{connection.spec.name} needs an account to record {paid_by} in. Choose one under "
            "payment accounts in the connection settings."
        )
    if entry.sale_id:
        sale = entry.sale
        amount, paid_on, currency = sale.total, business_day(sale.sold_at, connection.tenant), sale.currency
        contact = _contact_for(sale, connection, reads)
    else:
        paid = Sale.objects.filter(summary_memberships__entry=document, paid=True, payment_method=method)
        amount = paid.aggregate(total=Sum("total"))["total"] or Decimal("0")
        paid_on, currency = document.business_day, paid.values_list("currency", flat=True).first() or ""
        contact = cash_sale_contact(connection=connection)
    return PaymentDraft(
        reference=entry.reference,
        idempotency_key=str(entry.idempotency_key),
        document_remote_id=document.remote_id,
        contact_remote_id=contact,
        account_code=account,
        amount=amount,
        paid_on=paid_on,
        refund=document.kind == Kind.CREDIT_NOTE,
        currency=currency,
    )


def _send(batch: Sequence[tuple[OutboxEntry, InvoiceDraft | PaymentDraft]], send, now, summary) -> None:
    entries = [entry for entry, _ in batch]
    unknown_before = {entry.pk: entry.outcome_unknown for entry in entries}
    # Before the request leaves: from here until an answer, a lost reply means "look it up first".
    OutboxEntry.objects.filter(pk__in=[e.pk for e in entries]).update(outcome_unknown=True)
    for entry in entries:
        entry.outcome_unknown = True
    summary.invoice_calls += 1
    try:
        results = send([draft for _, draft in batch])
    except ConnectorError as exc:
        for entry in entries:
            if not exc.may_have_written:
                # Refused unread at every send of the call, it wrote nothing; an earlier try still may
                # have. A refusal after a send whose answer was lost does not say the write did not happen.
                entry.outcome_unknown = unknown_before[entry.pk]
            _fail_with_error(entry, exc, now, summary, stop=False)
        if _stops_connection(exc):
            raise _Stop from exc
        return
    for entry, result in zip(entries, results, strict=True):
        entry.outcome_unknown = False
        if result.ok:
            _mark_posted(entry, result.remote, now, Outcome.POSTED)
            summary.posted += 1
        else:
            _fail(
                entry,
                now,
                summary,
                state=State.NEEDS_ATTENTION,
                message=_refusal(entry, result.errors),
                messages=list(result.errors),
            )


def _refusal(entry: OutboxEntry, messages: Sequence[str]) -> str:
    """What to change, in one sentence where we can tell, then the provider's own words."""
    name = entry.connection.spec.name
    said = f"{name} refused the {NOUNS[entry.kind]}: {'; '.join(messages)}"
    advice = what_to_change(name, messages)
    return f"{advice} ({said})" if advice else said


def _stops_connection(exc: ConnectorError) -> bool:
    return isinstance(exc, RateLimited | BudgetExhausted | AuthorizationRevoked)


def _fail_with_error(entry: OutboxEntry, exc: ConnectorError, now, summary, *, stop: bool = True) -> None:
    """Settle a failed try. `outcome_unknown` stays as it is: an error answer to this request says
    nothing about an earlier one whose answer was lost, so only a lookup or a posting clears it."""
    name = entry.connection.spec.name
    if isinstance(exc, TransientError | ProviderBug):
        _fail(
            entry, now, summary, state=State.RETRYING, message=f"{name} could not be reached ({exc.message})."
        )
    elif isinstance(exc, RateLimited | BudgetExhausted):
        until = exc.retry_at if isinstance(exc, RateLimited) else exc.resets_at
        _fail(
            entry,
            now,
            summary,
            state=State.RATE_LIMITED,
            until=until,
            message=f"{name} asked us to wait; posting resumes at {until:%Y-%m-%d %H:%M} UTC.",
        )
    elif isinstance(exc, AuthorizationRevoked):
        _wait_for_reconnection(entry, now, summary)
    else:
        if isinstance(exc, ValidationFailed):
            message, messages = _refusal(entry, exc.messages), list(exc.messages)
        else:
            message, messages = _refusal(entry, [exc.message]), [exc.message]
        _fail(entry, now, summary, state=State.NEEDS_ATTENTION, message=message, messages=messages)
    if stop and _stops_connection(exc):
        raise _Stop from exc


def _fail(
    entry: OutboxEntry,
    now: datetime,
    summary: PostingSummary,
    *,
    state: str,
    message: str,
    messages: Sequence[str] = (),
    until: datetime | None = None,
) -> None:
    """Record one failed try and decide when the entry is due again."""
    if state == State.RATE_LIMITED:
        # Waiting for the provider says nothing about this invoice: it does not count as an attempt.
        outcome, next_at = Outcome.RATE_LIMITED, until
    else:
        entry.attempts += 1
        if state == State.RETRYING:
            outcome = Outcome.UNKNOWN if entry.outcome_unknown else Outcome.TRANSIENT
            next_at = now + timedelta(minutes=min(2 ** (entry.attempts - 1), BACKOFF_CAP_MINUTES))
        else:
            outcome, next_at = Outcome.REFUSED, now + attention_retry_interval()
        if entry.attempts >= max_attempts():
            state = State.GIVEN_UP
    entry.state = state
    entry.next_attempt_at = next_at
    entry.claimed_until = None
    entry.last_error = message
    if messages:
        entry.provider_messages = list(messages)
    with transaction.atomic():
        entry.save(
            update_fields=[
                "state",
                "attempts",
                "next_attempt_at",
                "claimed_until",
                "outcome_unknown",
                "last_error",
                "provider_messages",
            ]
        )
        OutboxAttempt.objects.create(entry=entry, at=now, outcome=outcome, message=message)
    summary.count(state)
    if state == State.NEEDS_ATTENTION:
        notifications.notify_needs_attention(entry, first_time=entry.claimed_from != State.NEEDS_ATTENTION)
    elif state == State.GIVEN_UP:
        notifications.notify_given_up(entry)


def _wait_for_reconnection(entry: OutboxEntry, now: datetime, summary: PostingSummary) -> None:
    """The provider refused our access, not the entry: the connection is marked as needing
    reconnection (`connections.mark_needs_reauth`, which emails the owners once for the cause) and
    posting skips it until then. So the entry goes back untried, due at once, with no attempt
    counted and no email of its own. One that already needed attention still does: its refusal
    stands until a try after the reconnect says otherwise."""
    name = entry.connection.spec.name
    message = (
        f"{name} no longer accepts this connection; this {NOUNS[entry.kind]} posts once you reconnect {name}."
    )
    if entry.claimed_from == State.NEEDS_ATTENTION:
        entry.state = State.NEEDS_ATTENTION
    else:
        entry.state = State.PENDING
        entry.last_error = message
    entry.next_attempt_at = now
    entry.claimed_until = None
    with transaction.atomic():
        entry.save(
            update_fields=["state", "next_attempt_at", "claimed_until", "outcome_unknown", "last_error"]
        )
        OutboxAttempt.objects.create(entry=entry, at=now, outcome=Outcome.ACCESS_LOST, message=message)
    summary.released += 1


def _mark_posted(
    entry: OutboxEntry, invoice: RemoteInvoice | RemotePayment, now: datetime, outcome: str
) -> None:
    entry.state = State.POSTED
    entry.remote_id = invoice.remote_id
    entry.remote_number = invoice.number
    entry.posted_at = now
    entry.claimed_until = None
    entry.outcome_unknown = False
    entry.last_error = ""
    if outcome == Outcome.POSTED:
        entry.attempts += 1
    with transaction.atomic():
        entry.save(
            update_fields=[
                "state",
                "remote_id",
                "remote_number",
                "posted_at",
                "claimed_until",
                "outcome_unknown",
                "last_error",
                "attempts",
            ]
        )
        label = invoice.number or invoice.remote_id
        noun = NOUNS[entry.kind].capitalize()
        OutboxAttempt.objects.create(entry=entry, at=now, outcome=outcome, message=f"{noun} {label}.")
        emit_event(entry.connection.tenant_id, "outbox.posted", outbox_event(entry))


def _release(entries: Sequence[OutboxEntry]) -> int:
    for entry in entries:
        OutboxEntry.objects.filter(pk=entry.pk, state=State.IN_FLIGHT).update(
            state=entry.claimed_from, claimed_until=None
        )
    return len(entries)


def retry_outbox_entry(entry: OutboxEntry, *, now: datetime | None = None) -> OutboxEntry:
    """Staff or the merchant fixed the cause: post again at the next run, with a fresh set of
    attempts and fresh emails should it fail again.

    The provider answered the last try (the outcome is known), so nothing was written and the sale
    gets a new idempotency key: Xero answers a reused key carrying a changed invoice with an error
    for up to 6 minutes (https://developer.xero.com/documentation/guides/idempotent-requests/idempotency/).
    With the outcome unknown the key stays, and the lookup by reference runs first."""
    now = now or timezone.now()
    fresh_key = Case(When(outcome_unknown=False, then=Value(uuid.uuid4())), default=F("idempotency_key"))
    changed = (
        OutboxEntry.objects.filter(pk=entry.pk)
        .exclude(state=State.POSTED)
        .exclude(state=State.IN_FLIGHT, claimed_until__gte=now)
        .update(
            state=State.PENDING,
            attempts=0,
            next_attempt_at=now,
            claimed_until=None,
            attention_emailed_at=None,
            given_up_emailed_at=None,
            idempotency_key=fresh_key,
        )
    )
    entry.refresh_from_db()
    if not changed:
        raise OutboxEntryLocked(f"{entry.label} is {entry.get_state_display().lower()}.")
    return entry


def cancel_outbox_entry(entry: OutboxEntry, *, now: datetime | None = None) -> OutboxEntry:
    """Stop trying to post this sale to this connection. An entry whose last outcome is unknown may
    already be on the provider; cancelling does not remove it there."""
    now = now or timezone.now()
    changed = (
        OutboxEntry.objects.filter(pk=entry.pk)
        .exclude(state=State.POSTED)
        .exclude(state=State.IN_FLIGHT, claimed_until__gte=now)
        .update(state=State.CANCELLED, claimed_until=None)
    )
    if changed:
        # Its payments could never be recorded without it.
        OutboxEntry.objects.filter(depends_on=entry).exclude(state=State.POSTED).update(
            state=State.CANCELLED, claimed_until=None
        )
    entry.refresh_from_db()
    if not changed:
        raise OutboxEntryLocked(f"{entry.label} is {entry.get_state_display().lower()}.")
    return entry
