"""A connection whose provider stopped accepting us: the owners are told once, by email, where to
reconnect, and reconnecting works even when the plan's calls for the month are spent."""

import pytest

from connectors.errors import AuthorizationRevoked, BudgetExhausted
from connectors.http import connector_for
from syncing.models import ApiCall, Connection
from syncing.services import connections
from tests.consent import reconnect
from tests.invoices.smtp import smtp_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def xero(start_emulator):
    return start_emulator("xero")


@pytest.fixture
def xero_connection(xero, connect):
    return connect(xero, "xero")


def spend_the_plan(connection: Connection) -> Connection:
    """Allow one call a month and make it: the plan refuses every further call."""
    connection.tenant.monthly_call_allowance = 1
    connection.tenant.save()
    connector_for(connection).list_organisations()
    with pytest.raises(BudgetExhausted):
        connector_for(connection).list_organisations()
    return connection


def test_reconnecting_works_when_the_plans_calls_are_spent(xero_connection):
    spend_the_plan(xero_connection)
    connections.mark_needs_reauth(xero_connection, reason="Xero refused to renew our access.")

    connection = reconnect(xero_connection)

    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    # Still in the call log, though the plan did not count them.
    purposes = list(ApiCall.objects.filter(connection=connection).values_list("purpose", flat=True))
    assert purposes.count("connections") == 2 and "oauth" in purposes


def test_the_plan_still_refuses_other_calls_after_a_reconnect(xero_connection):
    spend_the_plan(xero_connection)
    connections.mark_needs_reauth(xero_connection, reason="Xero refused to renew our access.")
    connection = reconnect(xero_connection)

    with pytest.raises(BudgetExhausted):
        connector_for(connection).list_accounts()


def test_owners_get_one_email_with_the_reconnect_link_when_xero_stops_accepting_us(
    settings, xero, xero_connection, alice, bob
):
    settings.SITE_URL = "https://sync.example.com"
    # Two workers holding the connection when the grant is revoked, each failing a call.
    workers = [Connection.objects.get(pk=xero_connection.pk) for _ in range(2)]
    with smtp_server(settings) as inbox:
        xero.oauth.revoke_refresh_tokens()
        for worker in workers:
            with pytest.raises(AuthorizationRevoked):
                connector_for(worker).list_accounts()

    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == [alice.email]
    assert "Xero" in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Xero" in text and "https://sync.example.com/" in text


def test_no_email_when_the_connection_already_needs_reconnecting(settings, xero_connection, alice):
    connections.mark_needs_reauth(xero_connection, reason="Xero refused to renew our access.")
    with smtp_server(settings) as inbox:
        connections.mark_needs_reauth(xero_connection, reason="Xero refused to renew our access.")

    assert inbox.messages == []


def test_no_email_when_a_connection_being_connected_is_refused(settings, xero_connection, alice):
    Connection.objects.filter(pk=xero_connection.pk).update(status=Connection.Status.PENDING)
    xero_connection.refresh_from_db()
    with smtp_server(settings) as inbox:
        connections.mark_needs_reauth(xero_connection, reason="Xero refused the sign-in.")

    assert inbox.messages == []
