"""Connections: list, create and re-authorise (providers authorised by API keys), read, enable or
disable, their settings, and syncs started on demand."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task
from ninja import Query, Router, Status

from connectors.base import AuthKind
from connectors.registry import get_provider
from syncing import selectors
from syncing.api.errors import ERRORS, ApiError, field_error
from syncing.api.pagination import PageParams, paginate
from syncing.api.schemas import (
    ApiKeyAuthorization,
    ConnectionConfigIn,
    ConnectionConfigOut,
    ConnectionConfigPatch,
    ConnectionCreate,
    ConnectionOut,
    ConnectionPage,
    ConnectionPatch,
    SyncQueued,
    SyncRequest,
    SyncRunOut,
    VisibleAccounts,
)
from syncing.api.scoping import connection_of, connections_of
from syncing.freshness import connection_freshness
from syncing.models import Connection, SyncRun
from syncing.schedules import update_sync_settings
from syncing.services import connections, sync_flow
from syncing.services.connections import MAPPING_SETTINGS
from syncing.tasks import POLLED_RESOURCES

router = Router(tags=["connections"])

# Settings the API writes as they come; the intervals go through update_sync_settings (clamped).
SUCCEEDED = (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL)


def connection_out(connection: Connection) -> dict:
    freshness = connection_freshness(connection, now=timezone.now())
    return {
        "id": connection.pk,
        "integration": connection.provider,
        "status": connection.status,
        "status_reason": connection.status_reason,
        "enabled": connection.status != Connection.Status.DISABLED,
        "organisation": {"id": connection.remote_org_id, "name": connection.remote_org_name},
        "created_at": connection.created_at,
        "freshness_promise_seconds": _seconds(freshness.promise),
        "recent_lag_seconds": [_seconds(lag) for lag in freshness.recent_lags],
        "poll_interval_effective_seconds": _seconds(freshness.effective_poll_interval),
    }


def _seconds(duration: timedelta) -> int:
    return round(duration.total_seconds())


def config_of(connection: Connection) -> dict:
    return {
        "connection": connection.pk,
        "poll_interval_minutes": connection.poll_interval // timedelta(minutes=1),
        "sweep_interval_minutes": connection.sweep_interval // timedelta(minutes=1),
        "sweep_size": connection.sweep_size,
        **{name: getattr(connection, name) for name in MAPPING_SETTINGS},
    }


@router.get("", response={200: ConnectionPage, **ERRORS})
def list_connections(request, page: Query[PageParams]):
    return paginate(connections_of(request), page, shape=lambda rows: [connection_out(c) for c in rows])


@router.post("", response={201: ConnectionOut, **ERRORS})
def create_connection(request, payload: ConnectionCreate):
    """Connect a provider authorised by API keys (Unleashed); the keys are checked with one call
    and nothing is kept if the provider refuses them. A provider with a sign-in page is connected
    by the merchant through a sync-flow URL instead."""
    spec = get_provider(payload.integration)
    if spec.auth != AuthKind.API_KEY_HMAC:
        raise field_error(
            422,
            "integration",
            f"{spec.name} is connected by the merchant at its sign-in page: issue a sync-flow URL.",
        )
    connection = _authorise(request, spec.key, payload, connection=None)
    return Status(201, connection_out(connection))


@router.put("/{int:connection_id}/authorization", response={200: ConnectionOut, **ERRORS})
def update_authorization(request, connection_id: int, payload: ApiKeyAuthorization):
    """Give a connection authorised by API keys a new pair (after the merchant regenerated them);
    a refused pair leaves the connection as it was."""
    connection = connection_of(request, connection_id)
    if connection.spec.auth != AuthKind.API_KEY_HMAC:
        raise ApiError(
            409, f"{connection.spec.name} is authorised at its sign-in page: issue a sync-flow URL."
        )
    return connection_out(_authorise(request, connection.provider, payload, connection=connection))


def _authorise(request, provider_key: str, payload, *, connection: Connection | None) -> Connection:
    try:
        return connections.connect_with_api_key(
            tenant=request.auth.tenant,
            provider_key=provider_key,
            api_id=payload.api_id,
            api_key=payload.api_key,
            connection=connection,
        )
    except connections.CredentialsRefused as exc:
        raise field_error(422, "api_key", str(exc)) from None


@router.get("/{int:connection_id}", response={200: ConnectionOut, **ERRORS})
def get_connection(request, connection_id: int):
    return connection_out(connection_of(request, connection_id))


@router.patch("/{int:connection_id}", response={200: ConnectionOut, **ERRORS})
def update_connection(request, connection_id: int, payload: ConnectionPatch):
    """Disable a connection (syncing and posting stop, its tokens are kept) or enable it again."""
    connection = connection_of(request, connection_id)
    try:
        connections.set_enabled(connection, enabled=payload.enabled, reason="Disabled through the API.")
    except connections.CannotEnable as exc:
        raise ApiError(409, str(exc)) from None
    return connection_out(connection)


@router.get("/{int:connection_id}/config", response={200: ConnectionConfigOut, **ERRORS})
def get_connection_config(request, connection_id: int):
    return config_of(connection_of(request, connection_id))


@router.patch("/{int:connection_id}/config", response={200: ConnectionConfigOut, **ERRORS})
def update_connection_config(request, connection_id: int, payload: ConnectionConfigPatch):
    connection = connection_of(request, connection_id)
    sent = payload.dict(exclude_unset=True, exclude_none=True)
    update_sync_settings(
        connection,
        poll_interval=_minutes(sent.get("poll_interval_minutes")),
        sweep_interval=_minutes(sent.get("sweep_interval_minutes")),
        sweep_size=sent.get("sweep_size"),
    )
    connections.update_mappings(connection, **{name: sent[name] for name in MAPPING_SETTINGS if name in sent})
    connection.refresh_from_db()
    return config_of(connection)


@router.put("/{int:connection_id}/config", response={200: ConnectionConfigOut, **ERRORS})
def replace_connection_config(request, connection_id: int, payload: ConnectionConfigIn):
    """Replace every setting at once (all fields required)."""
    connection = connection_of(request, connection_id)
    replace_config(connection, payload.dict())
    return config_of(connection)


def replace_config(connection: Connection, values: dict) -> Connection:
    update_sync_settings(
        connection,
        poll_interval=_minutes(values["poll_interval_minutes"]),
        sweep_interval=_minutes(values["sweep_interval_minutes"]),
        sweep_size=values["sweep_size"],
    )
    connections.update_mappings(
        connection, **{name: values[name] for name in MAPPING_SETTINGS if name in values}
    )
    connection.refresh_from_db()
    return connection


@router.get("/{int:connection_id}/visible-accounts", response={200: VisibleAccounts, **ERRORS})
def get_visible_accounts(request, connection_id: int):
    """The account codes the sync flow offers the merchant when mapping this connection."""
    return {"accounts": connection_of(request, connection_id).visible_accounts}


@router.put("/{int:connection_id}/visible-accounts", response={200: VisibleAccounts, **ERRORS})
def replace_visible_accounts(request, connection_id: int, payload: VisibleAccounts):
    connection = sync_flow.set_visible_accounts(connection_of(request, connection_id), payload.accounts)
    return {"accounts": connection.visible_accounts}


def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


@router.post("/{int:connection_id}/syncs", response={202: SyncQueued, **ERRORS})
def start_sync(request, connection_id: int, payload: SyncRequest):
    """Queue a pull of one resource; follow it with GET /connections/{id}/syncs/latest."""
    connection = connection_of(request, connection_id)
    capability, task = POLLED_RESOURCES[payload.kind]
    if not connection.is_active:
        raise ApiError(409, f"The connection is {connection.get_status_display().lower()}.")
    if not connection.spec.can(capability):
        raise ApiError(409, f"{connection.spec.name} does not provide {payload.kind}.")
    task_id = async_task(task, connection.pk, SyncRun.Trigger.API)
    return Status(202, {"task_id": task_id, "connection": connection.pk, "kind": payload.kind})


@router.get("/{int:connection_id}/syncs/latest", response={200: SyncRunOut, **ERRORS})
def latest_sync(request, connection_id: int, kind: str | None = None):
    connection = connection_of(request, connection_id)
    return _first(selectors.last_runs(connection, kind=kind, limit=1))


@router.get("/{int:connection_id}/syncs/last-successful", response={200: SyncRunOut, **ERRORS})
def last_successful_sync(request, connection_id: int, kind: str | None = None):
    connection = connection_of(request, connection_id)
    runs = SyncRun.objects.filter(Q(status__in=SUCCEEDED), connection=connection)
    if kind:
        runs = runs.filter(kind=kind)
    return _first(runs.order_by("-started_at", "-pk"))


def _first(runs) -> SyncRun:
    run = runs.first()
    if run is None:
        raise ApiError(404, "No sync has run yet.")
    return run
