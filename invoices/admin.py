"""Staff's view of sales and the outbox that carries them to providers.

Outbox entries and attempts are the record of what was sent: read-only here, changed only by the
posting services. Given-up entries have their own page, because those are the ones staff act on.
"""

from __future__ import annotations

from django.contrib import admin, messages

from invoices.models import GivenUpOutboxEntry, OutboxAttempt, OutboxEntry, Sale, SaleLine, SummarySale
from invoices.services.posting import OutboxEntryLocked, retry_outbox_entry
from syncing.admin import (
    BigTableAdmin,
    ConnectionFilter,
    ConnectionProviderFilter,
    ConnectionTenantFilter,
    ReadOnlyAdmin,
    ReadOnlyInline,
    TenantFilter,
    badge,
)

ENTRY_TONES = {
    OutboxEntry.State.POSTED: "good",
    OutboxEntry.State.PENDING: "wait",
    OutboxEntry.State.IN_FLIGHT: "wait",
    OutboxEntry.State.RETRYING: "wait",
    OutboxEntry.State.RATE_LIMITED: "wait",
    OutboxEntry.State.NEEDS_ATTENTION: "bad",
    OutboxEntry.State.GIVEN_UP: "bad",
    OutboxEntry.State.CANCELLED: "idle",
}


def state_badge(entry: OutboxEntry):
    return badge(entry.get_state_display(), ENTRY_TONES[entry.state])


class NeedsPersonFilter(admin.SimpleListFilter):
    title = "attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [
            ("yes", "Needs a person (attention or given up)"),
            ("unknown", "Outcome unknown (checking before a retry)"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(state__in=[OutboxEntry.State.NEEDS_ATTENTION, OutboxEntry.State.GIVEN_UP])
        if self.value() == "unknown":
            return queryset.filter(outcome_unknown=True)
        return queryset


class SaleLineInline(ReadOnlyInline):
    model = SaleLine
    fields = ["product", "description", "quantity", "unit_price", "tax_code", "tax_amount", "discount_rate"]
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


class OutboxEntryInline(ReadOnlyInline):
    model = OutboxEntry
    fields = ["kind", "connection", "state", "attempts", "next_attempt_at", "remote_number", "last_error"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sale", "connection__tenant")


class SummarySaleInline(ReadOnlyInline):
    """The sales a daily summary carries (and, from a sale, the summaries it is counted in)."""

    model = SummarySale
    fields = ["sale", "connection"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sale", "connection__tenant")


class SummaryOfSaleInline(SummarySaleInline):
    fk_name = "sale"
    fields = ["entry", "connection"]


class OutboxAttemptInline(ReadOnlyInline):
    model = OutboxAttempt
    fields = ["at", "outcome", "message"]
    show_change_link = False


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    list_display = ["number", "tenant", "sold_at", "customer", "total", "currency", "paid", "refund_of"]
    list_select_related = ["tenant", "customer", "refund_of"]
    list_filter = [TenantFilter, "paid", "currency"]
    search_fields = ["number", "customer__email", "customer__account_number", "outbox_entries__remote_id"]
    date_hierarchy = "sold_at"
    raw_id_fields = ["tenant", "customer", "refund_of"]
    inlines = [SaleLineInline, OutboxEntryInline, SummaryOfSaleInline]


@admin.register(SaleLine)
class SaleLineAdmin(admin.ModelAdmin):
    list_display = ["sale", "product", "quantity", "unit_price", "tax_code", "tax_amount"]
    list_select_related = ["sale", "product"]
    list_filter = [("sale__tenant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["sale__number", "product__sku"]
    raw_id_fields = ["sale", "product"]


class OutboxEntryAdminBase(ReadOnlyAdmin):
    # The label of a payment names its document, so that comes along in the same query.
    list_select_related = ["sale", "depends_on__sale", "connection__tenant"]
    # A sale number also finds the daily summary the sale is counted in.
    search_fields = [
        "sale__number",
        "summary_sales__sale__number",
        "remote_id",
        "remote_number",
        "idempotency_key",
    ]
    date_hierarchy = "created_at"
    inlines = [SummarySaleInline, OutboxAttemptInline]

    @admin.display(description="document")
    def label(self, obj):
        return obj.label

    actions = ["retry_selected_entries"]

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj):
        return state_badge(obj)

    def has_retry_permission(self, request) -> bool:
        # The entries are read-only here, but staff who may change outbox entries may re-queue them.
        return request.user.has_perm("invoices.change_outboxentry")

    @admin.action(description="Retry selected entries", permissions=["retry"])
    def retry_selected_entries(self, request, queryset):
        retried, refused = 0, []
        for entry in queryset.select_related("sale"):
            try:
                retry_outbox_entry(entry)
            except OutboxEntryLocked as exc:
                refused.append(str(exc))
            else:
                retried += 1
        if retried:
            self.message_user(request, f"{retried} entry(ies) will be posted again at the next run.")
        if refused:
            self.message_user(request, f"Not retried: {' '.join(refused)}", messages.WARNING)


@admin.register(OutboxEntry)
class OutboxEntryAdmin(OutboxEntryAdminBase, BigTableAdmin):
    list_display = [
        "label",
        "kind",
        "connection",
        "state_badge",
        "attempts",
        "next_attempt_at",
        "outcome_unknown",
        "remote_number",
        "posted_at",
    ]
    list_filter = [
        NeedsPersonFilter,
        "state",
        "kind",
        ConnectionProviderFilter,
        ConnectionTenantFilter,
        ConnectionFilter,
    ]


@admin.register(GivenUpOutboxEntry)
class GivenUpOutboxEntryAdmin(OutboxEntryAdminBase):
    list_display = ["label", "connection", "attempts", "last_error", "given_up_emailed_at", "created_at"]
    list_filter = [ConnectionProviderFilter, ConnectionTenantFilter, ConnectionFilter]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(state=OutboxEntry.State.GIVEN_UP)


@admin.register(OutboxAttempt)
class OutboxAttemptAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = ["entry", "at", "outcome", "message"]
    list_select_related = ["entry__sale", "entry__depends_on__sale"]
    list_filter = ["outcome"]
    search_fields = ["entry__sale__number", "message"]
    date_hierarchy = "at"


@admin.register(SummarySale)
class SummarySaleAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = ["sale", "entry", "connection"]
    list_select_related = ["sale", "entry", "connection__tenant"]
    list_filter = [ConnectionTenantFilter, ConnectionFilter]
    search_fields = ["sale__number"]
