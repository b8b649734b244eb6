"""Connecting a provider: list, consent redirect (or API keys for Unleashed), callback,
organisation choice, mapping, sync now, disconnect.

The consent state is bound twice: `connect_start` stores it on the connection (single use, burnt
by `connect_complete`), and this view keeps it in the signed-in user's session, so a callback
opened in another browser or session is refused even with a valid state.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connectors import oauth
from connectors.base import AuthKind
from connectors.errors import ConnectorError, UnknownProvider
from connectors.registry import all_providers, get_provider
from syncing import selectors
from syncing.forms import ApiKeyConnectForm, ConnectionMappingForm
from syncing.models import Connection, SyncRun
from syncing.services import connections
from syncing.texts import sync_flow_texts
from syncing.views.auth import get_object_for_tenant, tenant_for, tenant_required

SESSION_STATE = "connect_state"
SESSION_ORGANISATIONS = "connect_organisations"


def callback_uri(request: HttpRequest, provider_key: str) -> str:
    return request.build_absolute_uri(reverse("syncing:connect_callback", args=[provider_key]))


def _spec_or_404(provider_key: str):
    try:
        return get_provider(provider_key)
    except UnknownProvider:
        raise Http404("No such provider.") from None


def _send_to_consent(request: HttpRequest, connection: Connection) -> HttpResponse:
    url = connections.connect_start(connection, redirect_uri=callback_uri(request, connection.provider))
    request.session[SESSION_STATE] = connection.oauth_state
    return redirect(url)


@tenant_required
def integrations(request: HttpRequest) -> HttpResponse:
    tenant = tenant_for(request)
    connected = {}
    for connection in Connection.objects.filter(tenant=tenant).exclude(status=Connection.Status.DISABLED):
        connected.setdefault(connection.provider, []).append(connection)
    rows = [
        {
            "spec": spec,
            "oauth": spec.auth == AuthKind.OAUTH2,
            "syncs": sorted(str(capability).replace("_", " ") for capability in spec.capabilities),
            "connections": connected.get(key, []),
            "texts": sync_flow_texts(tenant, provider=spec.name),
        }
        for key, spec in all_providers().items()
    ]
    return render(request, "dashboard/integrations.html", {"rows": rows, "texts": sync_flow_texts(tenant)})


@require_POST
@tenant_required
def connect(request: HttpRequest, provider_key: str) -> HttpResponse:
    spec = _spec_or_404(provider_key)
    if spec.auth != AuthKind.OAUTH2:
        return redirect("syncing:connect_api_key", provider_key=spec.key)
    connection = connections.pending_connection(tenant=tenant_for(request), provider_key=spec.key)
    return _send_to_consent(request, connection)


@require_http_methods(["GET", "POST"])
@tenant_required
def connect_api_key(request: HttpRequest, provider_key: str) -> HttpResponse:
    """Providers without a sign-in page (Unleashed): the merchant types the API id and key, which
    are checked with the provider before anything is saved."""
    spec = _spec_or_404(provider_key)
    if spec.auth != AuthKind.API_KEY_HMAC:
        raise Http404("This provider is connected through its sign-in page.")
    tenant = tenant_for(request)
    form = ApiKeyConnectForm(request.POST or None)
    if request.method == "POST" and (connection := form.connect(tenant=tenant, provider_key=spec.key)):
        messages.success(request, f"Connected to {spec.name}.")
        return redirect("syncing:connection_settings", pk=connection.pk)
    context = {"spec": spec, "form": form, "texts": sync_flow_texts(tenant, provider=spec.name)}
    return render(request, "dashboard/connect_api_key.html", context)


@require_POST
@tenant_required
def reconnect(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_for_tenant(request, Connection, pk)
    if connection.spec.auth != AuthKind.OAUTH2:
        return redirect("syncing:connect_api_key", provider_key=connection.provider)
    return _send_to_consent(request, connection)


@require_GET
@tenant_required
def access_lost(request: HttpRequest, pk: int) -> HttpResponse:
    """The page the needs-reconnecting email links to: what happened, in plain words, and the one
    step that reconnects (a button to `reconnect`, or the API-key form for Unleashed)."""
    connection = get_object_for_tenant(request, Connection, pk)
    tenant = tenant_for(request)
    context = {
        "connection": connection,
        "oauth": connection.spec.auth == AuthKind.OAUTH2,
        "waiting": selectors.outbox_counts([connection]).get(connection.pk, {}).get("waiting", 0),
        "form": ApiKeyConnectForm(),
        "texts": sync_flow_texts(tenant, provider=connection.spec.name),
    }
    return render(request, "dashboard/access_lost.html", context)


@tenant_required
def callback(request: HttpRequest, provider_key: str) -> HttpResponse:
    spec = _spec_or_404(provider_key)
    expected = request.session.pop(SESSION_STATE, "")
    state = request.GET.get("state", "")
    if request.GET.get("error"):
        # The merchant pressed Cancel on the provider's page (RFC 6749 4.1.2.1 access_denied).
        denied = request.GET["error"] == "access_denied"
        return render(
            request, "dashboard/connect_cancelled.html", {"spec": spec, "denied": denied}, status=200
        )
    pending = Connection.objects.filter(tenant=tenant_for(request), provider=spec.key, oauth_state=state)
    if not state or state != expected or not pending.exists():
        return render(request, "dashboard/connect_refused.html", {"spec": spec}, status=400)
    extra = {k: v for k, v in request.GET.items() if k not in ("code", "state", "scope")}
    try:
        connection = connections.connect_complete(
            state=state,
            code=request.GET.get("code", ""),
            redirect_uri=callback_uri(request, spec.key),
            extra=extra,
        )
    except oauth.InvalidState:
        return render(request, "dashboard/connect_refused.html", {"spec": spec}, status=400)
    except ConnectorError as exc:
        messages.error(request, f"{spec.name} did not complete the connection: {exc}")
        return redirect("syncing:integrations")
    if connection.status == Connection.Status.ACTIVE:
        messages.success(request, f"Connected to {spec.name}: {connection.remote_org_name or spec.name}.")
        return redirect("syncing:connection_settings", pk=connection.pk)
    request.session[SESSION_ORGANISATIONS] = {
        str(connection.pk): [[org.remote_id, org.name] for org in connection.organisation_choices]
    }
    return redirect("syncing:choose_organisation", pk=connection.pk)


@require_http_methods(["GET", "POST"])
@tenant_required
def choose_organisation(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_for_tenant(request, Connection, pk)
    choices = request.session.get(SESSION_ORGANISATIONS, {}).get(str(connection.pk), [])
    if request.method == "POST":
        try:
            connections.choose_organisation(connection, remote_org_id=request.POST.get("organisation", ""))
        except ConnectorError as exc:
            messages.error(request, str(exc))
        else:
            request.session.pop(SESSION_ORGANISATIONS, None)
            return redirect("syncing:connection_settings", pk=connection.pk)
    texts = sync_flow_texts(tenant_for(request), provider=connection.spec.name)
    return render(
        request,
        "dashboard/choose_organisation.html",
        {"connection": connection, "choices": choices, "texts": texts},
    )


@require_http_methods(["GET", "POST"])
@tenant_required
def connection_settings(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_for_tenant(request, Connection, pk)
    form = ConnectionMappingForm.for_connection(connection, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved the settings for {connection.spec.name}.")
        return redirect("syncing:overview")
    context = {
        "connection": connection,
        "form": form,
        "texts": sync_flow_texts(tenant_for(request), provider=connection.spec.name),
    }
    return render(request, "dashboard/connection_settings.html", context)


@require_POST
@tenant_required
def start_sync(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_for_tenant(request, Connection, pk)
    queued = connections.queue_pulls(connection, trigger=SyncRun.Trigger.MANUAL)
    if queued:
        messages.success(
            request, f"Syncing {', '.join(queued)} from {connection.spec.name}; this page shows the runs."
        )
    elif connection.status == Connection.Status.NEEDS_REAUTH:
        messages.error(request, f"{connection.spec.name} needs you to reconnect it before it can sync.")
    else:
        messages.error(request, f"{connection.spec.name} is not connected; connect it first.")
    return redirect("syncing:overview")


@require_http_methods(["GET", "POST"])
@tenant_required
def disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_for_tenant(request, Connection, pk)
    if request.method == "POST":
        connections.disconnect(connection)
        messages.success(request, f"Disconnected {connection.spec.name}. Its history is kept.")
        return redirect("syncing:overview")
    return render(request, "dashboard/disconnect_confirm.html", {"connection": connection})
