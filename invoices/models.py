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
    """One sale on its way to one connection: posted exactly once, whatever fails on the way."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to post"
        IN_FLIGHT = "in_flight", "Posting"
        RETRYING = "retrying", "Retrying soon"
        RATE_LIMITED = "rate_limited", "Waiting for the provider's rate limit"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        GIVEN_UP = "given_up", "Given up"
        POSTED = "posted", "Posted"
        CANCELLED = "cancelled", "Cancelled"

    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="outbox_entries")
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="outbox_entries")
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
            models.UniqueConstraint(fields=["sale", "connection"], name="one_entry_per_sale_target"),
            models.CheckConstraint(
                condition=~Q(state="posted") | ~Q(remote_id=""), name="posted_entry_has_remote_id"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["connection", "state"], name="outbox_connection_state"),
        ]

    def __str__(self) -> str:
        return f"{self.sale} -> {self.connection_id} ({self.state})"


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

    entry = models.ForeignKey(OutboxEntry, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    message = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["entry", "-at"], name="attempt_entry_at")]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.outcome} at {self.at:%Y-%m-%d %H:%M}"
