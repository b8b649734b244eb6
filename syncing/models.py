"""Tenants, connections and the local catalogue, with the links that tie them to providers."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from connectors.base import rebase_url
from connectors.registry import get_provider, provider_choices
from syncing.crypto import EncryptedJSONField


class Tenant(models.Model):
    """A merchant: everything below belongs to exactly one tenant."""

    class Plan(models.TextChoices):
        STARTER = "starter", "Starter"
        GROWTH = "growth", "Growth"
        SCALE = "scale", "Scale"

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.STARTER)
    monthly_call_allowance = models.PositiveIntegerField(
        default=5000,
        help_text="API calls per connection per month that the merchant's plan allows.",
    )
    # Texts the sync flow shows, by key; missing keys fall back to the product's defaults.
    sync_flow_texts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="one_membership_per_user_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"


class Connection(models.Model):
    """One tenant's link to one provider account: credentials, cursors and sync settings."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACTIVE = "active", "Active"
        NEEDS_REAUTH = "needs_reauth", "Needs reauthorisation"
        DISABLED = "disabled", "Disabled"

    class PostingMode(models.TextChoices):
        DETAILED = "detailed", "One invoice per sale"
        DAILY_SUMMARY = "daily_summary", "One summary invoice per day"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connections")
    provider = models.CharField(max_length=32, choices=provider_choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    status_reason = models.TextField(blank=True)
    # When the provider last stopped accepting our access, for the page that asks to reconnect.
    access_lost_at = models.DateTimeField(null=True, blank=True, editable=False)
    remote_org_id = models.CharField(max_length=100, blank=True)
    remote_org_name = models.CharField(max_length=200, blank=True)
    # Where API calls go: blank means the provider's production URL.
    base_url = models.URLField(blank=True, help_text="Blank for production; a sandbox or emulator URL.")

    credentials = EncryptedJSONField(blank=True, default=dict, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Rotating refresh tokens need one winner across processes: a conditional update claims this.
    refresh_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    oauth_state = models.CharField(max_length=64, blank=True, editable=False)
    oauth_state_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    webhook_token = models.CharField(max_length=43, unique=True, default=secrets.token_urlsafe)

    # Per-resource change cursors ("products", "stock", "customers", ...), opaque to us.
    cursors = models.JSONField(default=dict, blank=True)

    poll_interval = models.DurationField(default=timedelta(minutes=30))
    sweep_interval = models.DurationField(default=timedelta(hours=4))
    sweep_size = models.PositiveIntegerField(default=100)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    next_sweep_at = models.DateTimeField(null=True, blank=True)
    # Budgets: the merchant's plan may allow fewer calls than the provider publishes.
    monthly_call_limit = models.PositiveIntegerField(null=True, blank=True)
    registers = models.PositiveSmallIntegerField(
        default=1, help_text="Lightspeed sizes its rate limit by register count."
    )

    sales_account_code = models.CharField(max_length=64, blank=True)
    payment_account_code = models.CharField(max_length=64, blank=True)
    payment_accounts = models.JSONField(
        default=dict, blank=True, help_text="Payment method -> remote account code."
    )
    tax_rate_map = models.JSONField(default=dict, blank=True, help_text="Local tax code -> remote.")
    cash_sale_contact_id = models.CharField(max_length=100, blank=True)
    create_cash_sale_contact = models.BooleanField(default=True)
    send_contact_details = models.BooleanField(default=False)
    posting_mode = models.CharField(max_length=20, choices=PostingMode.choices, default=PostingMode.DETAILED)
    visible_accounts = models.JSONField(default=list, blank=True)

    # The sweep counts changes the change feed should have reported; past a threshold staff look.
    feed_misses = models.PositiveIntegerField(default=0)
    feed_flagged_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_poll_at"], name="connection_due_poll"),
            models.Index(fields=["status", "next_sweep_at"], name="connection_due_sweep"),
        ]

    def __str__(self) -> str:
        org = f" ({self.remote_org_name})" if self.remote_org_name else ""
        return f"{self.tenant} · {self.spec.name}{org}"

    @property
    def spec(self):
        return get_provider(self.provider)

    def remote_tax_code(self, local: str) -> str:
        """The provider's tax code for one of ours, as the merchant mapped it (unmapped: as is)."""
        return self.tax_rate_map.get(local, local) if local else ""

    def provider_url(self, url: str) -> str:
        """A provider URL for this connection: the retailer's host filled in (Lightspeed), and
        pointed at the sandbox or emulator when `base_url` is set."""
        url = url.replace("{domain_prefix}", self.remote_org_id or "secure")
        return rebase_url(url, self.base_url)

    @property
    def api_base_url(self) -> str:
        return self.provider_url(self.spec.production_url).rstrip("/")

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Location(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="location_name_per_tenant")]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    # Indexed by sku_per_tenant, which leads with the tenant: an index of its own only slows imports.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="products", db_index=False)
    sku = models.CharField("SKU", max_length=100)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    sale_price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    purchase_price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    tax_code = models.CharField(max_length=50, blank=True)
    active = models.BooleanField(default=True)
    remote_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the source of truth last changed it."
    )
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "sku"], name="sku_per_tenant")]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class StockLevel(models.Model):
    # Indexed by stock_per_product_location, which leads with the product.
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="stock_levels", db_index=False
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="stock_levels")
    quantity = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    # The provider's change marker for the position (Lightspeed's inventory `version`): a webhook
    # payload is stored only when its marker is newer.
    remote_version = models.CharField(max_length=100, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "location"], name="stock_per_product_location")
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id}: {self.quantity}"


