"""How a page of remote products lands locally: matched by link, then by SKU; never deleted."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from connectors.records import RemoteProduct
from syncing.models import LinkMethod, Product, ProductLink
from syncing.services.products import store_products
from tests import factories


@pytest.fixture
def connection(tenant):
    return factories.ConnectionFactory(tenant=tenant)


@pytest.fixture
def run(connection):
    return factories.SyncRunFactory(connection=connection)


def remote(remote_id, code, **fields):
    fields.setdefault("name", f"Remote {code}")
    fields.setdefault("sale_price", Decimal("12.50"))
    return RemoteProduct(remote_id=remote_id, code=code, **fields)


def store(connection, run, *records):
    return store_products(connection=connection, run=run, records=list(records), now=timezone.now())


def test_new_remote_product_is_imported_with_its_link(connection, run):
    updated_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    store(connection, run, remote("r-1", "MUG", updated_at=updated_at, version="7"))

    product = Product.objects.get(tenant=connection.tenant, sku="MUG")
    link = product.links.get()
    assert (product.name, product.sale_price, product.remote_updated_at) == (
        "Remote MUG",
        Decimal("12.5"),
        updated_at,
    )
    assert (link.remote_id, link.method, link.remote_version) == ("r-1", LinkMethod.IMPORTED, "7")
    assert (run.created, run.updated, run.unchanged) == (1, 0, 0)


def test_unlinked_local_product_with_the_same_sku_is_adopted_not_duplicated(connection, run):
    local = factories.ProductFactory(tenant=connection.tenant, sku="MUG", name="Our mug")
    store(connection, run, remote("r-1", "MUG", name="Their mug"))

    local.refresh_from_db()
    assert Product.objects.filter(tenant=connection.tenant).count() == 1
    assert local.name == "Their mug"
    assert local.links.get().method == LinkMethod.MATCHED_CODE
    assert (run.created, run.updated) == (0, 1)


def test_same_content_again_counts_as_unchanged(connection, run):
    store(connection, run, remote("r-1", "MUG"))
    second = factories.SyncRunFactory(connection=connection)
    store(connection, second, remote("r-1", "MUG"))
    assert (second.created, second.updated, second.unchanged) == (0, 0, 1)


def test_deleted_remote_product_deactivates_the_local_one_and_keeps_the_row(connection, run):
    store(connection, run, remote("r-1", "MUG"))
    store(connection, run, remote("r-1", "MUG", deleted=True))

    product = Product.objects.get(sku="MUG")
    assert product.active is False
    assert product.links.get().remote_deleted is True


def test_deleted_remote_product_we_never_had_creates_nothing(connection, run):
    store(connection, run, remote("r-1", "GHOST", deleted=True))
    assert not Product.objects.exists()


def test_archived_remote_product_is_inactive_locally(connection, run):
    store(connection, run, remote("r-1", "MUG", active=False))
    assert Product.objects.get(sku="MUG").active is False


def test_renamed_remote_code_moves_the_linked_product_to_the_new_sku(connection, run):
    store(connection, run, remote("r-1", "MUG"))
    store(connection, run, remote("r-1", "MUG-RED"))

    assert list(Product.objects.values_list("sku", flat=True)) == ["MUG-RED"]
    assert ProductLink.objects.get().remote_code == "MUG-RED"


def test_two_live_remote_products_with_one_sku_fail_the_second_record(connection, run):
    store(connection, run, remote("r-1", "MUG"), remote("r-2", "MUG"))

    assert ProductLink.objects.get().remote_id == "r-1"
    assert run.failed == 1
    assert "share SKU MUG" in run.record_errors[0]["message"]


def test_remote_product_without_a_code_is_a_record_error(connection, run):
    store(connection, run, remote("r-1", ""), remote("r-2", "MUG"))
    assert run.failed == 1
    assert run.record_errors[0]["record"] == "r-1"
    assert Product.objects.get().sku == "MUG"


def test_products_are_stored_per_tenant(connection, run, charlie):
    other_tenant = charlie.memberships.get().tenant
    factories.ProductFactory(tenant=other_tenant, sku="MUG", name="Charlie's mug")
    store(connection, run, remote("r-1", "MUG"))

    assert Product.objects.get(tenant=other_tenant).name == "Charlie's mug"
    assert Product.objects.get(tenant=connection.tenant).name == "Remote MUG"
    assert run.created == 1


def test_each_page_is_one_upsert_per_table(connection, run, django_assert_max_num_queries):
    records = [remote(f"r-{i}", f"SKU-{i}") for i in range(50)]
    # 2 reads (links with their products, products by SKU with their links) + 2 upserts.
    with django_assert_max_num_queries(5):
        store(connection, run, *records)
    assert Product.objects.count() == ProductLink.objects.count() == 50
