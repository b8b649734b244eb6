"""Connecting, reconnecting and disconnecting a tenant's provider account."""

from __future__ import annotations

import os

from django.conf import settings
from django.db.models import Q

from connectors import oauth
from connectors.base import Priority
from connectors.errors import ValidationFailed
from connectors.http import connector_for
from connectors.records import RemoteOrganisation
from syncing.models import Connection, Tenant


def provider_base_url(provider_key: str) -> str:
    """Where a new connection's API calls go: `<KEY>_BASE_URL` from settings or the environment
    (an emulator or sandbox), blank for the provider's production URL."""
    name = f"{provider_key.upper()}_BASE_URL"
    return getattr(settings, name, None) or os.environ.get(name, "")


def pending_connection(*, tenant: Tenant, provider_key: str) -> Connection:
    """The connection a consent is about to be asked for; a half-finished attempt is reused, so
    repeated clicks leave one pending connection."""
    connection, _ = Connection.objects.get_or_create(
        tenant=tenant,
        provider=provider_key,
        status=Connection.Status.PENDING,
        defaults={"base_url": provider_base_url(provider_key)},
    )
    return connection


def connect_start(connection: Connection, *, redirect_uri: str) -> str:
    """The provider's consent URL for a new or lapsed connection; the view redirects there."""
    return oauth.authorization_url(connection, redirect_uri)


def connect_complete(*, state: str, code: str, redirect_uri: str, extra: dict | None = None) -> Connection:
    """Finish the consent callback: exchange the code and pick the provider organisation.

    With exactly one organisation (or a provider that has no list) the connection becomes active.
    With several, it stays pending and `connection.organisation_choices` lists them for the view
    to ask; `choose_organisation` completes it. Raises `oauth.InvalidState` for a callback we did
    not start or that came too late.
    """
    connection = Connection.objects.filter(oauth_state=state).exclude(oauth_state="").first()
    if connection is None:
        raise oauth.InvalidState("This sign-in link has expired or was already used; please connect again.")
    oauth.exchange_code(connection, code=code, state=state, redirect_uri=redirect_uri, extra=extra)
    # A reconnect starts from needs_reauth, which the session refuses; the new grant is good.
    connection.status = Connection.Status.PENDING
    organisations = _organisations(connection)
    connection.organisation_choices = organisations
    known = [org for org in organisations if org.remote_id == connection.remote_org_id]
    if len(organisations) == 1 or known:
        _activate(connection, (known or organisations)[0])
    elif not organisations:
        _activate(connection, None)
    else:
        Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.PENDING)
        connection.status = Connection.Status.PENDING
    return connection


def choose_organisation(connection: Connection, *, remote_org_id: str) -> Connection:
    """Select one of the organisations the grant reaches, and activate the connection."""
    for organisation in _organisations(connection):
        if organisation.remote_id == remote_org_id:
            _activate(connection, organisation)
            return connection
    raise ValidationFailed(f"{connection.spec.name} did not offer that organisation; please choose again.")


def mark_needs_reauth(connection: Connection, *, reason: str) -> bool:
    """Stop work on the connection until the merchant reconnects. True the first time only, so
    whoever notifies the merchant does it once."""
    changed = (
        Connection.objects.filter(pk=connection.pk)
        .filter(~Q(status__in=[Connection.Status.NEEDS_REAUTH, Connection.Status.DISABLED]))
        .update(
            status=Connection.Status.NEEDS_REAUTH, status_reason=reason[:1000], refresh_claimed_until=None
        )
    )
    if changed:
        connection.status, connection.status_reason = Connection.Status.NEEDS_REAUTH, reason[:1000]
    return bool(changed)


def disconnect(connection: Connection) -> None:
    """Revoke our access at the provider (best effort) and forget the tokens; history is kept."""
    oauth.revoke(connection)
    Connection.objects.filter(pk=connection.pk).update(
        status=Connection.Status.DISABLED,
        status_reason="Disconnected.",
        credentials={},
        token_expires_at=None,
        refresh_claimed_until=None,
        oauth_state="",
        oauth_state_expires_at=None,
    )
    connection.refresh_from_db()


def _organisations(connection: Connection) -> list[RemoteOrganisation]:
    return connector_for(connection, priority=Priority.INVOICE).list_organisations()


def _activate(connection: Connection, organisation: RemoteOrganisation | None) -> None:
    fields = {"status": Connection.Status.ACTIVE, "status_reason": ""}
    if organisation is not None:
        fields |= {"remote_org_id": organisation.remote_id, "remote_org_name": organisation.name}
    Connection.objects.filter(pk=connection.pk).update(**fields)
    for name, value in fields.items():
        setattr(connection, name, value)


class CannotEnable(Exception):
    """A disconnected connection has no credentials left: the merchant must connect again."""


# Settings a merchant or an embedding platform may write as they are (the intervals are clamped
# by schedules.update_sync_settings instead).
MAPPING_SETTINGS = (
    "posting_mode",
    "sales_account_code",
    "payment_account_code",
    "payment_accounts",
    "tax_rate_map",
    "cash_sale_contact_id",
    "create_cash_sale_contact",
    "send_contact_details",
)


def set_enabled(connection: Connection, *, enabled: bool, reason: str) -> Connection:
    """Disable a connection (syncing and posting stop, its tokens are kept) or enable it again."""
    disabled = Connection.Status.DISABLED
    if not enabled:
        Connection.objects.filter(pk=connection.pk).exclude(status=disabled).update(
            status=disabled, status_reason=reason
        )
    elif connection.status == disabled:
        if not connection.credentials:
            raise CannotEnable("This connection was disconnected; connect the provider again.")
        Connection.objects.filter(pk=connection.pk, status=disabled).update(
            status=Connection.Status.ACTIVE, status_reason=""
        )
    connection.refresh_from_db()
    return connection


def update_mappings(connection: Connection, **values) -> Connection:
    unknown = set(values) - set(MAPPING_SETTINGS)
    if unknown:
        raise ValueError(f"Not a mapping setting: {', '.join(sorted(unknown))}")
    if values:
        Connection.objects.filter(pk=connection.pk).update(**values)
        connection.refresh_from_db()
    return connection
