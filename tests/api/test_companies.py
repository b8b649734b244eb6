"""GET /companies, /companies/me and its settings."""

from datetime import timedelta

from tests import factories


def test_me_is_the_keys_tenant(api, tenant):
    body = api.get("/api/v1/companies/me").json()

    assert (body["id"], body["name"], body["plan"]) == (tenant.pk, "Alice's Shop", "starter")


def test_the_company_list_is_one_page_holding_the_keys_company(api, tenant, charlie):
    body = api.get("/api/v1/companies").json()

    assert [company["id"] for company in body["results"]] == [tenant.pk]
    assert body["next_cursor"] is None


def test_the_company_list_refuses_a_cursor_it_did_not_issue(api):
    response = api.get("/api/v1/companies", {"cursor": "not-a-cursor"})

    assert (response.status_code, response.json()["details"][0]["field"]) == (400, "cursor")


def test_a_stranger_sees_their_own_company_not_alices(strangers_api, tenant):
    assert strangers_api.get("/api/v1/companies/me").json()["slug"] == "charlies-shop"


def test_company_config_lists_each_connections_settings(api, tenant, charlie):
    mine = factories.ConnectionFactory(tenant=tenant, poll_interval=timedelta(minutes=15))
    factories.ConnectionFactory(tenant=charlie.memberships.get().tenant)

    configs = api.get("/api/v1/companies/me/config").json()["connections"]

    assert [(c["connection"], c["poll_interval_minutes"]) for c in configs] == [(mine.pk, 15)]


def test_company_needs_a_key(anonymous, db):
    assert anonymous.get("/api/v1/companies/me/config").status_code == 401
    assert anonymous.get("/api/v1/companies").status_code == 401
