"""The staff admin: every page renders, list pages cost the same few queries however many rows
they show, credentials never reach the HTML, and actions go through the services."""

from __future__ import annotations

import factory
import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from invoices.models import GivenUpOutboxEntry, OutboxAttempt, OutboxEntry, Sale, SaleLine, SummarySale
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
from syncing.services import outbound, sync_flow
from syncing.services.api_keys import create_api_key
from tests import factories

pytestmark = pytest.mark.django_db

SECRET_TOKENS = {"access_token": "admin-must-not-show-this-access", "refresh_token": "nor-this-refresh"}


def member(tenant):
    # An unusable password: hashing a real one per row would make these tests slow.
    return factories.MembershipFactory(tenant=tenant, user__password=factory.Transformer.Force("!"))


def full_sale(connection):
    sale = factories.SaleFactory(
        tenant=connection.tenant, customer=factories.CustomerFactory(tenant=connection.tenant)
    )
    factories.SaleLineFactory(sale=sale)
    factories.OutboxEntryFactory(sale=sale, connection=connection)
    return sale


def full_product(connection):
    product = factories.ProductLinkFactory(connection=connection).product
    factories.StockLevelFactory(product=product)
    return product


def given_up_entry(connection):
    entry = factories.OutboxEntryFactory(
        sale__tenant=connection.tenant, connection=connection, state=OutboxEntry.State.GIVEN_UP
    )
    factories.OutboxAttemptFactory(entry=entry)
    return entry


def webhook_delivery(connection):
    endpoint, _ = outbound.create_endpoint(
        tenant=connection.tenant, url="https://platform.example/hooks", event_types=["sync.completed"]
    )
    deliveries = outbound.emit_event(connection.tenant, "sync.completed", {"run": 1})
    return next(delivery for delivery in deliveries if delivery.endpoint_id == endpoint.pk)


# One row of each registered model, with the relations its pages show; `connection` is shared
# so rows hang off one tenant the way they do in use.
BUILDERS = {
    ApiKey: lambda c: create_api_key(tenant=c.tenant, name="till")[0],
    Tenant: lambda c: member(factories.TenantFactory()).tenant,
    Membership: lambda c: member(c.tenant),
    Connection: lambda c: factories.ConnectionFactory(credentials=SECRET_TOKENS),
    Location: lambda c: factories.LocationFactory(tenant=c.tenant),
    Product: full_product,
    StockLevel: lambda c: factories.StockLevelFactory(product__tenant=c.tenant),
    Customer: lambda c: factories.CustomerLinkFactory(connection=c).customer,
    ProductLink: lambda c: factories.ProductLinkFactory(connection=c),
    CustomerLink: lambda c: factories.CustomerLinkFactory(connection=c),
    SyncRun: lambda c: factories.SyncRunFactory(connection=c, status=SyncRun.Status.FAILED, failed=2),
    SyncLease: lambda c: factories.SyncLeaseFactory(connection__tenant=c.tenant),
    ApiCall: lambda c: factories.ApiCallFactory(connection=c, run=factories.SyncRunFactory(connection=c)),
    ApiUsage: lambda c: factories.ApiUsageFactory(connection=c),
    BudgetWindow: lambda c: factories.BudgetWindowFactory(connection=c),
    WebhookDelivery: lambda c: factories.WebhookDeliveryFactory(
        connection=c, run=factories.SyncRunFactory(connection=c)
    ),
    WebhookEndpoint: lambda c: webhook_delivery(c).endpoint,
    EventDelivery: lambda c: webhook_delivery(c),
    EventDeliveryAttempt: lambda c: EventDeliveryAttempt.objects.create(
        delivery=webhook_delivery(c), status_code=500
    ),
    SyncFlowLink: lambda c: sync_flow.create_link(
        tenant=c.tenant, commerce=None, accounting="xero", redirect_url="https://platform.example/"
    )[0],
    Sale: full_sale,
    SaleLine: lambda c: factories.SaleLineFactory(sale__tenant=c.tenant),
    OutboxEntry: lambda c: factories.OutboxEntryFactory(sale__tenant=c.tenant, connection=c),
    GivenUpOutboxEntry: given_up_entry,
    OutboxAttempt: lambda c: factories.OutboxAttemptFactory(
        entry__sale__tenant=c.tenant, entry__connection=c
    ),
    SummarySale: lambda c: SummarySale.objects.create(
        entry=factories.OutboxEntryFactory(
            kind=OutboxEntry.Kind.DAILY_SUMMARY,
            sale=None,
            business_day="2026-11-20",
            sequence=SummarySale.objects.count() + 1,
            connection=c,
        ),
        sale=factories.SaleFactory(tenant=c.tenant),
        connection=c,
    ),
}
MODELS = list(BUILDERS)


