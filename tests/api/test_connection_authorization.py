"""POST /connections and PUT /connections/{id}/authorization: a provider authorised by API keys
(Unleashed, the emulator) is connected or given a new pair through the API, checked with one call;
a provider with a sign-in page is left to the merchant's sync flow."""

from __future__ import annotations

import pytest

from syncing.models import Connection
from tests import factories

KEYS_URL = "/api/v1/connections"


def post(client, body):
    return client.post(KEYS_URL, body, content_type="application/json")


def put(client, connection, body):
    return client.put(
        f"/api/v1/connections/{connection.pk}/authorization", body, content_type="application/json"
    )


def test_keys_unleashed_accepts_make_an_active_connection_with_one_call(api, tenant, unleashed):
    response = post(
        api, {"integration": "unleashed", "api_id": unleashed.api_id, "api_key": unleashed.api_key}
    )

    assert response.status_code == 201, response.content
    connection = Connection.objects.get(pk=response.json()["id"])
    assert (connection.tenant, connection.status) == (tenant, Connection.Status.ACTIVE)
    assert response.json()["status"] == "active"
    assert unleashed.calls() == 1


def test_keys_unleashed_refuses_name_the_key_and_keep_nothing(api, unleashed):
    response = post(api, {"integration": "unleashed", "api_id": unleashed.api_id, "api_key": "wrong"})

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "api_key"
    assert not Connection.objects.exists()


def test_a_provider_with_a_sign_in_page_is_not_created_through_the_api(api):
    response = post(api, {"integration": "xero", "api_id": "a", "api_key": "b"})

    assert response.status_code == 422
    assert "sync-flow URL" in response.json()["details"][0]["message"]
    assert not Connection.objects.exists()


def test_an_unknown_integration_names_the_field(api):
    response = post(api, {"integration": "nope", "api_id": "a", "api_key": "b"})

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "integration"


def test_creating_a_connection_needs_a_key(anonymous, db):
    assert post(anonymous, {"integration": "unleashed", "api_id": "a", "api_key": "b"}).status_code == 401


@pytest.mark.parametrize("status", [Connection.Status.NEEDS_REAUTH, Connection.Status.ACTIVE])
def test_a_regenerated_key_restores_the_connection_it_is_given_to(api, unleashed, connect, status):
    connection = connect(unleashed, "unleashed", status=status)
    connection.cursors = {"products": "2026-01-01T00:00:00"}
    connection.save()
    unleashed.revoke_credentials()

    response = put(api, connection, {"api_id": unleashed.api_id, "api_key": unleashed.api_key})

    assert response.status_code == 200, response.content
    connection.refresh_from_db()
    assert (connection.status, connection.credentials["api_key"]) == ("active", unleashed.api_key)
    assert connection.cursors == {"products": "2026-01-01T00:00:00"}
    assert Connection.objects.count() == 1


def test_a_refused_pair_leaves_the_connection_as_it_was(api, unleashed, connect):
    connection = connect(unleashed, "unleashed")
    before = dict(connection.credentials)

    response = put(api, connection, {"api_id": unleashed.api_id, "api_key": "wrong"})

    assert response.status_code == 422
    connection.refresh_from_db()
    assert (connection.status, connection.credentials) == ("active", before)


def test_a_provider_with_a_sign_in_page_is_reauthorised_by_the_merchant(api, tenant):
    connection = factories.ConnectionFactory(tenant=tenant, provider="xero")

    response = put(api, connection, {"api_id": "a", "api_key": "b"})

    assert response.status_code == 409
    assert "sync-flow URL" in response.json()["message"]


def test_another_companys_connection_is_not_reauthorised(strangers_api, unleashed, connect):
    connection = connect(unleashed, "unleashed")

    response = put(strangers_api, connection, {"api_id": unleashed.api_id, "api_key": unleashed.api_key})

    assert response.status_code == 404
    assert unleashed.calls() == 0


def test_an_empty_key_names_the_field(api, unleashed, connect):
    connection = connect(unleashed, "unleashed")

    response = put(api, connection, {"api_id": unleashed.api_id, "api_key": ""})

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "api_key"


def test_a_key_that_cannot_travel_in_a_header_names_the_field(api, unleashed, connect):
    connection = connect(unleashed, "unleashed")

    response = put(api, connection, {"api_id": unleashed.api_id, "api_key": "clé secrète"})

    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "api_key"
    assert unleashed.calls() == 0
