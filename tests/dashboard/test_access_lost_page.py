"""The link in the needs-reconnecting email: a page saying what happened, whose one step reconnects
the connection, for the shop's own people only."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.dateformat import format as format_date

from connectors.errors import AuthorizationRevoked
from connectors.http import connector_for
from syncing.models import Connection
from syncing.services.demo import ConsentForm
from tests.consent import answer_consent

pytestmark = pytest.mark.django_db
SITE_URL = "https://sync.example.com"


def lose_access(revoke, refused_call) -> str:
    """The provider stops accepting us and the next call is refused: the path of the emailed link."""
    revoke()
    with pytest.raises(AuthorizationRevoked):
        refused_call()
    [email] = mail.outbox
    [url] = re.findall(r"https?://\S+", email.body)
    assert url.startswith(SITE_URL)
    return urlsplit(url).path


@pytest.fixture
def xero_connection(xero, connect, alice, settings):
    settings.SITE_URL = SITE_URL
    return connect(xero, "xero")


@pytest.fixture
def xero_link(xero, xero_connection):
    return lose_access(xero.oauth.revoke_refresh_tokens, connector_for(xero_connection).list_accounts)


def the_form(page: str) -> tuple[str, dict[str, str]]:
    """Where the one form in the page's content posts, and the hidden fields a browser sends."""
    content = page.split("<main", 1)[1]
    [action] = re.findall(r'<form method="post"[^>]*action="([^"]+)"', content)
    return action, ConsentForm.read(content)


def test_the_emailed_link_tells_the_owner_when_xero_stopped_accepting_us(
    xero_link, xero_connection, alice, client_for
):
    response = client_for(alice).get(xero_link)

    xero_connection.refresh_from_db()
    on = format_date(xero_connection.access_lost_at, "j F Y")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"Xero stopped accepting our access on {on}; sales made since are waiting" in page


def test_another_shop_gets_404_on_the_emailed_link(xero_link, charlie, client_for):
    assert client_for(charlie).get(xero_link).status_code == 404


def test_an_anonymous_visitor_of_the_emailed_link_is_sent_to_sign_in_first(xero_link, client):
    response = client.get(xero_link)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("syncing:login") + "?next=")
    assert xero_link in response["Location"].replace("%2F", "/")


def test_the_pages_button_sends_the_owner_to_xeros_consent_and_reconnects(
    xero, xero_link, xero_connection, alice
):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    action, fields = the_form(browser.get(xero_link).content.decode())

    consent = browser.post(action, fields)
    assert consent.status_code == 302
    assert consent["Location"].startswith(xero.public_url)
    browser.get(answer_consent(consent["Location"], "allow"))

    xero_connection.refresh_from_db()
    assert xero_connection.status == Connection.Status.ACTIVE


def test_the_pages_button_is_refused_without_the_pages_csrf_token(xero_link, xero_connection, alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    action, _ = the_form(browser.get(xero_link).content.decode())

    assert browser.post(action).status_code == 403


def test_unleashed_asks_for_the_new_api_key_and_the_form_reconnects(
    unleashed, connect, alice, client_for, settings
):
    settings.SITE_URL = SITE_URL
    connection = connect(unleashed, "unleashed")
    link = lose_access(unleashed.revoke_credentials, connector_for(connection).check_access)
    client = client_for(alice)

    action, _ = the_form(client.get(link).content.decode())
    client.post(action, {"api_id": unleashed.api_id, "api_key": unleashed.api_key})

    connection.refresh_from_db()
    assert (connection.status, connection.credentials["api_key"]) == (
        Connection.Status.ACTIVE,
        unleashed.api_key,
    )