@pytest.fixture
def staff_client(client):
    user = factories.UserFactory(
        username="staffer", is_staff=True, is_superuser=True, password=factory.Transformer.Force("!")
    )
    client.force_login(user)
    return client


@pytest.fixture
def connection():
    return factories.ConnectionFactory(credentials=SECRET_TOKENS)


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change_url(model, pk) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])


def test_every_model_of_ours_has_an_admin():
    ours = {m for app in ("syncing", "invoices") for m in apps.get_app_config(app).get_models()}
    registered = {m for m in admin.site._registry if m._meta.app_label in ("syncing", "invoices")}
    assert ours == registered == set(BUILDERS)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_page_render(staff_client, connection, model):
    row = BUILDERS[model](connection)
    listing = staff_client.get(changelist_url(model))
    assert listing.status_code == 200
    assert listing.context["cl"].result_count >= 1
    page = staff_client.get(change_url(model, row.pk))
    assert page.status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_queries_do_not_grow_with_rows(staff_client, connection, model):
    for _ in range(3):
        BUILDERS[model](connection)
    url = changelist_url(model)
    staff_client.get(url)
    with CaptureQueriesContext(db) as few:
        assert staff_client.get(url).status_code == 200
    for _ in range(30):
        BUILDERS[model](connection)
    with CaptureQueriesContext(db) as many:
        response = staff_client.get(url)
    assert len(response.context["cl"].result_list) >= 33
    assert len(many) == len(few), [q["sql"] for q in many]


@pytest.mark.parametrize("model", [ApiCall, ApiUsage, SyncRun], ids=lambda m: m.__name__)
def test_big_tables_are_never_counted_in_full(staff_client, connection, model):
    BUILDERS[model](connection)
    with CaptureQueriesContext(db) as queries:
        staff_client.get(changelist_url(model))
    table = model._meta.db_table
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and table in q["sql"]]
    assert counts, "the capped count should still run"
    assert all("LIMIT" in sql.upper() for sql in counts), counts


def test_credentials_never_reach_the_admin_html(staff_client, connection):
    pages = [
        changelist_url(Connection),
        change_url(Connection, connection.pk),
        change_url(Tenant, connection.tenant_id),
        reverse("admin:syncing_connection_delete", args=[connection.pk]),
    ]
    with db.cursor() as cursor:
        cursor.execute(f"SELECT credentials FROM {Connection._meta.db_table} WHERE id = %s", [connection.pk])
        ciphertext = cursor.fetchone()[0]
    for url in pages:
        html = staff_client.get(url).content.decode()
        for secret in (*SECRET_TOKENS.values(), ciphertext):
            assert secret not in html, url


def test_the_connection_list_says_whether_credentials_are_stored(staff_client, connection):
    empty = factories.ConnectionFactory(tenant=connection.tenant, provider="vend", credentials={})
    rows = {c.pk: c for c in staff_client.get(changelist_url(Connection)).context["cl"].result_list}
    assert rows[connection.pk].has_credentials is True
    assert rows[empty.pk].has_credentials is False


def test_the_connection_page_states_its_freshness_promise(staff_client, connection):
    connection.tenant.monthly_call_allowance = 10**9
    connection.tenant.save()

    html = staff_client.get(change_url(Connection, connection.pk)).content.decode()

    # A poll every 30 minutes, plus the minute a poll is taken to last until one has run.
    assert "Changes in Xero show here within 31\xa0minutes." in html


