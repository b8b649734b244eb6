"""The Lightspeed emulator's OAuth and limits, over plain HTTP, as the docs describe them."""

from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connectors.emulation.oauth import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET


@pytest.fixture
def store(start_emulator):
    return start_emulator("vend", domain_prefix="harbourcafe")


def consent(store) -> dict:
    answer = requests.post(
        f"{store.public_url}/connect",
        data={
            "response_type": "code",
            "client_id": EMULATOR_CLIENT_ID,
            "redirect_uri": "http://hub.example/callback",
            "state": "s-1",
            "decision": "allow",
        },
        allow_redirects=False,
        timeout=5,
    )
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


def token(store, **form) -> requests.Response:
    form = {"client_id": EMULATOR_CLIENT_ID, "client_secret": EMULATOR_CLIENT_SECRET, **form}
    return requests.post(f"{store.public_url}/api/1.0/token", data=form, timeout=5)


def test_consent_redirect_names_the_store(store):
    callback = consent(store)
    assert callback["domain_prefix"] == "harbourcafe"
    assert callback["state"] == "s-1"


def test_code_exchange_answers_lightspeeds_token_fields(store):
    code = consent(store)["code"]
    body = token(
        store, grant_type="authorization_code", code=code, redirect_uri="http://hub.example/callback"
    ).json()
    assert {"access_token", "token_type", "expires", "expires_in", "refresh_token", "domain_prefix"} <= set(
        body
    )
    assert body["domain_prefix"] == "harbourcafe"
    assert body["expires"] == int(store.clock().timestamp()) + body["expires_in"]


def test_old_refresh_token_is_revoked_as_soon_as_a_new_one_is_issued(store):
    first = store.issue_credentials()["credentials"]["refresh_token"]
    renewed = token(store, grant_type="refresh_token", refresh_token=first)
    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"] != first
    assert token(store, grant_type="refresh_token", refresh_token=first).status_code == 400


def test_api_without_a_bearer_token_is_401_in_lightspeeds_error_shape(store):
    answer = requests.get(f"{store.public_url}/api/2.0/products", timeout=5)
    assert answer.status_code == 401
    assert list(answer.json()["errors"]) == ["global"]


def test_window_is_spent_then_429_with_an_http_date(store):
    headers = {"Authorization": f"Bearer {store.issue_credentials()['credentials']['access_token']}"}
    statuses = [
        requests.get(f"{store.public_url}/api/2.0/outlets", headers=headers, timeout=5).status_code
        for _ in range(350)
    ]
    assert set(statuses) == {200}
    refused = requests.get(f"{store.public_url}/api/2.0/outlets", headers=headers, timeout=5)
    assert refused.status_code == 429
    assert refused.json() == {"error": "Too Many Requests", "message": "Rate limiting enforced"}
    resumes = parsedate_to_datetime(refused.headers["Retry-After"])
    assert resumes.minute % 5 == 0 and resumes.second == 0
    assert resumes > store.clock()


def test_any_domain_prefix_is_served(store, connect):
    connection = connect(store, "vend")
    assert connection.api_base_url == f"{store.public_url}/api/2.0"
    assert connection.remote_org_id == "harbourcafe"
