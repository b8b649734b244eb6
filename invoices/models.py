"""Local sales and the outbox that carries each of them to every connected provider once."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone

from syncing.models import Connection, Customer, Product, Tenant


class Sale(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sales")
    number = models.CharField(max_length=50)
    sold_at = models.DateTimeField(default=timezone.now)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="sales"
    )
    currency = models.CharField(max_length=3, default="GBP")
    payment_method = models.CharField(max_length=30, blank=True)
    paid = models.BooleanField(default=False)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    tax_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    # A refund names the sale it gives money back for; it posts as a credit note.
    refund_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "number"], name="sale_number_per_tenant")]
        indexes = [models.Index(fields=["tenant", "-sold_at"], name="sale_tenant_sold")]

    def __str__(self) -> str:
        return f"Sale {self.number}"


class SaleLine(models.Model):
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="sale_lines")
    description = models.CharField(max_length=255, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=4)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    tax_code = models.CharField(max_length=50, blank=True)
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    discount_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"

    @property
    def net_amount(self) -> Decimal:
        gross = self.quantity * self.unit_price
        return (gross * (1 - self.discount_rate / 100)).quantize(Decimal("0.01"))


class OutboxEntry(models.Model):
    """One document on its way to one connection, posted exactly once whatever fails on the way:
    a sale's invoice, a refund's credit note, a day's summary invoice, or the payment recorded
    against one of those (which waits until that document is posted)."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"
        DAILY_SUMMARY = "daily_summary", "Daily summary invoice"
        PAYMENT = "payment", "Payment"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to post"
        IN_FLIGHT = "in_flight", "Posting"
        RETRYING = "retrying", "Retrying soon"
        RATE_LIMITED = "rate_limited", "Waiting for the provider's rate limit"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        GIVEN_UP = "given_up", "Given up"
        POSTED = "posted", "Posted"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.INVOICE)
    # Empty for a daily summary and its payments, which carry many sales (see SummarySale).
    sale = models.ForeignKey(
        Sale, on_delete=models.CASCADE, null=True, blank=True, related_name="outbox_entries"
    )
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="outbox_entries")
    # A payment's invoice, credit note or summary: the payment is due only once that is posted.
    depends_on = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="dependents"
    )
    payment_method = models.CharField(max_length=30, blank=True)
    business_day = models.DateField(null=True, blank=True)
    # 1 for a day's summary, 2 and up for the supplementary ones of sales that came late.
    sequence = models.PositiveSmallIntegerField(default=1)
    # A summary takes sales until a worker first claims it; from then on its contents are fixed.
    accepting_sales = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Set while a request may have reached the provider without us seeing the answer.
    outcome_unknown = models.BooleanField(default=False)
    last_error = models.TextField(blank=True)
    provider_messages = models.JSONField(default=list, blank=True)
    remote_id = models.CharField(max_length=100, blank=True)
    remote_number = models.CharField(max_length=100, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    attention_emailed_at = models.DateTimeField(null=True, blank=True)
    given_up_emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "outbox entries"
        constraints = [
            models.UniqueConstraint(
                fields=["sale", "connection", "kind"],
                condition=Q(sale__isnull=False),
                name="one_entry_per_sale_target_kind",
            ),
            models.UniqueConstraint(
                fields=["connection", "business_day", "sequence"],
                condition=Q(kind="daily_summary"),
                name="one_summary_per_day_and_sequence",
            ),
            models.UniqueConstraint(
                fields=["depends_on", "payment_method"],
                condition=Q(kind="payment", sale__isnull=True),
                name="one_summary_payment_per_method",
            ),
            models.CheckConstraint(
                condition=Q(kind="daily_summary", business_day__isnull=False, sale__isnull=True)
                | (~Q(kind="daily_summary") & Q(business_day__isnull=True)),
                name="summary_entry_has_a_day",
            ),
            models.CheckConstraint(
                condition=~Q(kind="payment") | Q(depends_on__isnull=False),
                name="payment_entry_has_a_document",
            ),
            models.CheckConstraint(
                condition=~Q(state="posted") | ~Q(remote_id=""), name="posted_entry_has_remote_id"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["connection", "state"], name="outbox_connection_state"),
        ]

    def __str__(self) -> str:
        return f"{self.label} -> {self.connection_id} ({self.state})"

    @property
    def reference(self) -> str:
        """What the provider files the document under, and what a lookup-before-resend searches:
        the sale number, or "Daily sales 2026-11-24" ("... (2)" for a supplementary summary)."""
        if self.kind == self.Kind.DAILY_SUMMARY:
            day = f"Daily sales {self.business_day:%Y-%m-%d}"
            return day if self.sequence == 1 else f"{day} ({self.sequence})"
        if self.sale_id is None:
            return f"{self.depends_on.reference} {self.payment_method}".strip()
        return self.sale.number

    @property
    def description(self) -> str:
        """The entry in a merchant's words, mid-sentence: "sale S-1", "refund R-1", "daily sales
        2026-11-24", "payment for sale S-1 (card)"."""
        if self.kind == self.Kind.DAILY_SUMMARY:
            return self.reference[:1].lower() + self.reference[1:]
        if self.kind == self.Kind.PAYMENT:
            method = f" ({self.payment_method})" if self.payment_method else ""
            return f"payment for {self.depends_on.description}{method}"
        noun = "refund" if self.kind == self.Kind.CREDIT_NOTE else "sale"
        return f"{noun} {self.sale.number}"

    @property
    def label(self) -> str:
        """The description as a heading: "Sale S-1", "Payment for sale S-1 (card)"."""
        return self.description[:1].upper() + self.description[1:]


class SummarySale(models.Model):
    """A sale counted in a daily summary. One per sale and connection, so a sale is in exactly one
    summary of each daily-summary connection: never lost, never counted twice."""

    entry = models.ForeignKey(OutboxEntry, on_delete=models.CASCADE, related_name="summary_sales")
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="summary_memberships")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sale", "connection"], name="sale_in_one_summary_per_connection")
        ]

    def __str__(self) -> str:
        return f"{self.sale} in {self.entry_id}"


class GivenUpOutboxEntry(OutboxEntry):
    """The entries staff must look at: a proxy so the admin lists them on their own page."""

    class Meta:
        proxy = True
        verbose_name = "given-up outbox entry"
        verbose_name_plural = "given-up outbox entries"


class OutboxAttempt(models.Model):
    """Every try at posting an entry, with what the provider answered."""

    class Outcome(models.TextChoices):
        POSTED = "posted", "Posted"
        FOUND_EXISTING = "found_existing", "Found already posted"
        TRANSIENT = "transient", "Transient failure"
        RATE_LIMITED = "rate_limited", "Rate limited"
        REFUSED = "refused", "Refused by provider"
        UNKNOWN = "unknown", "Outcome unknown"
        # The provider refused our access, not the entry: it waits, untried, for the reconnect.
        ACCESS_LOST = "access_lost", "Waiting for reconnection"

    entry = models.ForeignKey(OutboxEntry, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    message = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["entry", "-at"], name="attempt_entry_at")]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.outcome} at {self.at:%Y-%m-%d %H:%M}"