class Customer(models.Model):
    # Indexed by customer_tenant_email, which leads with the tenant.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="customers", db_index=False)
    name = models.CharField(max_length=255)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    account_number = models.CharField(max_length=50, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    billing_address = models.TextField(blank=True)
    shipping_address = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "email"], name="customer_tenant_email"),
            models.Index(fields=["tenant", "account_number"], name="customer_tenant_account"),
        ]

    def __str__(self) -> str:
        return self.name


class LinkMethod(models.TextChoices):
    MATCHED_CODE = "matched_code", "Matched by code"
    MATCHED_EMAIL = "matched_email", "Matched by email"
    MATCHED_ACCOUNT = "matched_account", "Matched by account number"
    IMPORTED = "imported", "Imported from provider"
    CREATED = "created", "Created by us"
    MANUAL = "manual", "Linked by hand"


class RemoteLink(models.Model):
    # Each link's unique constraints lead with the connection, so it needs no index of its own.
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, db_index=False)
    remote_id = models.CharField(max_length=100)
    remote_code = models.CharField(max_length=100, blank=True)
    remote_version = models.CharField(max_length=100, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=20, choices=LinkMethod.choices)
    linked_at = models.DateTimeField(default=timezone.now)
    last_confirmed_at = models.DateTimeField(default=timezone.now)
    remote_deleted = models.BooleanField(default=False)

    class Meta:
        abstract = True


