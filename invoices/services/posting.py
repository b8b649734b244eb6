"""Posting the outbox: each sale reaches each provider once, whatever fails on the way.

Claiming. A worker claims due entries of one connection by moving them to IN_FLIGHT with a
`claimed_until`, inside one transaction: PostgreSQL skips rows another worker has locked
(`select_for_update(skip_locked=True)`); SQLite ignores the lock clause, but this project's
connections BEGIN IMMEDIATE, so the transaction holds the database's write lock from its first
statement and two claims cannot interleave. An IN_FLIGHT entry whose claim has expired belonged to
a worker that died: it is due again.

Exactly once in effect. `outcome_unknown` is set before a draft is sent and cleared once the
provider has answered, so after a timeout, a dropped connection or a dead worker the next try
first asks the provider for an invoice with the sale's reference and, if it is there, records it
instead of posting again. The provider's idempotency key (stable per entry) covers the retries
the HTTP session makes within the same call.

Failures, per entry (an `OutboxAttempt` row for every try):
  transient (timeouts, 5xx, unreadable answers) -> RETRYING after 1, 2, 4 ... minutes (capped)
  rate limited / our budget spent                -> RATE_LIMITED until the time given (not an attempt)
  refused (validation, mapping, authorisation)   -> NEEDS_ATTENTION, the merchant is emailed once
                                                    and the entry is retried every few hours
  `OUTBOX_MAX_ATTEMPTS` attempts                 -> GIVEN_UP, emailed once, retryable by hand
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from connectors.base import Connector, Priority
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
from connectors.records import InvoiceDraft, InvoiceLineDraft, NewCustomer, RemoteInvoice
from invoices.models import OutboxAttempt, OutboxEntry
from invoices.services import notifications
from syncing.models import Connection
from syncing.services.customers import (
    AmbiguousCustomer,
    NoCashSaleContact,
    cash_sale_contact,
    link_customer_for_sale,
)
from syncing.services.products import ensure_remote_product

logger = logging.getLogger(__name__)

State = OutboxEntry.State
Outcome = OutboxAttempt.Outcome

DUE_STATES = (State.PENDING, State.RETRYING, State.RATE_LIMITED, State.NEEDS_ATTENTION)
# Long enough for one claim's posts at one call per invoice; a live worker never outlasts it.
CLAIM_TTL = timedelta(minutes=15)
DEFAULT_LIMIT = 200
BACKOFF_CAP_MINUTES = 60


def attention_retry_interval() -> timedelta:
    return timedelta(hours=getattr(settings, "OUTBOX_ATTENTION_RETRY_HOURS", 3))


def max_attempts() -> int:
    return getattr(settings, "OUTBOX_MAX_ATTEMPTS", 8)


class OutboxEntryLocked(Exception):
    """The entry is posted, or a worker is posting it right now: it cannot be changed by hand."""


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
    """Entries ready for a try: due by their schedule, or claimed by a worker that has died."""
    return Q(state__in=DUE_STATES, next_attempt_at__lte=now) | Q(state=State.IN_FLIGHT, claimed_until__lt=now)


def claim_due_entries(*, connection: Connection, now: datetime, limit: int) -> list[OutboxEntry]:
    """Move up to `limit` due entries of `connection` to IN_FLIGHT under a claim, oldest due first.
    Each returned entry carries the state it was claimed from as `claimed_from`."""
    with transaction.atomic():
        queryset = OutboxEntry.objects.filter(due_filter(now), connection=connection).order_by(
            "next_attempt_at", "pk"
        )
        if db_connection.features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        claimed = dict(queryset.values_list("pk", "state")[:limit])
        OutboxEntry.objects.filter(pk__in=claimed).update(
            state=State.IN_FLIGHT, claimed_until=now + CLAIM_TTL
        )
    entries = list(
        OutboxEntry.objects.filter(pk__in=claimed)
        .select_related("sale__customer", "sale__tenant")
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
    entries = claim_due_entries(connection=connection, now=now, limit=limit)
    summary.claimed = len(entries)
    if not entries:
        return summary
    connector = connector_for(connection, run=None, priority=Priority.INVOICE)
    try:
        ready = []
        for entry in entries:
            draft = _prepare(entry, connector, now, summary)
            if draft is not None:
                ready.append((entry, draft))
        size = max(connection.spec.invoice_batch_size, 1)
        for start in range(0, len(ready), size):
            _send(ready[start : start + size], connector, now, summary)
    except _Stop:
        pass
    finally:
        # Whatever was claimed but not tried (the connection had to stop) goes back as it was.
        summary.released += _release([entry for entry in entries if entry.state == State.IN_FLIGHT])
    return summary


def _prepare(entry: OutboxEntry, connector: Connector, now: datetime, summary: PostingSummary):
    """The draft to send for `entry`, or None when it was settled here (found already posted, or
    failed while its customer and products were being made ready)."""
    try:
        if entry.outcome_unknown:
            found = connector.find_invoice_by_reference(entry.sale.number)
            if found is not None:
                _mark_posted(entry, found, now, Outcome.FOUND_EXISTING)
                summary.found_existing += 1
                return None
            # Not there: the earlier request never reached the provider, so it is safe to send.
        return build_draft(entry)
    except (AmbiguousCustomer, NoCashSaleContact) as exc:
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
    return None


def build_draft(entry: OutboxEntry) -> InvoiceDraft:
    """The sale as an invoice for the entry's connection: the customer's remote contact (or the
    cash-sale contact), every product present remotely, tax codes and the sales account mapped."""
    sale, connection = entry.sale, entry.connection
    details = None
    if sale.customer_id:
        customer = sale.customer
        customer_remote_id = link_customer_for_sale(customer=customer, connection=connection).remote_id
        if connection.send_contact_details:
            details = NewCustomer(
                name=customer.name,
                email=customer.email,
                account_number=customer.account_number,
                first_name=customer.first_name,
                last_name=customer.last_name,
                phone=customer.phone,
            )
    else:
        customer_remote_id = cash_sale_contact(connection=connection)
    lines = []
    for line in sale.lines.select_related("product").order_by("pk"):
        link = ensure_remote_product(product=line.product, connection=connection)
        # Products pulled from the provider already carry its tax codes: unmapped codes pass as they are.
        tax_code = connection.tax_rate_map.get(line.tax_code, line.tax_code) if line.tax_code else ""
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


def _send(batch: Sequence[tuple[OutboxEntry, InvoiceDraft]], connector: Connector, now, summary) -> None:
    entries = [entry for entry, _ in batch]
    # Before the request leaves: from here until an answer, a lost reply means "look it up first".
    OutboxEntry.objects.filter(pk__in=[e.pk for e in entries]).update(outcome_unknown=True)
    for entry in entries:
        entry.outcome_unknown = True
    summary.invoice_calls += 1
    try:
        results = connector.post_invoices([draft for _, draft in batch])
    except ConnectorError as exc:
        for entry in entries:
            _fail_with_error(entry, exc, now, summary, stop=False)
        if _stops_connection(exc):
            raise _Stop from exc
        return
    for entry, result in zip(entries, results, strict=True):
        entry.outcome_unknown = False
        if result.ok:
            _mark_posted(entry, result.invoice, now, Outcome.POSTED)
            summary.posted += 1
        else:
            name = entry.connection.spec.name
            _fail(
                entry,
                now,
                summary,
                state=State.NEEDS_ATTENTION,
                message=f"{name} refused the invoice: {'; '.join(result.errors)}",
                messages=list(result.errors),
            )


def _stops_connection(exc: ConnectorError) -> bool:
    return isinstance(exc, RateLimited | BudgetExhausted | AuthorizationRevoked)


def _fail_with_error(entry: OutboxEntry, exc: ConnectorError, now, summary, *, stop: bool = True) -> None:
    name = entry.connection.spec.name
    if isinstance(exc, TransientError | ProviderBug):
        # The provider may have written before the answer was lost or garbled: keep outcome_unknown.
        _fail(
            entry, now, summary, state=State.RETRYING, message=f"{name} could not be reached ({exc.message})."
        )
    elif isinstance(exc, RateLimited | BudgetExhausted):
        until = exc.retry_at if isinstance(exc, RateLimited) else exc.resets_at
        entry.outcome_unknown = False
        _fail(
            entry,
            now,
            summary,
            state=State.RATE_LIMITED,
            until=until,
            message=f"{name} asked us to wait; posting resumes at {until:%Y-%m-%d %H:%M} UTC.",
        )
    else:
        entry.outcome_unknown = False
        if isinstance(exc, AuthorizationRevoked):
            message = (
                f"{name} no longer accepts this connection. Please reconnect {name} from your dashboard."
            )
            messages = [exc.message]
        elif isinstance(exc, ValidationFailed):
            message, messages = f"{name} refused the invoice: {'; '.join(exc.messages)}", list(exc.messages)
        else:
            message, messages = f"{name} refused the invoice: {exc.message}", [exc.message]
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
        notifications.notify_needs_attention(entry)
    elif state == State.GIVEN_UP:
        notifications.notify_given_up(entry)


def _mark_posted(entry: OutboxEntry, invoice: RemoteInvoice, now: datetime, outcome: str) -> None:
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
        OutboxAttempt.objects.create(entry=entry, at=now, outcome=outcome, message=f"Invoice {label}.")


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
        raise OutboxEntryLocked(f"Sale {entry.sale.number} is {entry.get_state_display().lower()}.")
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
    entry.refresh_from_db()
    if not changed:
        raise OutboxEntryLocked(f"Sale {entry.sale.number} is {entry.get_state_display().lower()}.")
    return entry
