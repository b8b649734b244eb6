"""The sync flow: a one-time link an embedding platform hands a merchant, who opens it (no account
needed) to connect the providers the platform chose, then is sent back to the platform.

The passcode travels only in the link; we keep its sha256. Opening the link spends it (a
conditional UPDATE, so two tabs cannot both use it); the browser session then carries the flow
through each provider's consent (or API keys) and, for an accounting provider, the mapping of
accounts and tax rates, until every step is done or the merchant stops.
Also here: the texts the flow shows and the accounts it offers, which the platform may set.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.utils import timezone

from connectors.base import Capability, Category, ProviderSpec
from connectors.registry import get_provider
from syncing.models import Connection, SyncFlowLink, Tenant
from syncing.texts import SYNC_FLOW_TEXTS, sync_flow_texts

LINK_LIFETIME = timedelta(hours=1)

MAX_TEXT_LENGTH = 1000


class LinkUnusable(Exception):
    """The link was already used, has expired, or was never issued; the message says which."""

    def __init__(self, message: str, status: int = 410) -> None:
        super().__init__(message)
        self.status = status


def _hash(passcode: str) -> str:
    return hashlib.sha256(passcode.encode()).hexdigest()


def create_link(
    *, tenant: Tenant, commerce: str | None, accounting: str | None, redirect_url: str
) -> tuple[SyncFlowLink, str]:
    """A new link for `tenant` and its passcode (handed out here only). Raises ValueError naming
    the field when a provider is unknown or of the wrong kind."""
    providers = []
    for field, key, category in (
        ("commerce", commerce, Category.INVENTORY),
        ("accounting", accounting, Category.ACCOUNTING),
    ):
        if key is None:
            continue
        if get_provider(key).category != category:
            raise ValueError(field, f"{get_provider(key).name} is not a {category.value} provider.")
        providers.append(key)
    if not providers:
        raise ValueError("commerce", "Choose a commerce provider, an accounting provider, or both.")
    passcode = secrets.token_urlsafe(32)
    link = SyncFlowLink.objects.create(
        tenant=tenant,
        passcode_hash=_hash(passcode),
        providers=providers,
        redirect_url=redirect_url,
        expires_at=timezone.now() + LINK_LIFETIME,
    )
    return link, passcode


def usable_link(passcode: str) -> SyncFlowLink:
    """The link `passcode` names if it may still be opened; nothing is spent."""
    link = (
        SyncFlowLink.objects.select_related("tenant")
        .filter(passcode_hash=_hash(passcode), opened_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if link is None:
        raise _refusal(passcode)
    return link


def open_link(passcode: str) -> SyncFlowLink:
    """Spend the passcode: the link it names, once, before it expires."""
    now = timezone.now()
    opened = SyncFlowLink.objects.filter(
        passcode_hash=_hash(passcode), opened_at__isnull=True, expires_at__gt=now
    ).update(opened_at=now)
    if not opened:
        raise _refusal(passcode)
    return SyncFlowLink.objects.select_related("tenant").get(passcode_hash=_hash(passcode))


def _refusal(passcode: str) -> LinkUnusable:
    """Why the link cannot be opened, in the merchant's words."""
    link = SyncFlowLink.objects.filter(passcode_hash=_hash(passcode)).first()
    if link is None:
        return LinkUnusable(
            "This link is not one we issued. Check it was copied whole, or ask for a new link.", 404
        )
    if link.opened_at is not None:
        return LinkUnusable("This link was already used: each link works once. Ask for a new link.")
    return LinkUnusable("This link has expired: links work for an hour. Ask for a new link to connect.")


def has_mapping_step(spec: ProviderSpec) -> bool:
    """A provider whose chart of accounts we can read is mapped before the flow ends."""
    return spec.can(Capability.LIST_ACCOUNTS)


@dataclass(frozen=True)
class Step:
    """One chosen provider in the flow: connected yet (its active connection), and for a provider
    with a chart of accounts, whether the merchant has mapped it in this flow."""

    spec: ProviderSpec
    connection: Connection | None
    mapped: bool

    @property
    def needs_mapping(self) -> bool:
        return self.connection is not None and has_mapping_step(self.spec) and not self.mapped

    @property
    def done(self) -> bool:
        return self.connection is not None and not self.needs_mapping


def steps(link: SyncFlowLink, *, mapped: Collection[int]) -> list[Step]:
    """The link's providers in order, each with where the merchant is; `mapped` are the
    connections whose mapping was saved in this flow."""
    active = {
        connection.provider: connection
        for connection in Connection.objects.filter(
            tenant=link.tenant, provider__in=link.providers, status=Connection.Status.ACTIVE
        ).order_by("pk")
    }
    mapped = set(mapped)
    return [
        Step(
            spec=get_provider(key),
            connection=active.get(key),
            mapped=getattr(active.get(key), "pk", None) in mapped,
        )
        for key in link.providers
    ]


def connection_to_map(link: SyncFlowLink, pk: int) -> Connection | None:
    """The link tenant's active connection `pk` to one of the link's providers, if it has accounts."""
    connection = Connection.objects.filter(
        pk=pk, tenant=link.tenant, provider__in=link.providers, status=Connection.Status.ACTIVE
    ).first()
    if connection is None or not has_mapping_step(connection.spec):
        return None
    return connection


def finish(link: SyncFlowLink, *, outcome: str) -> str:
    """Close the flow with `outcome` ("connected", "cancelled" or "failed") and give the URL that
    takes the merchant back to the platform, carrying the outcome and the company id; "" when the
    platform gave none (the flow then ends on its own page)."""
    if link.finished_at is None:
        link.finished_at, link.outcome = timezone.now(), outcome
        link.save(update_fields=["finished_at", "outcome"])
    if not link.redirect_url:
        return ""
    parts = urlsplit(link.redirect_url)
    extra = urlencode({"outcome": link.outcome, "company": link.tenant_id})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def texts_for(tenant: Tenant) -> dict[str, str]:
    """Every text with its `{provider}` placeholder kept: the tenant's own where set, else ours."""
    return sync_flow_texts(tenant)


def set_texts(tenant: Tenant, texts: dict[str, str]) -> Tenant:
    """Replace the tenant's own texts; keys left out show the product's wording."""
    unknown = sorted(set(texts) - set(SYNC_FLOW_TEXTS))
    if unknown:
        raise ValueError(
            unknown[0], f"Unknown text {unknown[0]!r}; the texts are {', '.join(SYNC_FLOW_TEXTS)}."
        )
    tenant.sync_flow_texts = dict(texts)
    tenant.save(update_fields=["sync_flow_texts"])
    return tenant


def set_visible_accounts(connection: Connection, accounts: Sequence[str]) -> Connection:
    """The accounts the flow offers the merchant for mapping, in order, each once."""
    connection.visible_accounts = list(dict.fromkeys(accounts))
    Connection.objects.filter(pk=connection.pk).update(visible_accounts=connection.visible_accounts)
    return connection
