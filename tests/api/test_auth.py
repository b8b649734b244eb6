"""API keys: bearer auth, hashed storage, revocation, the per-key rate limit and the error shape."""

import hashlib

import pytest
from django.test import Client

from syncing.models import ApiKey
from syncing.services.api_keys import create_api_key, revoke_api_key

ME = "/api/v1/companies/me"


def bearer(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


def test_a_key_reaches_its_own_tenant(tenant):
    _, plaintext = create_api_key(tenant=tenant, name="till")

    response = bearer(plaintext).get(ME)

    assert response.status_code == 200
    assert response.json()["slug"] == "alices-shop"


def test_the_plaintext_key_is_not_stored(tenant):
    key, plaintext = create_api_key(tenant=tenant, name="till")

    stored = ApiKey.objects.filter(pk=key.pk).values().get()

    assert all(plaintext not in str(value) for value in stored.values())
    assert stored["hashed_key"] == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext.split("_")[1] == stored["prefix"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer shk_nope_nope"}, {"Authorization": "Basic YWxpY2U6cGFzcw=="}],
    ids=["missing", "unknown", "wrong-scheme"],
)
def test_a_request_without_a_valid_key_is_refused(db, headers):
    response = Client(headers=headers).get(ME)

    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "message": "A valid API key is required: send `Authorization: Bearer <key>`.",
        "details": [],
    }


def test_a_key_with_the_right_prefix_but_wrong_secret_is_refused(tenant):
    _, plaintext = create_api_key(tenant=tenant, name="till")
    forged = plaintext[:-4] + ("AAAA" if not plaintext.endswith("AAAA") else "BBBB")

    assert bearer(forged).get(ME).status_code == 401


def test_a_revoked_key_is_refused(tenant):
    key, plaintext = create_api_key(tenant=tenant, name="till")
    revoke_api_key(key=key)

    assert bearer(plaintext).get(ME).status_code == 401


def test_using_a_key_records_when_it_was_last_used(tenant):
    key, plaintext = create_api_key(tenant=tenant, name="till")

    bearer(plaintext).get(ME)

    key.refresh_from_db()
    assert key.last_used_at is not None


def test_a_key_past_its_rate_limit_is_told_when_to_retry(tenant, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    _, plaintext = create_api_key(tenant=tenant, name="till")
    client = bearer(plaintext)

    statuses = [client.get(ME).status_code for _ in range(4)]
    refused = client.get(ME)

    assert statuses == [200, 200, 200, 429]
    assert refused.json()["status"] == 429
    assert 1 <= int(refused["Retry-After"]) <= 61


def test_the_rate_limit_is_per_key(tenant, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    _, first = create_api_key(tenant=tenant, name="till")
    _, second = create_api_key(tenant=tenant, name="web shop")
    bearer(first).get(ME)

    assert bearer(second).get(ME).status_code == 200