class ProductLink(RemoteLink):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "product"], name="one_link_per_product"),
            models.UniqueConstraint(fields=["connection", "remote_id"], name="one_product_per_remote_id"),
        ]
        indexes = [
            models.Index(fields=["connection", "last_confirmed_at"], name="productlink_confirmed"),
            models.Index(fields=["connection", "remote_code"], name="productlink_code"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} -> {self.remote_id}"


class CustomerLink(RemoteLink):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "customer"], name="one_link_per_customer"),
            models.UniqueConstraint(fields=["connection", "remote_id"], name="one_customer_per_remote_id"),
        ]
        indexes = [
            models.Index(fields=["connection", "last_confirmed_at"], name="customerlink_confirmed"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} -> {self.remote_id}"


class SyncRun(models.Model):
    class Kind(models.TextChoices):
        PRODUCTS = "products", "Products"
        STOCK = "stock", "Stock"
        CUSTOMERS = "customers", "Customers"
        SWEEP = "sweep", "Sweep"
        SINGLE_PRODUCT = "single_product", "One product"
        INVOICES = "invoices", "Invoices"
        BACKFILL = "backfill", "Backfill"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual"
        WEBHOOK = "webhook", "Webhook"
        SALE = "sale", "Sale"
        API = "api", "API"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partly succeeded"
        FAILED = "failed", "Failed"
        DEFERRED = "deferred", "Deferred"
        SKIPPED = "skipped", "Skipped"
        STALLED = "stalled", "Stalled"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    cursor_before = models.CharField(max_length=200, blank=True)
    cursor_after = models.CharField(max_length=200, blank=True)
    error_summary = models.TextField(blank=True)
    record_errors = models.JSONField(default=list, blank=True)
    deferred_until = models.DateTimeField(null=True, blank=True)
    # A backfill's date range: what was asked for, not what the feeds' cursors say.
    range_start = models.DateTimeField(null=True, blank=True)
    range_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["connection", "kind", "-started_at"], name="run_latest"),
            models.Index(fields=["status", "heartbeat_at"], name="run_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} run #{self.pk} ({self.status})"

    @property
    def duration(self) -> timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None

    def summary(self) -> dict:
        return {
            "run": self.pk,
            "kind": self.kind,
            "status": self.status,
            "fetched": self.fetched,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "api_calls": self.api_calls,
        }


class SyncLease(models.Model):
    """One job of a kind per connection at a time, across every worker: taken by a conditional
    update, released when done, and free again once `expires_at` passes (a dead worker)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="leases")
    kind = models.CharField(max_length=20, choices=SyncRun.Kind.choices)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "kind"], name="one_lease_per_kind")]

    def __str__(self) -> str:
        return f"{self.kind} lease on {self.connection_id} held by {self.holder or 'nobody'}"


class ApiCall(models.Model):
    """One HTTP request to a provider: the log staff read. Pruned after API_CALL_RETENTION_DAYS."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="api_calls")
    run = models.ForeignKey(SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="calls")
    at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)
    purpose = models.CharField(max_length=30, blank=True)
    error = models.CharField(max_length=500, blank=True)
    rate_limit_headers = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["connection", "-at"], name="apicall_connection_at"),
            models.Index(fields=["at"], name="apicall_at"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


class ApiUsage(models.Model):
    """Calls per connection per hour: survives pruning of ApiCall, feeds the usage charts."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="usage")
    hour = models.DateTimeField()
    calls = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "hour"], name="usage_per_connection_hour")
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.hour:%Y-%m-%d %H}:00 {self.calls}"


class BudgetWindow(models.Model):
    """Calls spent in one budget window; spending is one conditional UPDATE (see connectors.budget)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="budget")
    kind = models.CharField(max_length=20)
    starts_at = models.DateTimeField()
    limit = models.PositiveIntegerField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "starts_at"], name="one_budget_row_per_window"
            ),
            models.CheckConstraint(condition=Q(used__lte=F("limit")), name="budget_not_overspent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} from {self.starts_at:%Y-%m-%d %H:%M}: {self.used}/{self.limit}"


class WebhookDelivery(models.Model):
    """One signed webhook delivery, stored before it is acted on. A provider that retries sends
    the same raw body again; its fingerprint (sha256 of the body) makes the replay a no-op."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="webhook_deliveries")
    fingerprint = models.CharField(max_length=64)
    received_at = models.DateTimeField(default=timezone.now)
    # The events we act on, as neutral dicts: resource, remote_id, action, event_id, occurred_at,
    # and record (the changed record's fields when the signed payload carries all we store).
    events = models.JSONField(default=list)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    run = models.ForeignKey(
        SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="webhook_deliveries"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "fingerprint"], name="one_delivery_per_body")
        ]
        indexes = [models.Index(fields=["connection", "-received_at"], name="webhook_latest")]

    def __str__(self) -> str:
        return f"Webhook {self.pk} for {self.connection_id} ({len(self.events)} events)"


class ApiKey(models.Model):
    """A key to the public API: a tenant's, acting for that company only, or the embedding
    platform's, issued by staff, which creates companies and reaches every one. Only a sha256 of
    the secret is kept; the short public prefix finds the row without scanning every hash."""

    class Scope(models.TextChoices):
        TENANT = "tenant", "Tenant"
        PLATFORM = "platform", "Platform"

    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.TENANT)
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        related_name="api_keys",
        null=True,
        blank=True,
        help_text="The company a tenant key acts for; empty for a platform key.",
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="tenant", tenant__isnull=False) | Q(scope="platform", tenant__isnull=True),
                name="api_key_tenant_iff_tenant_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def clean(self) -> None:
        if self.scope == self.Scope.TENANT and self.tenant_id is None:
            raise ValidationError({"tenant": "A tenant key needs its company."})
        if self.scope == self.Scope.PLATFORM and self.tenant_id is not None:
            raise ValidationError({"tenant": "A platform key belongs to no company: leave this empty."})

    @property
    def is_platform(self) -> bool:
        return self.scope == self.Scope.PLATFORM

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class WebhookEndpoint(models.Model):
    """Where an embedding platform wants to hear about one tenant's events, signed with a secret
    of its own (kept encrypted, like provider credentials)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # {"secret": "..."}: the key deliveries are signed with.
    signing = EncryptedJSONField(blank=True, default=dict, editable=False)
    event_types = models.JSONField(default=list, help_text="The event types this endpoint receives.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.tenant} → {self.url}"

    @property
    def secret(self) -> str:
        return self.signing.get("secret", "")


class EventDelivery(models.Model):
    """One event on its way to one endpoint: the exact payload, where delivery has got to, and
    (in `attempts`) every try."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        GIVEN_UP = "given_up", "Given up"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=36, db_index=True)
    event_type = models.CharField(max_length=50)
    payload = models.JSONField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Failed tries are retried with backoff until this moment, a day after the event (or a replay).
    retry_until = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "event deliveries"
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="event_delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="event_delivery_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.pk} to endpoint {self.endpoint_id} ({self.state})"


class EventDeliveryAttempt(models.Model):
    delivery = models.ForeignKey(EventDelivery, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"Attempt on delivery {self.delivery_id}: {self.status_code or self.error}"


class SyncFlowLink(models.Model):
    """A one-time link an embedding platform hands a merchant to connect the chosen providers
    for one tenant without an account of their own. Only a sha256 of its passcode is kept."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sync_flow_links")
    passcode_hash = models.CharField(max_length=64, unique=True, editable=False)
    providers = models.JSONField(default=list, help_text="The providers the merchant is asked to connect.")
    redirect_url = models.URLField(max_length=500, blank=True, help_text="Empty: the flow ends on its page.")
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Sync flow #{self.pk} for {self.tenant} ({', '.join(self.providers)})"