def test_saving_a_connection_in_the_admin_keeps_its_tokens(staff_client, connection):
    form = staff_client.get(change_url(Connection, connection.pk)).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is True:
            data[name] = "on"
        elif value not in (None, False):
            data[name] = value
    data["remote_org_name"] = "Renamed by staff"
    response = staff_client.post(change_url(Connection, connection.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    saved = Connection.objects.get(pk=connection.pk)
    assert saved.remote_org_name == "Renamed by staff"
    assert saved.credentials == SECRET_TOKENS


def test_mark_reconnect_needed_stops_the_selected_connections(staff_client, connection):
    untouched = factories.ConnectionFactory(tenant=connection.tenant, provider="vend")
    response = staff_client.post(
        changelist_url(Connection),
        {"action": "mark_reconnect_needed", "_selected_action": [connection.pk]},
        follow=True,
    )
    connection.refresh_from_db()
    untouched.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert "staffer" in connection.status_reason
    assert untouched.status == Connection.Status.ACTIVE
    assert "1 connection(s) marked as needing reconnection." in response.content.decode()


def test_needs_reauthorisation_filter_lists_only_those(staff_client, connection):
    lapsed = factories.ConnectionFactory(status=Connection.Status.NEEDS_REAUTH)
    response = staff_client.get(changelist_url(Connection), {"needs_reauth": "yes"})
    assert [c.pk for c in response.context["cl"].result_list] == [lapsed.pk]


def test_has_errors_filter_lists_only_failed_runs(staff_client, connection):
    failed = factories.SyncRunFactory(connection=connection, status=SyncRun.Status.FAILED)
    factories.SyncRunFactory(connection=connection, status=SyncRun.Status.SUCCEEDED)
    response = staff_client.get(changelist_url(SyncRun), {"errors": "yes"})
    assert [r.pk for r in response.context["cl"].result_list] == [failed.pk]


def test_given_up_page_lists_only_given_up_entries(staff_client, connection):
    given_up = given_up_entry(connection)
    factories.OutboxEntryFactory(sale__tenant=connection.tenant, connection=connection)
    response = staff_client.get(changelist_url(GivenUpOutboxEntry))
    assert [e.pk for e in response.context["cl"].result_list] == [given_up.pk]


def test_products_can_be_found_by_remote_id(staff_client, connection):
    link = factories.ProductLinkFactory(connection=connection, remote_id="XERO-ITEM-42")
    factories.ProductLinkFactory(connection=connection)
    response = staff_client.get(changelist_url(Product), {"q": "XERO-ITEM-42"})
    assert [p.pk for p in response.context["cl"].result_list] == [link.product_id]


def test_history_cannot_be_edited(staff_client, connection):
    run = factories.SyncRunFactory(connection=connection)
    response = staff_client.post(change_url(SyncRun, run.pk), {"status": SyncRun.Status.SUCCEEDED})
    run.refresh_from_db()
    assert response.status_code == 403
    assert run.status == SyncRun.Status.RUNNING


def test_retrying_a_given_up_entry_puts_it_back_in_the_queue(staff_client, connection):
    entry = given_up_entry(connection)
    response = staff_client.post(
        changelist_url(GivenUpOutboxEntry),
        {"action": "retry_selected_entries", "_selected_action": [entry.pk]},
        follow=True,
    )
    entry.refresh_from_db()
    assert (entry.state, entry.attempts) == (OutboxEntry.State.PENDING, 0)
    assert "1 entry(ies) will be posted again at the next run." in response.content.decode()


def test_a_posted_entry_is_not_retried(staff_client, connection):
    entry = factories.OutboxEntryFactory(
        sale__tenant=connection.tenant,
        connection=connection,
        state=OutboxEntry.State.POSTED,
        remote_id="INV-1",
    )
    response = staff_client.post(
        changelist_url(OutboxEntry),
        {"action": "retry_selected_entries", "_selected_action": [entry.pk]},
        follow=True,
    )
    entry.refresh_from_db()
    assert entry.state == OutboxEntry.State.POSTED
    assert "Not retried" in response.content.decode()
