"""The invariants the database itself enforces, so no code path can break them."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from syncing.models import BudgetWindow
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_product_has_one_link_per_connection():
    link = factories.ProductLinkFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ProductLinkFactory(connection=link.connection, product=link.product)


def test_a_remote_product_is_linked_to_one_local_product_per_connection():
    link = factories.ProductLinkFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ProductLinkFactory(connection=link.connection, remote_id=link.remote_id)


def test_a_product_may_be_linked_on_each_of_its_connections():
    link = factories.ProductLinkFactory()
    other = factories.ConnectionFactory(tenant=link.connection.tenant, provider="vend")
    factories.ProductLinkFactory(connection=other, product=link.product, remote_id=link.remote_id)
    assert link.product.links.count() == 2


def test_a_customer_has_one_link_per_connection():
    link = factories.CustomerLinkFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CustomerLinkFactory(connection=link.connection, customer=link.customer)


def test_a_remote_contact_is_linked_to_one_local_customer_per_connection():
    link = factories.CustomerLinkFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.CustomerLinkFactory(connection=link.connection, remote_id=link.remote_id)


def test_a_sku_is_unique_within_a_tenant():
    product = factories.ProductFactory(sku="MUG-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ProductFactory(tenant=product.tenant, sku="MUG-1")


def test_two_tenants_may_use_the_same_sku():
    factories.ProductFactory(sku="MUG-1")
    other = factories.ProductFactory(sku="MUG-1")
    assert other.pk is not None


def test_a_budget_window_cannot_be_overspent():
    window = factories.BudgetWindowFactory(limit=2, used=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetWindow.objects.filter(pk=window.pk).update(used=F("used") + 1)


def test_a_budget_window_may_be_spent_up_to_its_limit():
    window = factories.BudgetWindowFactory(limit=2, used=1)
    BudgetWindow.objects.filter(pk=window.pk).update(used=F("used") + 1)
    window.refresh_from_db()
    assert window.used == 2
