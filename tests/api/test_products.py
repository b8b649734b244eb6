"""GET /products with link state, and POST /products/{id}/sync against the Xero emulator."""

from decimal import Decimal

import pytest

from syncing.models import Connection, Product, SyncRun
from tests import factories


def test_products_show_their_link_to_each_connection(api, tenant):
    connection = factories.ConnectionFactory(tenant=tenant)
    linked = factories.ProductLinkFactory(connection=connection, remote_id="I-1", product__sku="A-1").product
    gone = factories.ProductLinkFactory(
        connection=connection, product__sku="B-1", remote_deleted=True
    ).product
    factories.ProductFactory(tenant=tenant, sku="C-1")

    results = api.get("/api/v1/products").json()["results"]

    assert [(p["sku"], [link["state"] for link in p["links"]]) for p in results] == [
        ("A-1", ["linked"]),
        ("B-1", ["remote_deleted"]),
        ("C-1", ["not_linked"]),
    ]
    assert results[0]["id"] == linked.pk
    assert results[1]["id"] == gone.pk
    assert results[0]["links"][0]["remote_id"] == "I-1"


def test_products_are_searched_by_sku_or_name(api, tenant):
    factories.ProductFactory(tenant=tenant, sku="MUG-1", name="Blue mug")
    factories.ProductFactory(tenant=tenant, sku="TEE-1", name="Shirt")

    results = api.get("/api/v1/products", {"search": "mug"}).json()["results"]

    assert [p["sku"] for p in results] == ["MUG-1"]


def test_products_page_through_with_the_cursor(api, tenant):
    skus = [factories.ProductFactory(tenant=tenant, sku=f"P-{n}").sku for n in range(3)]

    first = api.get("/api/v1/products", {"limit": 2}).json()
    second = api.get("/api/v1/products", {"limit": 2, "cursor": first["next_cursor"]}).json()

    assert [p["sku"] for p in first["results"] + second["results"]] == skus


def test_another_tenants_products_are_neither_listed_nor_synced(api, charlie):
    theirs = factories.ProductFactory(tenant=charlie.memberships.get().tenant)

    assert api.get("/api/v1/products").json()["results"] == []
    assert api.post(f"/api/v1/products/{theirs.pk}/sync").status_code == 404


def test_products_need_a_key(anonymous, db):
    assert anonymous.get("/api/v1/products").status_code == 401


def test_syncing_a_product_refreshes_it_from_the_provider(api, tenant, start_emulator, connect):
    xero = start_emulator("xero")
    xero.add_product(code="FRESH-1", name="Fresh from Xero", price=Decimal("4.20"))
    connect(xero, "xero")
    product = factories.ProductFactory(tenant=tenant, sku="FRESH-1", name="Old name")

    response = api.post(f"/api/v1/products/{product.pk}/sync")

    product.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["kind"] == SyncRun.Kind.SINGLE_PRODUCT
    assert response.json()["trigger"] == SyncRun.Trigger.API
    assert product.name == "Fresh from Xero"


def test_syncing_a_product_without_an_active_connection_conflicts(api, tenant):
    factories.ConnectionFactory(tenant=tenant, status=Connection.Status.NEEDS_REAUTH)
    product = factories.ProductFactory(tenant=tenant)

    response = api.post(f"/api/v1/products/{product.pk}/sync")

    assert response.status_code == 409
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize("connection", ["x", "0.5"])
def test_syncing_a_product_refuses_a_malformed_connection_id(api, tenant, connection):
    product = factories.ProductFactory(tenant=tenant)

    response = api.post(f"/api/v1/products/{product.pk}/sync?connection={connection}")

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "connection"
    assert Product.objects.get().synced_at is None
