"""Connecting Unleashed, which has no sign-in page: the API id and key are typed, checked with one
call, and kept only when Unleashed accepts them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from syncing.models import Connection

pytestmark = pytest.mark.django_db
URL = reverse("syncing:connect_api_key", args=["unleashed"])


def test_pressing_connect_opens_the_api_key_form(alice, client_for):
    response = client_for(alice).post(reverse("syncing:connect", args=["unleashed"]))
    assert response["Location"] == URL


def test_keys_unleashed_accepts_connect_with_one_call(unleashed, alice, client_for):
    response = client_for(alice).post(URL, {"api_id": unleashed.api_id, "api_key": unleashed.api_key})
    connection = Connection.objects.get(provider="unleashed")
    assert response["Location"] == reverse("syncing:connection_settings", args=[connection.pk])
    assert connection.status == Connection.Status.ACTIVE
    assert connection.credentials == {"api_id": unleashed.api_id, "api_key": unleashed.api_key}
    assert unleashed.calls() == 1


def test_a_wrong_key_is_refused_in_plain_words_and_nothing_is_kept(unleashed, alice, client_for):
    response = client_for(alice).post(URL, {"api_id": unleashed.api_id, "api_key": "not-the-key"})
    assert response.status_code == 200
    assert "Unleashed did not accept this API id and key" in response.content.decode()
    assert not Connection.objects.filter(provider="unleashed").exists()


def test_a_new_key_restores_a_connection_whose_key_was_regenerated(unleashed, connect, alice, client_for):
    connection = connect(unleashed, "unleashed", status=Connection.Status.NEEDS_REAUTH)
    unleashed.revoke_credentials()
    client_for(alice).post(URL, {"api_id": unleashed.api_id, "api_key": unleashed.api_key})
    connection.refresh_from_db()
    assert (connection.status, connection.credentials["api_key"]) == (
        Connection.Status.ACTIVE,
        unleashed.api_key,
    )
    assert Connection.objects.filter(provider="unleashed").count() == 1


def test_an_oauth_provider_has_no_api_key_form(alice, client_for):
    assert client_for(alice).get(reverse("syncing:connect_api_key", args=["xero"])).status_code == 404
