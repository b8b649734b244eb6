"""Staff's view of tenants, connections, the local catalogue and the sync history.

History (runs, API calls, usage, budgets, leases) is read-only: it records what happened. The big
tables (ApiCall, ApiUsage, SyncRun) never run COUNT(*) over the whole table: the paginator counts
at most a few thousand rows and the full-count line is switched off.
"""

from __future__ import annotations

from functools import cached_property

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import BooleanField, ExpressionWrapper, Q, URLField
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from connectors.registry import provider_choices
from syncing.forms import TEXT_FIELDS, ConnectionAdminForm, TenantAdminForm
from syncing.freshness import connection_freshness
from syncing.models import (
    ApiCall,
    ApiKey,
    ApiUsage,
    BudgetWindow,
    Connection,
    Customer,
    CustomerLink,
    EventDelivery,
    EventDeliveryAttempt,
    Location,
    Membership,
    Product,
    ProductLink,
    StockLevel,
    SyncFlowLink,
    SyncLease,
    SyncRun,
    Tenant,
    WebhookDelivery,
    WebhookEndpoint,
)
from syncing.services import connections as connection_services
from syncing.services import outbound
from syncing.services.api_keys import create_api_key, create_platform_key, revoke_api_key
from syncing.services.products import sync_product

# Colours for status badges: green is fine, amber waits, red needs a person, grey is inert.
TONES = {"good": "#1a7f37", "wait": "#9a6700", "bad": "#cf222e", "idle": "#6e7781"}

CONNECTION_TONES = {
    Connection.Status.ACTIVE: "good",
    Connection.Status.PENDING: "wait",
    Connection.Status.NEEDS_REAUTH: "bad",
    Connection.Status.DISABLED: "idle",
}
RUN_TONES = {
    SyncRun.Status.SUCCEEDED: "good",
    SyncRun.Status.RUNNING: "wait",
    SyncRun.Status.DEFERRED: "wait",
    SyncRun.Status.PARTIAL: "wait",
    SyncRun.Status.SKIPPED: "idle",
    SyncRun.Status.FAILED: "bad",
    SyncRun.Status.STALLED: "bad",
}


def badge(label: str, tone: str):
    return format_html(
        '<span style="display:inline-block;padding:1px 8px;border-radius:9px;color:#fff;'
        'background:{};white-space:nowrap">{}</span>',
        TONES[tone],
        label,
    )


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows (a bounded subquery) instead of the whole table: past that, staff
    narrow the list with the date drill-down and filters."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP].count()


class BigTableAdmin(admin.ModelAdmin):
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 100


