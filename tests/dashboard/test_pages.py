"""What the overview, products, outbox and history pages show, and what their buttons do."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf

from invoices.models import OutboxEntry
from syncing.models import Connection, LinkMethod, Product, SyncRun
from tests import factories

pytestmark = pytest.mark.django_db


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(db) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_overview_puts_reconnecting_first(shop, alice, client_for):
    factories.ConnectionFactory(tenant=shop["connection"].tenant, status=Connection.Status.NEEDS_REAUTH)
    attention = client_for(alice).get(reverse("syncing:overview")).context["attention"]
    assert attention["kind"] == "reauth"


def test_overview_puts_given_up_sales_before_a_failing_run(shop, alice, client_for):
    attention = client_for(alice).get(reverse("syncing:overview")).context["attention"]
    assert (attention["kind"], attention["count"]) == ("given_up", 1)


def test_overview_shows_a_failing_run_when_nothing_else_needs_attention(shop, alice, client_for):
    OutboxEntry.objects.update(state=OutboxEntry.State.POSTED, remote_id="INV-1")
    attention = client_for(alice).get(reverse("syncing:overview")).context["attention"]
    assert (attention["kind"], attention["run"]) == ("failing_run", shop["run"])


def test_overview_shows_last_successful_and_latest_run_per_resource(shop, alice, client_for):
    good = factories.SyncRunFactory(
        connection=shop["connection"],
        status=SyncRun.Status.SUCCEEDED,
        started_at=timezone.now() - timezone.timedelta(hours=1),
    )
    (row,) = client_for(alice).get(reverse("syncing:overview")).context["rows"]
    products = next(r for r in row["resources"] if r["kind"] == "Products")
    assert (products["latest"], products["succeeded"]) == (shop["run"], good)


def test_overview_charts_calls_per_day_and_counts_todays_calls(shop, alice, client_for):
    factories.ApiUsageFactory(connection=shop["connection"], hour=timezone.now(), calls=42)
    factories.BudgetWindowFactory(
        connection=shop["connection"],
        kind="day",
        starts_at=timezone.now().replace(hour=0, minute=0, second=0, microsecond=0),
        limit=5000,
        used=42,
    )
    response = client_for(alice).get(reverse("syncing:overview"))
    (row,) = response.context["rows"]
    assert row["usage"]["day"] == (42, 5000)
    assert len(row["chart"]["bars"]) == 30
    assert row["chart"]["bars"][-1]["title"].endswith(": 42 calls")
    assert "<rect" in response.content.decode()


def test_overview_counts_todays_calls_of_a_provider_without_a_daily_limit(tenant, alice, client_for):
    lightspeed = factories.ConnectionFactory(tenant=tenant, provider="vend")
    factories.ApiUsageFactory(connection=lightspeed, hour=timezone.now(), calls=17)

    response = client_for(alice).get(reverse("syncing:overview"))

    (row,) = response.context["rows"]
    assert row["usage"]["day"] == (17, None)
    assert "<dt>Calls today</dt><dd>17</dd>" in response.content.decode()


def _connections_with_history(tenant, count: int) -> None:
    for _ in range(count):
        connection = factories.ConnectionFactory(tenant=tenant)
        factories.SyncRunFactory(connection=connection, status=SyncRun.Status.SUCCEEDED)
        factories.OutboxEntryFactory(sale__tenant=tenant, connection=connection)
        factories.ApiUsageFactory(connection=connection)


def test_overview_queries_do_not_grow_with_history(tenant, alice, client_for):
    client = client_for(alice)
    _connections_with_history(tenant, 3)
    short = queries_for(client, reverse("syncing:overview"))
    for connection in Connection.objects.filter(tenant=tenant):
        factories.SyncRunFactory.create_batch(30, connection=connection, status=SyncRun.Status.SUCCEEDED)
        factories.OutboxEntryFactory.create_batch(10, sale__tenant=tenant, connection=connection)
    assert queries_for(client, reverse("syncing:overview")) == short


# Each active connection's freshness (promise, last pulls, poll and batch pacing) is read on its
# own: a tenant has a few connections, and these reads take the last runs only.
FRESHNESS_QUERIES = 5


def test_overview_queries_grow_by_a_fixed_few_per_connection(tenant, alice, client_for):
    client = client_for(alice)
    _connections_with_history(tenant, 3)
    few = queries_for(client, reverse("syncing:overview"))
    _connections_with_history(tenant, 27)
    assert queries_for(client, reverse("syncing:overview")) == few + 27 * FRESHNESS_QUERIES


def test_products_page_costs_the_same_queries_for_3_or_30_products(tenant, alice, client_for):
    client = client_for(alice)
    connection = factories.ConnectionFactory(tenant=tenant)
    factories.ProductLinkFactory.create_batch(3, connection=connection)
    few = queries_for(client, reverse("syncing:products"))
    factories.ProductLinkFactory.create_batch(27, connection=connection)
    assert queries_for(client, reverse("syncing:products")) == few


def test_outbox_page_costs_the_same_queries_for_3_or_30_entries(tenant, alice, client_for):
    client = client_for(alice)
    connection = factories.ConnectionFactory(tenant=tenant)
    factories.OutboxEntryFactory.create_batch(3, sale__tenant=tenant, connection=connection)
    few = queries_for(client, reverse("syncing:outbox"))
    factories.OutboxEntryFactory.create_batch(27, sale__tenant=tenant, connection=connection)
    assert queries_for(client, reverse("syncing:outbox")) == few


def test_products_are_found_by_sku_or_name(tenant, alice, client_for):
    factories.ProductFactory(tenant=tenant, sku="MUG-RED", name="Red mug")
    factories.ProductFactory(tenant=tenant, sku="TEE-01", name="Blue tee")
    client = client_for(alice)
    by_sku = client.get(reverse("syncing:products"), {"q": "mug"}).context["rows"]
    by_name = client.get(reverse("syncing:products"), {"q": "blue"}).context["rows"]
    assert [r["product"].sku for r in by_sku] == ["MUG-RED"]
    assert [r["product"].sku for r in by_name] == ["TEE-01"]


def test_products_are_paginated(tenant, alice, client_for):
    factories.ProductFactory.create_batch(55, tenant=tenant)
    second = client_for(alice).get(reverse("syncing:products"), {"page": 2}).context["rows"]
    assert len(second) == 5


def test_sync_now_fetches_the_product_from_xero_and_answers_with_the_result(
    start_emulator, connect, tenant, alice, client_for
):
    xero = start_emulator("xero")
    connection = connect(xero, "xero")
    xero.add_product(code="MUG-RED", name="Red mug, large", price=Decimal("9.50"))
    product = factories.ProductFactory(tenant=tenant, sku="MUG-RED", name="Red mug")
    response = client_for(alice).post(
        reverse("syncing:sync_product", args=[product.pk]), HTTP_ACCEPT="application/json"
    )
    result = response.json()
    assert (response.status_code, result["ok"], result["run"]["status"]) == (200, True, "succeeded")
    assert "Succeeded" in result["html"]
    product.refresh_from_db()
    assert product.name == "Red mug, large"
    assert product.links.get().connection == connection


def test_sync_now_without_a_connection_says_so(tenant, alice, client_for):
    product = factories.ProductFactory(tenant=tenant)
    response = client_for(alice).post(
        reverse("syncing:sync_product", args=[product.pk]), HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 409
    assert "No active connection" in response.json()["message"]


def test_outbox_filters_by_state_and_shows_the_providers_message(shop, tenant, alice, client_for):
    factories.OutboxEntryFactory(sale__tenant=tenant, connection=shop["connection"])
    response = client_for(alice).get(reverse("syncing:outbox"), {"state": "given_up"})
    assert list(response.context["page"]) == [shop["entry"]]
    assert "not a valid code" in response.content.decode()


def test_entry_waiting_for_a_reconnect_links_to_the_reconnect_page(shop, alice, client_for):
    connection = shop["connection"]
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_REAUTH)
    entry = factories.OutboxEntryFactory(
        sale__tenant=connection.tenant,
        connection=connection,
        last_error="Xero no longer accepts this connection; this invoice posts once you reconnect Xero.",
    )

    page = client_for(alice).get(reverse("syncing:outbox_entry", args=[entry.pk])).content.decode()

    assert "this invoice posts once you reconnect Xero" in page
    assert reverse("syncing:access_lost", args=[connection.pk]) in page
    assert reverse("syncing:connection_settings", args=[connection.pk]) not in page


def test_retry_puts_a_given_up_entry_back_in_the_queue(shop, alice, client_for):
    entry = shop["entry"]
    client_for(alice).post(reverse("syncing:retry_entry", args=[entry.pk]))
    entry.refresh_from_db()
    assert (entry.state, entry.attempts) == (OutboxEntry.State.PENDING, 0)


def test_cancel_stops_an_entry_from_posting(shop, alice, client_for):
    entry = shop["entry"]
    client_for(alice).post(reverse("syncing:cancel_entry", args=[entry.pk]))
    entry.refresh_from_db()
    assert entry.state == OutboxEntry.State.CANCELLED


def test_posted_entry_cannot_be_cancelled(shop, alice, client_for):
    entry = shop["entry"]
    OutboxEntry.objects.filter(pk=entry.pk).update(state=OutboxEntry.State.POSTED, remote_id="INV-9")
    response = client_for(alice).post(reverse("syncing:cancel_entry", args=[entry.pk]), follow=True)
    entry.refresh_from_db()
    assert entry.state == OutboxEntry.State.POSTED
    assert "posted" in response.content.decode().lower()


def test_history_filters_by_kind_and_status(shop, alice, client_for):
    stock = factories.SyncRunFactory(
        connection=shop["connection"], kind=SyncRun.Kind.STOCK, status=SyncRun.Status.FAILED
    )
    factories.SyncRunFactory(connection=shop["connection"], kind=SyncRun.Kind.STOCK)
    response = client_for(alice).get(reverse("syncing:history"), {"kind": "stock", "status": "failed"})
    assert list(response.context["page"]) == [stock]


def test_product_count_is_not_limited_to_alices_products_for_charlie(shop, charlie, client_for):
    assert not Product.objects.filter(tenant__slug="charlies-shop").exists()
    assert client_for(charlie).get(reverse("syncing:products")).context["rows"] == []


def test_customers_page_shows_each_connections_link_and_how_it_was_made(tenant, alice, client_for):
    connection = factories.ConnectionFactory(tenant=tenant)
    link = factories.CustomerLinkFactory(connection=connection, method=LinkMethod.MATCHED_EMAIL)
    response = client_for(alice).get(reverse("syncing:customers"))
    (row,) = response.context["rows"]
    assert (row["customer"], row["links"]) == (link.customer, [link])
    assert "Matched by email" in response.content.decode()


def test_customers_page_lists_the_unlinked_ones_on_their_own(shop, tenant, alice, client_for):
    gone = factories.CustomerLinkFactory(connection=shop["connection"], remote_deleted=True).customer
    lonely = factories.CustomerFactory(tenant=tenant)
    rows = client_for(alice).get(reverse("syncing:customers"), {"linked": "no"}).context["rows"]
    assert {row["customer"] for row in rows} == {gone, lonely}


def test_customers_are_found_by_name_email_or_account_number(tenant, alice, client_for):
    factories.CustomerFactory(tenant=tenant, name="Ada Stores", email="ada@example.com")
    factories.CustomerFactory(tenant=tenant, name="Bo Ltd", email="bo@example.com", account_number="ACC-7")
    client = client_for(alice)
    for term, expected in (("ada", "Ada Stores"), ("bo@", "Bo Ltd"), ("acc-7", "Bo Ltd")):
        rows = client.get(reverse("syncing:customers"), {"q": term}).context["rows"]
        assert [row["customer"].name for row in rows] == [expected]


def test_customers_are_paginated(tenant, alice, client_for):
    factories.CustomerFactory.create_batch(55, tenant=tenant)
    second = client_for(alice).get(reverse("syncing:customers"), {"page": 2}).context["rows"]
    assert len(second) == 5


def test_customers_page_costs_the_same_queries_for_3_or_30_customers(tenant, alice, client_for):
    client = client_for(alice)
    connection = factories.ConnectionFactory(tenant=tenant)
    factories.CustomerLinkFactory.create_batch(3, connection=connection)
    few = queries_for(client, reverse("syncing:customers"))
    factories.CustomerLinkFactory.create_batch(27, connection=connection)
    factories.CustomerFactory.create_batch(27, tenant=tenant)
    assert queries_for(client, reverse("syncing:customers")) == few


def test_history_page_costs_the_same_queries_for_3_or_30_runs(tenant, alice, client_for):
    client = client_for(alice)
    connection = factories.ConnectionFactory(tenant=tenant)
    factories.SyncRunFactory.create_batch(3, connection=connection)
    few = queries_for(client, reverse("syncing:history"))
    factories.SyncRunFactory.create_batch(27, connection__tenant=tenant)
    assert queries_for(client, reverse("syncing:history")) == few


def test_integrations_page_costs_the_same_queries_for_3_or_30_connections(tenant, alice, client_for):
    client = client_for(alice)
    factories.ConnectionFactory.create_batch(3, tenant=tenant)
    few = queries_for(client, reverse("syncing:integrations"))
    factories.ConnectionFactory.create_batch(27, tenant=tenant)
    assert queries_for(client, reverse("syncing:integrations")) == few


def test_outbox_entry_page_costs_the_same_queries_for_3_or_30_attempts(shop, alice, client_for):
    client = client_for(alice)
    entry = shop["entry"]
    url = reverse("syncing:outbox_entry", args=[entry.pk])
    factories.OutboxAttemptFactory.create_batch(3, entry=entry)
    few = queries_for(client, url)
    factories.OutboxAttemptFactory.create_batch(27, entry=entry)
    assert queries_for(client, url) == few


def test_sync_now_on_the_overview_pulls_from_the_provider(
    start_emulator, connect, tenant, alice, client_for, monkeypatch
):
    xero = start_emulator("xero")
    xero.add_product(code="MUG-RED", name="Red mug", price=Decimal("9.50"))
    connection = connect(xero, "xero")
    # The queue runs each task at once here, as a worker would.
    monkeypatch.setattr(Conf, "SYNC", True)
    response = client_for(alice).post(reverse("syncing:start_sync", args=[connection.pk]), follow=True)
    assert "Syncing products, stock, customers from Xero" in response.content.decode()
    assert Product.objects.get(tenant=tenant).sku == "MUG-RED"
    assert SyncRun.objects.get(connection=connection, kind=SyncRun.Kind.PRODUCTS).trigger == "manual"


def test_sync_now_on_a_connection_needing_reauthorisation_says_so(tenant, alice, client_for):
    connection = factories.ConnectionFactory(tenant=tenant, status=Connection.Status.NEEDS_REAUTH)
    response = client_for(alice).post(reverse("syncing:start_sync", args=[connection.pk]), follow=True)
    assert "Xero needs you to reconnect it before it can sync." in response.content.decode()
    assert not SyncRun.objects.exists()
