"""GET /customers with each customer's link state."""

import pytest

from tests import factories


@pytest.fixture
def connection(tenant):
    return factories.ConnectionFactory(tenant=tenant)


def test_customers_show_their_link_to_each_connection(api, tenant, connection):
    linked = factories.CustomerLinkFactory(connection=connection, remote_id="C-1").customer
    unlinked = factories.CustomerFactory(tenant=tenant)

    results = api.get("/api/v1/customers").json()["results"]

    states = {c["id"]: [(link["connection"], link["state"]) for link in c["links"]] for c in results}
    assert states == {linked.pk: [(connection.pk, "linked")], unlinked.pk: [(connection.pk, "not_linked")]}


def test_customers_are_searched_by_email(api, tenant):
    wanted = factories.CustomerFactory(tenant=tenant, email="dora@example.com")
    factories.CustomerFactory(tenant=tenant, email="eve@example.com")

    results = api.get("/api/v1/customers", {"search": "dora"}).json()["results"]

    assert [c["id"] for c in results] == [wanted.pk]


def test_another_tenants_customers_are_not_listed(api, charlie):
    factories.CustomerFactory(tenant=charlie.memberships.get().tenant)

    assert api.get("/api/v1/customers").json()["results"] == []


def test_customers_need_a_key(anonymous, db):
    assert anonymous.get("/api/v1/customers").status_code == 401


def test_customers_refuse_a_non_numeric_limit(api):
    response = api.get("/api/v1/customers", {"limit": "lots"})

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "limit"
