"""Connecting, reconnecting and disconnecting a tenant's provider account."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors import oauth
from connectors.base import AuthKind, Capability, Priority
from connectors.errors import AuthorizationRevoked, ConnectorError, ValidationFailed
from connectors.http import connector_for
from connectors.records import AccountKind, RemoteAccount, RemoteOrganisation, RemoteTaxRate
from syncing.models import Connection, Tenant
from syncing.services.notifications import notify_needs_reauth
from syncing.services.outbound import emit_event


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
    """Stop work on the connection until the merchant reconnects, and email the owners. True the
    first time only, so the merchant is told once however many calls were refused."""
    Status = Connection.Status
    row = Connection.objects.filter(pk=connection.pk)
    fields = {
        "status": Status.NEEDS_REAUTH,
        "status_reason": reason[:1000],
        "access_lost_at": timezone.now(),
        "refresh_claimed_until": None,
    }
    # Only a working connection needs an email: a pending one is refused while the merchant is
    # connecting it, and the page they are on says so.
    was_active = row.filter(status=Status.ACTIVE).update(**fields)
    changed = was_active or row.exclude(status__in=[Status.NEEDS_REAUTH, Status.DISABLED]).update(**fields)
    if changed:
        connection.status, connection.status_reason = Status.NEEDS_REAUTH, reason[:1000]
        connection.access_lost_at = fields["access_lost_at"]
        emit_event(connection.tenant_id, "connection.needs_reauth", connection_event(connection))
    if was_active:
        notify_needs_reauth(connection)
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
    emit_event(connection.tenant_id, "connection.disconnected", connection_event(connection))


def _organisations(connection: Connection) -> list[RemoteOrganisation]:
    # Part of linking: a tenant whose plan's calls are spent must still be able to reconnect.
    return connector_for(connection, priority=Priority.INVOICE, plan_budget=False).list_organisations()


def _activate(connection: Connection, organisation: RemoteOrganisation | None) -> None:
    fields = {"status": Connection.Status.ACTIVE, "status_reason": ""}
    if organisation is not None:
        fields |= {"remote_org_id": organisation.remote_id, "remote_org_name": organisation.name}
    Connection.objects.filter(pk=connection.pk).update(**fields)
    for name, value in fields.items():
        setattr(connection, name, value)
    emit_event(connection.tenant_id, "connection.linked", connection_event(connection))


def connection_event(connection: Connection) -> dict:
    """What a `connection.*` webhook carries."""
    return {
        "connection": connection.pk,
        "integration": connection.provider,
        "status": connection.status,
        "status_reason": connection.status_reason,
        "organisation": {"id": connection.remote_org_id, "name": connection.remote_org_name},
    }


class CredentialsRefused(Exception):
    """The provider refused the API id and key the merchant typed; nothing was saved."""


def connect_with_api_key(
    *, tenant: Tenant, provider_key: str, api_id: str, api_key: str, connection: Connection | None = None
) -> Connection:
    """Connect a provider that authenticates with an API id and key (Unleashed): the pair is
    checked with one call and the connection kept only if the provider accepts it. Raises
    `CredentialsRefused` with a sentence for the merchant otherwise. Given `connection`, that one
    takes the new pair (its authorisation updated); a refused pair leaves it as it was."""
    with transaction.atomic():
        # A half-finished attempt, or a connection whose key was regenerated, gets the new pair.
        pending = connection or (
            Connection.objects.filter(
                tenant=tenant,
                provider=provider_key,
                status__in=[Connection.Status.PENDING, Connection.Status.NEEDS_REAUTH],
            )
            .order_by("pk")
            .first()
        )
        connection = pending or Connection(tenant=tenant, provider=provider_key)
        if connection.spec.auth != AuthKind.API_KEY_HMAC:
            raise ValueError(f"{connection.spec.name} is connected through its sign-in page.")
        connection.base_url = connection.base_url or provider_base_url(provider_key)
        connection.credentials = {"api_id": api_id.strip(), "api_key": api_key.strip()}
        connection.status = Connection.Status.PENDING
        if connection.pk:
            # Only the authorisation: cursors and settings written meanwhile by a run stay.
            connection.save(update_fields=["base_url", "credentials", "status", "updated_at"])
        else:
            connection.save()
        try:
            connector_for(connection, priority=Priority.INVOICE).check_access()
        except AuthorizationRevoked:
            # Leaving the block by raising rolls the pending connection back: nothing is kept.
            raise CredentialsRefused(
                f"{connection.spec.name} did not accept this API id and key. Copy both again from "
                f"{connection.spec.name} (Integration, then API Access) and try once more."
            ) from None
        except ConnectorError as exc:
            raise CredentialsRefused(
                f"We could not check the keys with {connection.spec.name} just now ({exc}). Please try again."
            ) from None
        _activate(connection, None)
    return connection


@dataclass(frozen=True)
class MappingChoices:
    """What the mapping step offers, read from the provider: accounts (already limited to the ones
    staff made visible) and tax rates. `problem` says in plain words why a list is missing."""

    sales_accounts: list[RemoteAccount] = field(default_factory=list)
    payment_accounts: list[RemoteAccount] = field(default_factory=list)
    tax_rates: list[RemoteTaxRate] = field(default_factory=list)
    problem: str = ""


def mapping_choices(connection: Connection) -> MappingChoices:
    """Read the chart of accounts and the tax rates from the provider now: one call per list
    (Sage pages past 200), and nothing cached, so an account added or archived there shows at
    once. `connection.visible_accounts` (account codes staff chose; empty = all) limits both
    account lists."""
    spec = connection.spec
    if not connection.is_active or not spec.can(Capability.LIST_ACCOUNTS):
        return MappingChoices()
    # A merchant is waiting on the page: spend from the slice kept for invoices, not the polls'.
    connector = connector_for(connection, priority=Priority.INVOICE)
    try:
        accounts = connector.list_accounts()
        rates = connector.list_tax_rates() if spec.can(Capability.LIST_TAX_RATES) else []
    except ConnectorError as exc:
        return MappingChoices(
            problem=f"We could not read your accounts from {spec.name} just now ({exc}). "
            "Type the account codes instead, or try again later."
        )
    visible = {str(code) for code in connection.visible_accounts or []}
    if visible:
        accounts = [account for account in accounts if account.code in visible]
    return MappingChoices(
        sales_accounts=[a for a in accounts if a.kind == AccountKind.SALES],
        payment_accounts=[a for a in accounts if a.kind == AccountKind.BANK],
        tax_rates=rates,
    )


def queue_pulls(connection: Connection, *, trigger: str) -> list[str]:
    """Queue a pull of every resource the provider offers (products, stock, customers) for the
    workers, now rather than at the next poll; the resources queued. An inactive connection
    queues nothing."""
    from django_q.tasks import async_task

    # tasks imports the sync services, which import this module: import where it is used.
    from syncing.tasks import POLLED_RESOURCES

    if not connection.is_active:
        return []
    queued = []
    for resource, (capability, task) in POLLED_RESOURCES.items():
        if connection.spec.can(capability):
            async_task(task, connection.pk, trigger)
            queued.append(resource)
    return queued


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
