"""A company by id, its configuration replaced whole, the sync flow's texts and visible accounts,
and the error shape of paths and methods the API does not have."""

from datetime import timedelta

import pytest

from syncing.texts import SYNC_FLOW_TEXTS
from tests import factories

FULL_CONFIG = {
    "poll_interval_minutes": 20,
    "sweep_interval_minutes": 240,
    "sweep_size": 50,
    "posting_mode": "daily_summary",
    "sales_account_code": "200",
    "payment_account_code": "090",
    "payment_accounts": {"card": "091"},
    "tax_rate_map": {"VAT20": "OUTPUT2"},
    "cash_sale_contact_id": "contact-1",
    "create_cash_sale_contact": False,
    "send_contact_details": True,
}


@pytest.fixture
def connection(tenant):
    return factories.ConnectionFactory(
        tenant=tenant, sales_account_code="old", poll_interval=timedelta(minutes=45)
    )


def put(client, url, body):
    return client.put(url, body, content_type="application/json")


def test_a_company_is_read_by_its_id(api, tenant):
    assert api.get(f"/api/v1/companies/{tenant.pk}").json()["slug"] == "alices-shop"


def test_another_companys_id_is_not_found(strangers_api, tenant):
    response = strangers_api.get(f"/api/v1/companies/{tenant.pk}")

    assert (response.status_code, response.json()["message"]) == (404, f"No company {tenant.pk}.")


def test_put_config_replaces_every_setting_of_each_connection_listed(api, tenant, connection):
    response = put(
        api,
        f"/api/v1/companies/{tenant.pk}/config",
        {"connections": [{"connection": connection.pk, **FULL_CONFIG}]},
    )

    assert response.status_code == 200
    (config,) = response.json()["connections"]
    assert config == {"connection": connection.pk, **FULL_CONFIG}
    connection.refresh_from_db()
    assert (connection.poll_interval, connection.posting_mode) == (timedelta(minutes=20), "daily_summary")


def test_put_config_with_a_setting_missing_names_it(api, tenant, connection):
    partial = {k: v for k, v in FULL_CONFIG.items() if k != "sweep_size"}

    response = put(
        api,
        f"/api/v1/companies/{tenant.pk}/config",
        {"connections": [{"connection": connection.pk, **partial}]},
    )

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "connections.0.sweep_size"
    connection.refresh_from_db()
    assert connection.sales_account_code == "old"


def test_put_config_naming_another_companys_connection_changes_nothing(api, tenant, connection, charlie):
    theirs = factories.ConnectionFactory(tenant=charlie.memberships.get().tenant, sales_account_code="theirs")
    body = {
        "connections": [
            {"connection": connection.pk, **FULL_CONFIG},
            {"connection": theirs.pk, **FULL_CONFIG},
        ]
    }

    response = put(api, f"/api/v1/companies/{tenant.pk}/config", body)

    assert response.status_code == 422
    assert response.json()["details"] == [
        {"field": "connections.1.connection", "message": f"No connection {theirs.pk} in this company."}
    ]
    connection.refresh_from_db()
    theirs.refresh_from_db()
    assert (connection.sales_account_code, theirs.sales_account_code) == ("old", "theirs")


def test_put_config_of_another_company_is_not_found(strangers_api, tenant, connection):
    body = {"connections": [{"connection": connection.pk, **FULL_CONFIG}]}

    assert put(strangers_api, f"/api/v1/companies/{tenant.pk}/config", body).status_code == 404
    connection.refresh_from_db()
    assert connection.sales_account_code == "old"


def test_put_on_a_connections_config_replaces_it(api, connection):
    response = put(api, f"/api/v1/connections/{connection.pk}/config", FULL_CONFIG)

    assert response.status_code == 200
    assert response.json()["cash_sale_contact_id"] == "contact-1"


def test_sync_flow_texts_are_ours_until_the_company_sets_its_own(api, tenant):
    url = f"/api/v1/companies/{tenant.pk}/sync-flow/texts"
    assert api.get(url).json()["texts"] == SYNC_FLOW_TEXTS

    response = put(api, url, {"texts": {"connect_button": "Link {provider}"}})

    assert response.status_code == 200
    assert response.json()["texts"] == {**SYNC_FLOW_TEXTS, "connect_button": "Link {provider}"}
    tenant.refresh_from_db()
    assert tenant.sync_flow_texts == {"connect_button": "Link {provider}"}


def test_an_unknown_text_names_its_key(api, tenant):
    response = put(api, f"/api/v1/companies/{tenant.pk}/sync-flow/texts", {"texts": {"welcome": "Hi"}})

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "texts.welcome"
    tenant.refresh_from_db()
    assert tenant.sync_flow_texts == {}


def test_another_companys_texts_are_not_found(strangers_api, tenant):
    url = f"/api/v1/companies/{tenant.pk}/sync-flow/texts"

    assert strangers_api.get(url).status_code == 404
    assert put(strangers_api, url, {"texts": {"connect_button": "x"}}).status_code == 404


def test_visible_accounts_are_replaced_in_order_once_each(api, connection):
    url = f"/api/v1/connections/{connection.pk}/visible-accounts"

    response = put(api, url, {"accounts": ["200", "090", "200"]})

    assert response.status_code == 200
    assert api.get(url).json() == {"accounts": ["200", "090"]}


def test_an_empty_account_code_names_its_place(api, connection):
    response = put(api, f"/api/v1/connections/{connection.pk}/visible-accounts", {"accounts": ["200", ""]})

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "accounts.1"


def test_another_companys_visible_accounts_are_not_found(strangers_api, connection):
    url = f"/api/v1/connections/{connection.pk}/visible-accounts"

    assert strangers_api.get(url).status_code == 404
    assert put(strangers_api, url, {"accounts": ["1"]}).status_code == 404


@pytest.mark.parametrize(
    "url",
    ["/api/v1/companies/{id}/sync-flow/texts", "/api/v1/companies/{id}", "/api/v1/companies/{id}/config"],
)
def test_settings_need_a_key(anonymous, tenant, url):
    assert anonymous.get(url.format(id=tenant.pk)).status_code == 401


def test_an_unknown_path_answers_in_the_error_shape(api):
    response = api.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["status"] == 404


def test_a_method_a_path_does_not_take_answers_in_the_error_shape(api):
    response = api.delete("/api/v1/companies/me")

    assert response.status_code == 405
    assert response.json() == {
        "status": 405,
        "message": "DELETE is not allowed here; use GET.",
        "details": [],
    }
    assert response["Allow"] == "GET"
