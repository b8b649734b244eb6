"""Companies (tenants): the platform's keys create them and reach every one by id; a tenant key
reaches its own. Their sync settings across connections, the sync flow a merchant is sent
through, and how the flow reads. A company id the key does not reach is not found."""

from __future__ import annotations

from django.urls import reverse
from ninja import Query, Router, Status

from syncing.api.auth import ANY_KEY, PLATFORM_KEYS
from syncing.api.connections import config_of, replace_config
from syncing.api.errors import ERRORS, ApiError, field_error
from syncing.api.pagination import PageParams, paginate
from syncing.api.schemas import (
    CompanyConfigIn,
    CompanyConfigOut,
    CompanyCreated,
    CompanyIn,
    CompanyOut,
    CompanyPage,
    SyncFlowTexts,
    SyncFlowUrlIn,
    SyncFlowUrlOut,
)
from syncing.api.scoping import companies_of, company_of, connections_of
from syncing.models import Tenant
from syncing.services import sync_flow
from syncing.services.companies import SlugTaken, create_company, slug_for

router = Router(tags=["companies"])


def _config_of(request, tenant: Tenant) -> dict:
    return {"connections": [config_of(c) for c in connections_of(request, tenant).order_by("pk")]}


@router.get("", auth=ANY_KEY, response={200: CompanyPage, **ERRORS})
def list_companies(request, page: Query[PageParams]):
    """The companies this key reaches: every one for the platform's keys; a tenant key belongs
    to one company, so one page of one."""
    return paginate(companies_of(request), page)


@router.post("", auth=PLATFORM_KEYS, response={201: CompanyCreated, **ERRORS})
def create_company_with_key(request, payload: CompanyIn):
    """Create a company (platform keys only). The answer carries the company's first API key,
    shown this once: use it to act for the company (connections, syncs, sales...)."""
    slug = payload.slug or slug_for(payload.name)
    if not slug:
        raise field_error(422, "slug", "The name makes no slug; send one of letters, digits, - and _.")
    try:
        tenant, _, plaintext = create_company(name=payload.name, slug=slug, timezone=payload.timezone)
    except SlugTaken as exc:
        raise field_error(409, "slug", str(exc)) from None
    return Status(201, {**CompanyOut.from_orm(tenant).dict(), "api_key": plaintext})


@router.get("/me", response={200: CompanyOut, **ERRORS})
def get_company(request):
    return request.auth.tenant


@router.get("/me/config", response={200: CompanyConfigOut, **ERRORS})
def get_company_config(request):
    """Each connection's settings; change one with PATCH /connections/{id}/config."""
    return _config_of(request, request.auth.tenant)


@router.get("/{int:company_id}", auth=ANY_KEY, response={200: CompanyOut, **ERRORS})
def get_company_by_id(request, company_id: int):
    return company_of(request, company_id)


@router.get("/{int:company_id}/config", auth=ANY_KEY, response={200: CompanyConfigOut, **ERRORS})
def get_company_config_by_id(request, company_id: int):
    return _config_of(request, company_of(request, company_id))


@router.put("/{int:company_id}/config", auth=ANY_KEY, response={200: CompanyConfigOut, **ERRORS})
def replace_company_config(request, company_id: int, payload: CompanyConfigIn):
    """Replace every setting of each connection listed (all fields required); connections left
    out keep theirs. PATCH /connections/{id}/config changes single settings instead."""
    tenant = company_of(request, company_id)
    connections = {c.pk: c for c in connections_of(request, tenant)}
    unknown = [
        {
            "field": f"connections.{n}.connection",
            "message": f"No connection {entry.connection} in this company.",
        }
        for n, entry in enumerate(payload.connections)
        if entry.connection not in connections
    ]
    if unknown:
        raise ApiError(422, "The configuration names connections this company does not have.", unknown)
    for entry in payload.connections:
        replace_config(connections[entry.connection], entry.dict(exclude={"connection"}))
    return _config_of(request, tenant)


@router.post("/{int:company_id}/sync-flow-url", auth=ANY_KEY, response={201: SyncFlowUrlOut, **ERRORS})
def create_sync_flow_url(request, company_id: int, payload: SyncFlowUrlIn):
    """A one-time link (valid for an hour) the merchant opens to connect the chosen providers for
    this company without an account, then maps an accounting provider's accounts and tax rates;
    afterwards they are sent to `redirect_url` (if given) with
    `?outcome=connected|cancelled|failed&company=<id>`. Opening it again, or late, fails."""
    tenant = company_of(request, company_id)
    try:
        link, passcode = sync_flow.create_link(
            tenant=tenant,
            commerce=payload.commerce,
            accounting=payload.accounting,
            redirect_url=payload.redirect_url or "",
        )
    except ValueError as exc:
        field, message = exc.args
        raise field_error(422, field, message) from None
    url = request.build_absolute_uri(reverse("syncing:sync_flow", args=[passcode]))
    return Status(201, {"url": url, "expires_at": link.expires_at})


@router.get("/{int:company_id}/sync-flow/texts", auth=ANY_KEY, response={200: SyncFlowTexts, **ERRORS})
def get_sync_flow_texts(request, company_id: int):
    """The wording the sync flow shows: the company's own where set, ours otherwise."""
    return {"texts": sync_flow.texts_for(company_of(request, company_id))}


@router.put("/{int:company_id}/sync-flow/texts", auth=ANY_KEY, response={200: SyncFlowTexts, **ERRORS})
def replace_sync_flow_texts(request, company_id: int, payload: SyncFlowTexts):
    """Replace the company's own wording; keys left out fall back to ours."""
    tenant = company_of(request, company_id)
    try:
        sync_flow.set_texts(tenant, payload.texts)
    except ValueError as exc:
        field, message = exc.args
        raise field_error(422, f"texts.{field}", message) from None
    return {"texts": sync_flow.texts_for(tenant)}