class ReadOnlyAdmin(admin.ModelAdmin):
    """History staff read but never edit, add or delete (deleting is pruning's job)."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields or [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# Filters, in the words staff use -----------------------------------------------------------------


class TenantFilter(admin.SimpleListFilter):
    title = "merchant"
    parameter_name = "tenant"
    tenant_path = "tenant"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in Tenant.objects.order_by("name").values_list("pk", "name")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{f"{self.tenant_path}_id": self.value()})
        return queryset


class ConnectionTenantFilter(TenantFilter):
    tenant_path = "connection__tenant"


class ConnectionFilter(admin.SimpleListFilter):
    title = "connection"
    parameter_name = "connection"
    connection_path = "connection"

    def lookups(self, request, model_admin):
        return [
            (str(c.pk), str(c)) for c in Connection.objects.select_related("tenant").order_by("tenant__name")
        ]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{f"{self.connection_path}_id": self.value()})
        return queryset


class ProviderFilter(admin.SimpleListFilter):
    title = "provider"
    parameter_name = "provider"
    provider_path = "provider"

    def lookups(self, request, model_admin):
        return provider_choices()

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.provider_path: self.value()})
        return queryset


class ConnectionProviderFilter(ProviderFilter):
    provider_path = "connection__provider"


class NeedsReauthFilter(admin.SimpleListFilter):
    title = "needs reauthorisation"
    parameter_name = "needs_reauth"

    def lookups(self, request, model_admin):
        return [("yes", "Needs reauthorisation"), ("no", "Connected or pending")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=Connection.Status.NEEDS_REAUTH)
        if self.value() == "no":
            return queryset.exclude(status=Connection.Status.NEEDS_REAUTH)
        return queryset


class FeedMissesFilter(admin.SimpleListFilter):
    title = "change feed"
    parameter_name = "feed"

    def lookups(self, request, model_admin):
        return [("flagged", "Misses changes (flagged by the sweep)")]

    def queryset(self, request, queryset):
        if self.value() == "flagged":
            return queryset.filter(feed_flagged_at__isnull=False)
        return queryset


class RunErrorsFilter(admin.SimpleListFilter):
    title = "errors"
    parameter_name = "errors"

    def lookups(self, request, model_admin):
        return [("yes", "Has errors"), ("no", "No errors")]

    def queryset(self, request, queryset):
        has_errors = Q(status=SyncRun.Status.FAILED) | Q(failed__gt=0) | ~Q(error_summary="")
        if self.value() == "yes":
            return queryset.filter(has_errors)
        if self.value() == "no":
            return queryset.exclude(has_errors)
        return queryset


class CallErrorsFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [("failed", "Has errors"), ("rate_limited", "Rate limited (429)"), ("ok", "Succeeded")]

    def queryset(self, request, queryset):
        failed = Q(status__isnull=True) | Q(status__gte=400)
        if self.value() == "failed":
            return queryset.filter(failed)
        if self.value() == "rate_limited":
            return queryset.filter(status=429)
        if self.value() == "ok":
            return queryset.exclude(failed)
        return queryset


class LinkedFilter(admin.SimpleListFilter):
    title = "links"
    parameter_name = "linked"

    def lookups(self, request, model_admin):
        return [("yes", "Linked to a provider"), ("no", "Not linked anywhere")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(links__isnull=False).distinct()
        if self.value() == "no":
            return queryset.filter(links__isnull=True)
        return queryset


class RemoteDeletedFilter(admin.SimpleListFilter):
    title = "at the provider"
    parameter_name = "remote"

    def lookups(self, request, model_admin):
        return [("deleted", "Deleted or archived there"), ("present", "Still there")]

    def queryset(self, request, queryset):
        if self.value() == "deleted":
            return queryset.filter(remote_deleted=True)
        if self.value() == "present":
            return queryset.filter(remote_deleted=False)
        return queryset


# Tenants and connections ----------------------------------------------------------------------


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


class ConnectionInline(ReadOnlyInline):
    model = Connection
    fields = ["provider", "status", "remote_org_name", "next_poll_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tenant").defer("credentials")


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "plan", "monthly_call_allowance", "created_at"]
    list_filter = ["plan"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline, ConnectionInline]
    form = TenantAdminForm
    fieldsets = [
        (None, {"fields": ["name", "slug", "timezone", "plan", "monthly_call_allowance"]}),
        (
            "Sync flow texts",
            {
                "fields": TEXT_FIELDS,
                "classes": ["collapse"],
                "description": "Buttons and help the merchant sees while connecting and syncing. "
                "Leave a box empty for the default; {provider} stands for the provider's name.",
            },
        ),
    ]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_select_related = ["user", "tenant"]
    list_filter = [TenantFilter, "role"]
    search_fields = ["user__username", "user__email", "tenant__name"]
    raw_id_fields = ["user", "tenant"]


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionAdminForm
    formfield_overrides = {URLField: {"assume_scheme": "https"}}
    list_display = [
        "__str__",
        "provider",
        "status_badge",
        "credentials_present",
        "token_expires_at",
        "next_poll_at",
        "feed_misses",
    ]
    list_select_related = ["tenant"]
    list_filter = [TenantFilter, ProviderFilter, NeedsReauthFilter, "status", FeedMissesFilter]
    search_fields = ["tenant__name", "tenant__slug", "remote_org_id", "remote_org_name"]
    raw_id_fields = ["tenant"]
    readonly_fields = [
        "credentials_present",
        "freshness",
        "token_expires_at",
        "status_reason",
        "webhook_token",
        "cursors",
        "feed_misses",
        "feed_flagged_at",
        "created_at",
        "updated_at",
    ]
    actions = ["mark_reconnect_needed"]

    def get_queryset(self, request):
        # Credentials are never loaded here: the list shows only whether any are stored, and a
        # form save then writes only loaded fields, so it cannot overwrite a token refreshed
        # meanwhile (nor the OAuth state or the refresh claim).
        return (
            super()
            .get_queryset(request)
            .defer("credentials", "oauth_state", "oauth_state_expires_at", "refresh_claimed_until")
            .annotate(has_credentials=ExpressionWrapper(~Q(credentials=""), output_field=BooleanField()))
        )

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.get_status_display(), CONNECTION_TONES[obj.status])

    @admin.display(description="credentials stored", boolean=True)
    def credentials_present(self, obj) -> bool:
        return bool(getattr(obj, "has_credentials", False))

    @admin.display(description="freshness")
    def freshness(self, obj):
        """What the merchant's overview says of it: the promise, the last pulls' lag, and whether
        the plan has slowed polls or batched sales."""
        if obj is None or obj.pk is None:
            return "-"
        context = {"freshness": connection_freshness(obj, now=timezone.now()), "provider": obj.spec.name}
        return render_to_string("dashboard/_freshness.html", context)

    @admin.action(description="Mark reconnect needed")
    def mark_reconnect_needed(self, request, queryset):
        reason = f"Staff ({request.user.get_username()}) asked for the connection to be reauthorised."
        marked = sum(
            connection_services.mark_needs_reauth(connection, reason=reason) for connection in queryset
        )
        skipped = len(queryset) - marked
        message = f"{marked} connection(s) marked as needing reconnection."
        if skipped:
            message += f" {skipped} already needed it or are disabled."
        self.message_user(request, message, messages.SUCCESS if marked else messages.WARNING)


# The local catalogue -------------------------------------------------------------------------


class ProductLinkInline(ReadOnlyInline):
    model = ProductLink
    fk_name = "product"
    fields = ["connection", "remote_id", "remote_code", "method", "last_confirmed_at", "remote_deleted"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("connection__tenant")


class StockLevelInline(ReadOnlyInline):
    model = StockLevel
    fields = ["location", "quantity", "remote_updated_at", "synced_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location")


class CustomerLinkInline(ReadOnlyInline):
    model = CustomerLink
    fk_name = "customer"
    fields = ["connection", "remote_id", "remote_code", "method", "last_confirmed_at", "remote_deleted"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("connection__tenant")


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "tenant"]
    list_select_related = ["tenant"]
    list_filter = [TenantFilter]
    search_fields = ["name", "code"]
    raw_id_fields = ["tenant"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "tenant", "sale_price", "active", "remote_updated_at", "synced_at"]
    list_select_related = ["tenant"]
    list_filter = [TenantFilter, LinkedFilter, "active"]
    search_fields = ["sku", "name", "links__remote_id"]
    raw_id_fields = ["tenant"]
    inlines = [ProductLinkInline, StockLevelInline]
    actions = ["sync_now"]
    change_form_template = "admin/syncing/product/change_form.html"
    # One product costs about two calls per connection; more than this is a job for a full pull.
    SYNC_NOW_LIMIT = 25

    def get_urls(self):
        sync_view = self.admin_site.admin_view(self.sync_one_view)
        return [
            path("<int:object_id>/sync/", sync_view, name="syncing_product_sync"),
            *super().get_urls(),
        ]

    @admin.action(description="Sync now from the connected systems")
    def sync_now(self, request, queryset):
        products = list(queryset.select_related("tenant")[: self.SYNC_NOW_LIMIT + 1])
        if len(products) > self.SYNC_NOW_LIMIT:
            self.message_user(
                request,
                f"Select at most {self.SYNC_NOW_LIMIT} products; a full pull is cheaper for more.",
                messages.WARNING,
            )
            return
        for product in products:
            self._sync_and_report(request, product)

    def sync_one_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        product = self.get_object(request, str(object_id))
        if product is None or not self.has_change_permission(request, product):
            raise Http404
        self._sync_and_report(request, product)
        return redirect("admin:syncing_product_change", object_id)

    def _sync_and_report(self, request, product) -> None:
        try:
            run = sync_product(product=product, trigger=SyncRun.Trigger.MANUAL)
        except Connection.DoesNotExist as exc:
            self.message_user(request, f"{product.sku}: {exc}", messages.WARNING)
            return
        level = messages.SUCCESS if run.status == SyncRun.Status.SUCCEEDED else messages.WARNING
        detail = run.error_summary or "; ".join(e.get("message", "") for e in run.record_errors)
        self.message_user(
            request,
            f"{product.sku}: {run.get_status_display().lower()} in {run.api_calls} calls. {detail}".strip(),
            level,
        )


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    list_display = ["product", "location", "quantity", "remote_updated_at", "synced_at"]
    list_select_related = ["product", "location"]
    list_filter = [("product__tenant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["product__sku", "location__name"]
    raw_id_fields = ["product", "location"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "account_number", "tenant", "created_at"]
    list_select_related = ["tenant"]
    list_filter = [TenantFilter, LinkedFilter]
    search_fields = ["name", "email", "account_number", "links__remote_id"]
    raw_id_fields = ["tenant"]
    inlines = [CustomerLinkInline]


class LinkAdmin(admin.ModelAdmin):
    list_filter = [ConnectionFilter, ConnectionProviderFilter, "method", RemoteDeletedFilter]
    raw_id_fields = ["connection"]

    @admin.display(description="at the provider", ordering="remote_deleted")
    def remote_state(self, obj):
        return badge("Deleted", "bad") if obj.remote_deleted else badge("Present", "good")


@admin.register(ProductLink)
class ProductLinkAdmin(LinkAdmin):
    list_display = [
        "product",
        "connection",
        "remote_id",
        "remote_code",
        "method",
        "last_confirmed_at",
        "remote_state",
    ]
    list_select_related = ["product", "connection__tenant"]
    search_fields = ["remote_id", "remote_code", "product__sku"]
    raw_id_fields = ["connection", "product"]


@admin.register(CustomerLink)
class CustomerLinkAdmin(LinkAdmin):
    list_display = ["customer", "connection", "remote_id", "method", "last_confirmed_at", "remote_state"]
    list_select_related = ["customer", "connection__tenant"]
    search_fields = ["remote_id", "remote_code", "customer__email", "customer__account_number"]
    raw_id_fields = ["connection", "customer"]


# History ---------------------------------------------------------------------------------------


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = [
        "__str__",
        "connection",
        "kind",
        "trigger",
        "status_badge",
        "started_at",
        "duration",
        "fetched",
        "created",
        "updated",
        "failed",
        "api_calls",
    ]
    list_select_related = ["connection__tenant"]
    list_filter = [
        RunErrorsFilter,
        "status",
        "kind",
        "trigger",
        ConnectionTenantFilter,
        ConnectionProviderFilter,
        ConnectionFilter,
    ]
    date_hierarchy = "started_at"
    search_fields = ["error_summary"]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.get_status_display(), RUN_TONES[obj.status])


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = [
        "at",
        "connection",
        "method",
        "path",
        "status_badge",
        "duration_ms",
        "attempt",
        "purpose",
        "run",
    ]
    list_select_related = ["connection__tenant", "run"]
    list_filter = [CallErrorsFilter, ConnectionProviderFilter, ConnectionTenantFilter, ConnectionFilter]
    date_hierarchy = "at"
    search_fields = ["path", "error", "purpose"]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        if obj.status is None:
            return badge("No answer", "bad")
        tone = "good" if obj.status < 400 else "wait" if obj.status == 429 else "bad"
        return badge(str(obj.status), tone)


@admin.register(ApiUsage)
class ApiUsageAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = ["hour", "connection", "calls", "errors"]
    list_select_related = ["connection__tenant"]
    list_filter = [ConnectionProviderFilter, ConnectionTenantFilter, ConnectionFilter]
    date_hierarchy = "hour"


@admin.register(BudgetWindow)
class BudgetWindowAdmin(ReadOnlyAdmin):
    list_display = ["connection", "kind", "starts_at", "used", "limit"]
    list_select_related = ["connection__tenant"]
    list_filter = ["kind", ConnectionFilter]


@admin.register(SyncLease)
class SyncLeaseAdmin(ReadOnlyAdmin):
    list_display = ["connection", "kind", "holder", "expires_at"]
    list_select_related = ["connection__tenant"]
    list_filter = ["kind", ConnectionFilter]


class ProcessedFilter(admin.SimpleListFilter):
    title = "processing"
    parameter_name = "processed"

    def lookups(self, request, model_admin):
        return [("no", "Not processed yet"), ("yes", "Processed")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(processed_at__isnull=self.value() == "no")
        return queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = ["received_at", "connection", "event_count", "processed_at", "outcome", "run"]
    list_select_related = ["connection__tenant", "run"]
    list_filter = [ProcessedFilter, ConnectionProviderFilter, ConnectionTenantFilter, ConnectionFilter]
    date_hierarchy = "received_at"
    search_fields = ["fingerprint", "outcome"]

    @admin.display(description="events")
    def event_count(self, obj) -> int:
        return len(obj.events)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys to the public API: a company's (tenant scope) or the embedding platform's (platform
    scope, no company: creates companies and reaches every one). The secret is shown once, when
    the key is created; only its hash is stored, so a lost key is revoked and replaced, never
    recovered."""

    list_display = ["name", "scope", "tenant", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["tenant"]
    list_filter = ["scope", TenantFilter]
    search_fields = ["name", "prefix", "tenant__name"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        issued = ["scope", "tenant", "name"]
        return issued if obj is None else [*issued, *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is None else ["scope", "tenant", *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        if obj.is_platform:
            key, plaintext = create_platform_key(name=obj.name)
        else:
            key, plaintext = create_api_key(tenant=obj.tenant, name=obj.name)
        obj.pk = key.pk
        obj.refresh_from_db()
        self.message_user(
            request, f"The new key is {plaintext} . Copy it now: it is not shown again.", messages.WARNING
        )

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            revoke_api_key(key=key)
        self.message_user(request, "Revoked.", messages.SUCCESS)


# Webhooks out -----------------------------------------------------------------------------------
DELIVERY_TONES = {
    EventDelivery.State.DELIVERED: "good",
    EventDelivery.State.PENDING: "wait",
    EventDelivery.State.GIVEN_UP: "bad",
}


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """An embedding platform's receivers. The signing secret is shown once, when the endpoint is
    created here or through the API."""

    list_display = ["url", "tenant", "active", "created_at"]
    list_select_related = ["tenant"]
    list_filter = [TenantFilter, "active"]
    search_fields = ["url", "description", "tenant__name"]
    fields = ["tenant", "url", "description", "event_types", "active"]
    formfield_overrides = {URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["tenant"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        endpoint, secret = outbound.create_endpoint(
            tenant=obj.tenant,
            url=obj.url,
            event_types=obj.event_types,
            description=obj.description,
            active=obj.active,
        )
        obj.pk = endpoint.pk
        obj.refresh_from_db()
        self.message_user(
            request, f"The signing secret is {secret} . Copy it now: it is not shown again.", messages.WARNING
        )


class EventDeliveryAttemptInline(ReadOnlyInline):
    model = EventDeliveryAttempt
    fields = ["at", "status_code", "duration_ms", "error", "response_excerpt"]
    show_change_link = False


@admin.register(EventDelivery)
class EventDeliveryAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = ["created_at", "event_type", "endpoint", "state_badge", "attempt_count", "next_attempt_at"]
    list_select_related = ["endpoint__tenant"]
    list_filter = ["state", "event_type"]
    date_hierarchy = "created_at"
    search_fields = ["event_id", "endpoint__url"]
    inlines = [EventDeliveryAttemptInline]
    actions = ["replay"]

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj):
        return badge(obj.get_state_display(), DELIVERY_TONES[obj.state])

    @admin.action(description="Replay the selected deliveries")
    def replay(self, request, queryset):
        for delivery in queryset:
            outbound.replay(delivery)
        self.message_user(request, f"Queued {len(queryset)} again.", messages.SUCCESS)


@admin.register(EventDeliveryAttempt)
class EventDeliveryAttemptAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = ["at", "delivery", "status_code", "duration_ms", "error"]
    list_select_related = ["delivery"]
    date_hierarchy = "at"


@admin.register(SyncFlowLink)
class SyncFlowLinkAdmin(ReadOnlyAdmin):
    """Sync-flow links issued through the API; the passcode itself is never stored."""

    list_display = ["created_at", "tenant", "providers", "expires_at", "opened_at", "outcome"]
    list_select_related = ["tenant"]
    list_filter = [TenantFilter, "outcome"]
