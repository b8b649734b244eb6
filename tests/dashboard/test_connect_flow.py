"""Connecting Xero through its consent page, as a merchant does, against the Xero emulator."""

from __future__ import annotations

import pytest
from django.urls import reverse

from syncing.models import Connection
from tests import factories
from tests.consent import answer_consent

pytestmark = pytest.mark.django_db


def start_connecting(client) -> str:
    """Press Connect on the connections page; the consent page's URL."""
    response = client.post(reverse("syncing:connect", args=["xero"]))
    assert response.status_code == 302
    return response["Location"]


def test_connecting_xero_end_to_end_activates_the_connection(xero, alice, client_for):
    client = client_for(alice)
    callback = answer_consent(start_connecting(client), "allow")
    assert callback.startswith("/connections/xero/callback/?")
    response = client.get(callback)
    connection = Connection.objects.get(tenant__slug="alices-shop", provider="xero")
    assert response["Location"] == reverse("syncing:connection_settings", args=[connection.pk])
    assert connection.status == Connection.Status.ACTIVE
    assert connection.remote_org_name == xero.org.name
    assert connection.base_url == xero.public_url
    assert connection.credentials["access_token"]


def test_mapping_settings_are_saved_after_connecting(xero, alice, client_for):
    client = client_for(alice)
    client.get(answer_consent(start_connecting(client), "allow"))
    connection = Connection.objects.get(provider="xero")
    response = client.post(
        reverse("syncing:connection_settings", args=[connection.pk]),
        {
            "sales_account_code": "200",
            "payment_account_code": "090",
            "cash_sale_contact_id": "",
            "send_contact_details": "on",
            "poll_minutes": "45",
        },
    )
    assert response["Location"] == reverse("syncing:overview")
    connection.refresh_from_db()
    assert (connection.sales_account_code, connection.payment_account_code) == ("200", "090")
    assert connection.poll_interval.total_seconds() == 45 * 60


@pytest.mark.parametrize("minutes", ["29", "121"])
def test_poll_interval_outside_half_an_hour_to_two_hours_is_refused(minutes, alice, client_for):
    connection = factories.ConnectionFactory(tenant=alice.memberships.get().tenant)
    response = client_for(alice).post(
        reverse("syncing:connection_settings", args=[connection.pk]),
        {"tax_rate_map": "{}", "poll_minutes": minutes},
    )
    assert response.status_code == 200
    assert "poll_minutes" in response.context["form"].errors


def test_callback_with_a_forged_state_is_refused(xero, alice, client_for):
    client = client_for(alice)
    callback = answer_consent(start_connecting(client), "allow")
    forged = callback.replace("state=", "state=forged")
    assert client.get(forged).status_code == 400
    assert Connection.objects.get(provider="xero").status == Connection.Status.PENDING


def test_callback_in_another_session_is_refused(xero, alice, client_for):
    callback = answer_consent(start_connecting(client_for(alice)), "allow")
    assert client_for(alice).get(callback).status_code == 400
    assert Connection.objects.get(provider="xero").status == Connection.Status.PENDING


def test_callback_cannot_be_used_twice(xero, alice, client_for):
    client = client_for(alice)
    callback = answer_consent(start_connecting(client), "allow")
    assert client.get(callback).status_code == 302
    assert client.get(callback).status_code == 400


def test_pressing_cancel_at_xero_shows_a_friendly_page(xero, alice, client_for):
    client = client_for(alice)
    response = client.get(answer_consent(start_connecting(client), "deny"))
    assert response.status_code == 200
    assert "You chose not to give the sync hub access to Xero" in response.content.decode()
    assert Connection.objects.get(provider="xero").status == Connection.Status.PENDING


def test_reconnecting_restores_a_connection_that_needs_reauthorisation(xero, alice, client_for, connect):
    connection = connect(xero, "xero", status=Connection.Status.NEEDS_REAUTH)
    client = client_for(alice)
    authorize = client.post(reverse("syncing:reconnect", args=[connection.pk]))["Location"]
    client.get(answer_consent(authorize, "allow"))
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE


def test_disconnect_asks_first_then_disables_the_connection(xero, alice, client_for, connect):
    connection = connect(xero, "xero")
    client = client_for(alice)
    assert client.get(reverse("syncing:disconnect", args=[connection.pk])).status_code == 200
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    client.post(reverse("syncing:disconnect", args=[connection.pk]))
    connection.refresh_from_db()
    assert (connection.status, connection.credentials) == (Connection.Status.DISABLED, {})


def test_integrations_list_shows_each_provider_with_its_logo(alice, client_for):
    page = client_for(alice).get(reverse("syncing:integrations")).content.decode()
    for name in ("Xero", "Lightspeed", "Unleashed"):
        assert name in page
    assert page.count("<svg") >= 4
