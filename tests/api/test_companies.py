"""GET /companies/me and its settings."""

from datetime import timedelta

from tests import factories


def test_me_is_the_keys_tenant(api, tenant):
    body = api.get("/api/v1/companies/me").json()

    assert (body["id"], body["name"], body["plan"]) == (tenant.pk, "Alice's Shop", "starter")


def test_a_stranger_sees_their_own_company_not_alices(strangers_api, tenant):
    assert strangers_api.get("/api/v1/companies/me").json()["slug"] == "charlies-shop"


def test_company_config_lists_each_connections_settings(api, tenant, charlie):
    mine = factories.ConnectionFactory(tenant=tenant, poll_interval=timedelta(minutes=15))
    factories.ConnectionFactory(tenant=charlie.memberships.get().tenant)

    configs = api.get("/api/v1/companies/me/config").json()["connections"]

    assert [(c["connection"], c["poll_interval_minutes"]) for c in configs] == [(mine.pk, 15)]


def test_company_needs_a_key(anonymous, db):
    assert anonymous.get("/api/v1/companies/me/config").status_code == 401
