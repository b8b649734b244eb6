"""Staff can sync products on demand from the admin: the changelist action and the product page button."""

from decimal import Decimal

import pytest
from django.urls import reverse

from syncing.models import Product, SyncRun
from tests import factories


@pytest.fixture
def staff_client(client, db):
    staff = factories.UserFactory(username="staff", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


@pytest.fixture
def linked_product(start_emulator, connect, tenant):
    emulator = start_emulator("xero")
    emulator.seed(products=3)
    remote = emulator.products()[0]
    connection = connect(emulator, "xero")
    product = factories.ProductFactory(tenant=tenant, sku=remote["code"], name="Old name")
    factories.ProductLinkFactory(connection=connection, product=product, remote_id=remote["remote_id"])
    emulator.update_product(remote["remote_id"], name="Renamed at Xero", price=Decimal("12.50"))
    emulator.reset_calls()
    return emulator, product


def test_product_page_button_syncs_the_product_and_says_how_it_went(staff_client, linked_product):
    emulator, product = linked_product

    response = staff_client.post(reverse("admin:syncing_product_sync", args=[product.pk]), follow=True)

    product.refresh_from_db()
    assert product.name == "Renamed at Xero"
    assert emulator.calls() == 2
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [f"{product.sku}: succeeded in 2 calls."]


def test_product_page_shows_the_sync_button(staff_client, linked_product):
    _, product = linked_product
    page = staff_client.get(reverse("admin:syncing_product_change", args=[product.pk]))
    assert reverse("admin:syncing_product_sync", args=[product.pk]) in page.content.decode()


def test_sync_view_refuses_get(staff_client, linked_product):
    _, product = linked_product
    response = staff_client.get(reverse("admin:syncing_product_sync", args=[product.pk]))
    assert response.status_code == 405


def test_changelist_action_syncs_each_selected_product(staff_client, linked_product):
    _, product = linked_product

    staff_client.post(
        reverse("admin:syncing_product_changelist"),
        {"action": "sync_now", "_selected_action": [product.pk]},
    )

    assert Product.objects.get(pk=product.pk).name == "Renamed at Xero"
    assert (
        SyncRun.objects.filter(kind=SyncRun.Kind.SINGLE_PRODUCT, trigger=SyncRun.Trigger.MANUAL).count() == 1
    )


def test_product_without_a_connection_gets_a_warning_not_an_error(staff_client, tenant):
    product = factories.ProductFactory(tenant=tenant)
    response = staff_client.post(reverse("admin:syncing_product_sync", args=[product.pk]), follow=True)
    assert "has no active connection that provides products" in str(next(iter(response.context["messages"])))
