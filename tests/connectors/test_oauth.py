import base64
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from connectors import oauth
from connectors.emulation.oauth import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET
from connectors.errors import TransientError
from connectors.registry import get_provider
from syncing.models import ApiCall, Connection
from syncing.services import connections
from tests import factories

pytestmark = pytest.mark.django_db

REDIRECT_URI = "http://testserver/connect/xero/callback"


@pytest.fixture
def xero(start_emulator):
    return start_emulator("xero")


def pending_connection(app, **fields):
    return factories.ConnectionFactory(
        provider="xero",
        base_url=app.public_url,
        status=Connection.Status.PENDING,
        remote_org_id="",
        remote_org_name="",
        **fields,
    )


def consent(url: str) -> dict:
    """Press "Allow access" on the emulator's consent page; the callback's query parameters."""
    params = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    answer = requests.post(url.split("?")[0], data={**params, "decision": "allow"}, allow_redirects=False)
    return {k: v[-1] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


def test_app_credentials_come_from_the_providers_environment_variables(monkeypatch):
    monkeypatch.setenv("XERO_CLIENT_ID", "real-id")
    monkeypatch.setenv("XERO_CLIENT_SECRET", "real-secret")
    monkeypatch.setenv("XERO_WEBHOOK_KEY", "real-key")
    xero = get_provider("xero")
    assert oauth.app_credentials(xero) == ("real-id", "real-secret")
    assert oauth.webhook_key(xero) == "real-key"


def test_app_credentials_default_to_the_emulators(monkeypatch):
    monkeypatch.delenv("SAGE_CLIENT_ID", raising=False)
    monkeypatch.delenv("SAGE_CLIENT_SECRET", raising=False)
    assert oauth.app_credentials(get_provider("sage")) == (EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET)


def test_authorization_url_points_at_the_emulator_with_a_stored_state(xero):
    connection = pending_connection(xero)
    url = connections.connect_start(connection, redirect_uri=REDIRECT_URI)
    query = parse_qs(urlsplit(url).query)
    connection.refresh_from_db()
    assert url.startswith(f"{xero.public_url}/identity/connect/authorize?")
    assert query["state"] == [connection.oauth_state]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert "offline_access" in query["scope"][0].split()
    assert connection.oauth_state_expires_at > timezone.now() + timedelta(minutes=9)


def test_consent_with_one_organisation_activates_the_connection(xero):
    connection = pending_connection(xero)
    callback = consent(connections.connect_start(connection, redirect_uri=REDIRECT_URI))
    connected = connections.connect_complete(
        state=callback["state"], code=callback["code"], redirect_uri=REDIRECT_URI
    )
    connected.refresh_from_db()
    assert connected.pk == connection.pk
    assert connected.status == Connection.Status.ACTIVE
    assert connected.remote_org_id == xero.org.tenant_id
    assert connected.credentials["refresh_token"]
    assert connected.oauth_state == ""


def test_consent_with_several_organisations_waits_for_a_choice(xero):
    xero.oauth.organisations.append({"id": "c-2", "tenantId": "tenant-2", "tenantName": "Second Ltd"})
    connection = pending_connection(xero)
    callback = consent(connections.connect_start(connection, redirect_uri=REDIRECT_URI))
    connected = connections.connect_complete(
        state=callback["state"], code=callback["code"], redirect_uri=REDIRECT_URI
    )
    assert connected.status == Connection.Status.PENDING
    assert [org.remote_id for org in connected.organisation_choices] == [xero.org.tenant_id, "tenant-2"]

    connections.choose_organisation(connected, remote_org_id="tenant-2")
    connected.refresh_from_db()
    assert (connected.status, connected.remote_org_name) == (Connection.Status.ACTIVE, "Second Ltd")


def test_callback_with_a_wrong_state_is_refused_without_a_token_call(xero):
    connection = pending_connection(xero)
    callback = consent(connections.connect_start(connection, redirect_uri=REDIRECT_URI))
    with pytest.raises(oauth.InvalidState):
        connections.connect_complete(state="forged", code=callback["code"], redirect_uri=REDIRECT_URI)
    assert xero.calls("POST", "/connect/token") == 0


def test_state_is_single_use(xero):
    connection = pending_connection(xero)
    callback = consent(connections.connect_start(connection, redirect_uri=REDIRECT_URI))
    oauth.exchange_code(connection, code=callback["code"], state=callback["state"], redirect_uri=REDIRECT_URI)
    with pytest.raises(oauth.InvalidState):
        oauth.exchange_code(
            connection, code=callback["code"], state=callback["state"], redirect_uri=REDIRECT_URI
        )
    assert xero.calls("POST", "/connect/token") == 1


def test_expired_state_is_refused(xero):
    connection = pending_connection(xero)
    callback = consent(connections.connect_start(connection, redirect_uri=REDIRECT_URI))
    Connection.objects.filter(pk=connection.pk).update(oauth_state_expires_at=timezone.now())
    with pytest.raises(oauth.InvalidState):
        oauth.exchange_code(
            connection, code=callback["code"], state=callback["state"], redirect_uri=REDIRECT_URI
        )


def test_lightspeed_callback_domain_prefix_must_be_a_host_label():
    connection = factories.ConnectionFactory(provider="vend", status=Connection.Status.PENDING)
    url = oauth.authorization_url(connection, REDIRECT_URI)
    state = parse_qs(urlsplit(url).query)["state"][0]
    with pytest.raises(oauth.InvalidState):
        oauth.exchange_code(
            connection,
            code="c",
            state=state,
            redirect_uri=REDIRECT_URI,
            extra={"domain_prefix": "evil.com/x"},
        )


def test_xero_token_calls_use_basic_client_auth_and_are_logged(connect, xero):
    connection = connect(xero, "xero")
    seen = []
    original = xero.oauth._client_credentials

    def spy(request, form):
        seen.append((request.header("authorization"), "client_secret" in form))
        return original(request, form)

    xero.oauth._client_credentials = spy
    oauth.refresh(connection)
    expected = base64.b64encode(f"{EMULATOR_CLIENT_ID}:{EMULATOR_CLIENT_SECRET}".encode()).decode()
    assert seen == [(f"Basic {expected}", False)]
    assert ApiCall.objects.filter(connection=connection, purpose="oauth", status=200).count() == 1


def test_refresh_stores_the_rotated_pair(connect, xero):
    connection = connect(xero, "xero")
    old = dict(connection.credentials)
    new_access = oauth.refresh(connection)
    connection.refresh_from_db()
    assert connection.credentials["access_token"] == new_access != old["access_token"]
    assert connection.credentials["refresh_token"] != old["refresh_token"]
    assert connection.refresh_claimed_until is None


def test_second_refresh_reuses_the_winners_token(connect, xero):
    connection = connect(xero, "xero")
    stale = connection.credentials["access_token"]
    first = oauth.refresh(Connection.objects.get(pk=connection.pk), stale_token=stale)
    second = oauth.refresh(Connection.objects.get(pk=connection.pk), stale_token=stale)
    assert first == second
    assert xero.calls("POST", "/connect/token") == 1


def test_refresh_waits_for_a_claim_held_elsewhere_and_gives_up_as_transient(connect, xero):
    connection = connect(xero, "xero")
    Connection.objects.filter(pk=connection.pk).update(
        refresh_claimed_until=timezone.now() + timedelta(seconds=30)
    )
    with pytest.raises(TransientError):
        oauth.refresh(connection, wait=0.3)
    assert xero.calls("POST", "/connect/token") == 0


def test_disconnect_revokes_and_forgets_the_tokens_but_keeps_history(connect, xero):
    connection = connect(xero, "xero")
    factories.SyncRunFactory(connection=connection)
    refresh_token = connection.credentials["refresh_token"]
    connections.disconnect(connection)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.DISABLED
    assert connection.credentials == {}
    assert connection.runs.count() == 1
    assert xero.calls("POST", "/connect/revocation") == 1
    refused = requests.post(
        f"{xero.public_url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET),
    )
    assert refused.status_code == 400


def test_needs_reauth_is_marked_once():
    connection = factories.ConnectionFactory()
    assert connections.mark_needs_reauth(connection, reason="Xero refused") is True
    assert connections.mark_needs_reauth(connection, reason="again") is False
    connection.refresh_from_db()
    assert (connection.status, connection.status_reason) == (Connection.Status.NEEDS_REAUTH, "Xero refused")
