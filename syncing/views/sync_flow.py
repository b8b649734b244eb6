"""The sync flow a merchant reaches through an embedding platform's one-time link: no sign-in; the
link's passcode is spent when the merchant presses Start, and the browser session carries the
flow from there.

start page -> Start (spends the passcode) -> progress page (each chosen provider: connect, map,
or done) -> provider consent -> callback (-> organisation choice when the grant reaches several),
or the API-key form for a provider without a sign-in page -> mapping of accounts and tax rates for
an accounting provider -> progress ... -> back to the platform with
`?outcome=connected|cancelled|failed&company=<id>`, or the flow's own closing page when the
platform gave no address. The key and mapping steps are the dashboard's forms.

The consent state is bound to the session as in the dashboard's connect flow, and the callback
only completes a pending connection of the link's own tenant.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from connectors import oauth
from connectors.base import AuthKind
from connectors.errors import ConnectorError
from connectors.registry import get_provider
from syncing.forms import ApiKeyConnectForm, ConnectionMappingForm
from syncing.models import Connection, SyncFlowLink
from syncing.services import connections, sync_flow
from syncing.texts import sync_flow_texts

SESSION_LINK = "sync_flow_link"
SESSION_STATE = "sync_flow_state"
SESSION_ORGANISATIONS = "sync_flow_organisations"
SESSION_MAPPED = "sync_flow_mapped"
ENDED = "This connection session has ended. Ask for a new link to connect."


def _unusable(request: HttpRequest, message: str, status: int = 410) -> HttpResponse:
    return render(request, "sync_flow/unusable.html", {"message": message}, status=status)


def _link(request: HttpRequest) -> SyncFlowLink | None:
    """The flow this browser is in, while it is not finished."""
    pk = request.session.get(SESSION_LINK)
    if pk is None:
        return None
    return SyncFlowLink.objects.select_related("tenant").filter(pk=pk, finished_at__isnull=True).first()


def _back(request: HttpRequest, link: SyncFlowLink, outcome: str) -> HttpResponse:
    request.session.pop(SESSION_LINK, None)
    request.session.pop(SESSION_MAPPED, None)
    url = sync_flow.finish(link, outcome=outcome)
    if url:
        return redirect(url)
    return render(request, "sync_flow/done.html", {"link": link})


def _after_connecting(connection: Connection) -> HttpResponse:
    """An accounting provider goes on to its mapping step; anything else back to the list."""
    if sync_flow.has_mapping_step(connection.spec):
        return redirect("syncing:sync_flow_mapping", pk=connection.pk)
    return redirect("syncing:sync_flow_progress")


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, passcode: str) -> HttpResponse:
    """GET only shows the link's page: mail and chat apps open links to preview them, which must
    not spend it. Pressing Start (POST) spends it."""
    try:
        if request.method == "GET":
            link = sync_flow.usable_link(passcode)
            return render(request, "sync_flow/start.html", {"link": link, "providers": _specs(link)})
        link = sync_flow.open_link(passcode)
    except sync_flow.LinkUnusable as exc:
        return _unusable(request, str(exc), exc.status)
    request.session[SESSION_LINK] = link.pk
    request.session.pop(SESSION_MAPPED, None)
    return redirect("syncing:sync_flow_progress")


def _specs(link: SyncFlowLink) -> list:
    return [get_provider(key) for key in link.providers]


def progress(request: HttpRequest) -> HttpResponse:
    link = _link(request)
    if link is None:
        return _unusable(request, ENDED)
    steps = sync_flow.steps(link, mapped=request.session.get(SESSION_MAPPED, []))
    if all(step.done for step in steps):
        return _back(request, link, "connected")
    rows = [
        {
            "step": step,
            "spec": step.spec,
            "oauth": step.spec.auth == AuthKind.OAUTH2,
            "texts": sync_flow_texts(link.tenant, provider=step.spec.name),
        }
        for step in steps
    ]
    context = {"link": link, "rows": rows, "texts": sync_flow_texts(link.tenant)}
    return render(request, "sync_flow/progress.html", context)


@require_POST
def connect(request: HttpRequest, provider_key: str) -> HttpResponse:
    link = _link(request)
    if link is None or provider_key not in link.providers:
        return _unusable(request, ENDED)
    if get_provider(provider_key).auth != AuthKind.OAUTH2:
        return redirect("syncing:sync_flow_api_key", provider_key=provider_key)
    connection = connections.pending_connection(tenant=link.tenant, provider_key=provider_key)
    url = connections.connect_start(connection, redirect_uri=_callback_uri(request, provider_key))
    request.session[SESSION_STATE] = connection.oauth_state
    return redirect(url)


@require_http_methods(["GET", "POST"])
def connect_api_key(request: HttpRequest, provider_key: str) -> HttpResponse:
    """A provider without a sign-in page (Unleashed): the dashboard's form, whose keys are checked
    with the provider before anything is kept."""
    link = _link(request)
    if link is None or provider_key not in link.providers:
        return _unusable(request, ENDED)
    spec = get_provider(provider_key)
    if spec.auth != AuthKind.API_KEY_HMAC:
        return redirect("syncing:sync_flow_progress")
    form = ApiKeyConnectForm(request.POST or None)
    if request.method == "POST" and (connection := form.connect(tenant=link.tenant, provider_key=spec.key)):
        return _after_connecting(connection)
    texts = sync_flow_texts(link.tenant, provider=spec.name)
    context = {"link": link, "spec": spec, "form": form, "texts": texts}
    return render(request, "sync_flow/api_key.html", context)


@require_http_methods(["GET", "POST"])
def mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Where sales land in the accounting provider: the dashboard's mapping form, offering the
    accounts the platform made visible."""
    link = _link(request)
    connection = sync_flow.connection_to_map(link, pk) if link is not None else None
    if connection is None:
        return _unusable(request, ENDED)
    form = ConnectionMappingForm.for_connection(connection, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        request.session[SESSION_MAPPED] = [*request.session.get(SESSION_MAPPED, []), connection.pk]
        return redirect("syncing:sync_flow_progress")
    texts = sync_flow_texts(link.tenant, provider=connection.spec.name)
    context = {"link": link, "connection": connection, "form": form, "texts": texts}
    return render(request, "sync_flow/mapping.html", context)


def _callback_uri(request: HttpRequest, provider_key: str) -> str:
    return request.build_absolute_uri(reverse("syncing:sync_flow_callback", args=[provider_key]))


def callback(request: HttpRequest, provider_key: str) -> HttpResponse:
    link = _link(request)
    if link is None or provider_key not in link.providers:
        return _unusable(request, ENDED)
    expected = request.session.pop(SESSION_STATE, "")
    state = request.GET.get("state", "")
    if request.GET.get("error"):
        return _back(request, link, "cancelled")
    pending = Connection.objects.filter(tenant=link.tenant, provider=provider_key, oauth_state=state)
    if not state or state != expected or not pending.exists():
        return _unusable(request, "This sign-in was not started here. Please start connecting again.", 400)
    extra = {k: v for k, v in request.GET.items() if k not in ("code", "state", "scope")}
    try:
        connection = connections.connect_complete(
            state=state,
            code=request.GET.get("code", ""),
            redirect_uri=_callback_uri(request, provider_key),
            extra=extra,
        )
    except oauth.InvalidState:
        return _unusable(request, "This sign-in has expired. Please start connecting again.", 400)
    except ConnectorError:
        return _back(request, link, "failed")
    if connection.status != Connection.Status.ACTIVE:
        request.session[SESSION_ORGANISATIONS] = {
            str(connection.pk): [[org.remote_id, org.name] for org in connection.organisation_choices]
        }
        return redirect("syncing:sync_flow_organisation", pk=connection.pk)
    return _after_connecting(connection)


@require_http_methods(["GET", "POST"])
def choose_organisation(request: HttpRequest, pk: int) -> HttpResponse:
    link = _link(request)
    choices = request.session.get(SESSION_ORGANISATIONS, {}).get(str(pk), [])
    connection = Connection.objects.filter(pk=pk, tenant_id=getattr(link, "tenant_id", None)).first()
    if connection is None or not choices:
        return _unusable(request, ENDED)
    if request.method == "POST":
        try:
            connections.choose_organisation(connection, remote_org_id=request.POST.get("organisation", ""))
        except ConnectorError:
            return _back(request, link, "failed")
        request.session.pop(SESSION_ORGANISATIONS, None)
        return _after_connecting(connection)
    texts = sync_flow_texts(link.tenant, provider=connection.spec.name)
    return render(
        request,
        "dashboard/choose_organisation.html",
        {"connection": connection, "choices": choices, "texts": texts},
    )


@require_POST
def cancel(request: HttpRequest) -> HttpResponse:
    link = _link(request)
    if link is None:
        return _unusable(request, ENDED)
    return _back(request, link, "cancelled")
