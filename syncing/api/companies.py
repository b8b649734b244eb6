"""The caller's company (tenant): its sync settings across connections, the sync flow a merchant
is sent through, and how the flow reads. A company id other than the key's own is not found."""

from __future__ import annotations

from django.urls import reverse
from ninja import Router, Status

from syncing.api.connections import config_of, replace_config
from syncing.api.errors import ERRORS, ApiError, field_error
from syncing.api.schemas import (
    CompanyConfigIn,
    CompanyConfigOut,
    CompanyOut,
    SyncFlowTexts,
    SyncFlowUrlIn,
    SyncFlowUrlOut,
)
from syncing.api.scoping import company_of, connections_of
from syncing.services import sync_flow

router = Router(tags=["companies"])


@router.get("/me", response={200: CompanyOut, **ERRORS})
def get_company(request):
    return request.auth.tenant


@router.get("/me/config", response={200: CompanyConfigOut, **ERRORS})
def get_company_config(request):
    """Each connection's settings; change one with PATCH /connections/{id}/config."""
    return {"connections": [config_of(c) for c in connections_of(request).order_by("pk")]}


@router.get("/{int:company_id}", response={200: CompanyOut, **ERRORS})
def get_company_by_id(request, company_id: int):
    return company_of(request, company_id)


@router.get("/{int:company_id}/config", response={200: CompanyConfigOut, **ERRORS})
def get_company_config_by_id(request, company_id: int):
    company_of(request, company_id)
    return get_company_config(request)


@router.put("/{int:company_id}/config", response={200: CompanyConfigOut, **ERRORS})
def replace_company_config(request, company_id: int, payload: CompanyConfigIn):
    """Replace every setting of each connection listed (all fields required); connections left
    out keep theirs. PATCH /connections/{id}/config changes single settings instead."""
    company_of(request, company_id)
    connections = {c.pk: c for c in connections_of(request)}
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
    return get_company_config(request)


@router.post("/{int:company_id}/sync-flow-url", response={201: SyncFlowUrlOut, **ERRORS})
def create_sync_flow_url(request, company_id: int, payload: SyncFlowUrlIn):
    """A one-time link (valid for an hour) the merchant opens to connect the chosen providers for
    this company without an account; afterwards they are sent to `redirect_url` with
    `?outcome=connected|cancelled|failed&company=<id>`. Opening it again, or late, fails."""
    tenant = company_of(request, company_id)
    try:
        link, passcode = sync_flow.create_link(
            tenant=tenant,
            commerce=payload.commerce,
            accounting=payload.accounting,
            redirect_url=payload.redirect_url,
        )
    except ValueError as exc:
        field, message = exc.args
        raise field_error(422, field, message) from None
    url = request.build_absolute_uri(reverse("syncing:sync_flow", args=[passcode]))
    return Status(201, {"url": url, "expires_at": link.expires_at})


@router.get("/{int:company_id}/sync-flow/texts", response={200: SyncFlowTexts, **ERRORS})
def get_sync_flow_texts(request, company_id: int):
    """The wording the sync flow shows: the company's own where set, ours otherwise."""
    return {"texts": sync_flow.texts_for(company_of(request, company_id))}


@router.put("/{int:company_id}/sync-flow/texts", response={200: SyncFlowTexts, **ERRORS})
def replace_sync_flow_texts(request, company_id: int, payload: SyncFlowTexts):
    """Replace the company's own wording; keys left out fall back to ours."""
    tenant = company_of(request, company_id)
    try:
        sync_flow.set_texts(tenant, payload.texts)
    except ValueError as exc:
        field, message = exc.args
        raise field_error(422, f"texts.{field}", message) from None
    return {"texts": sync_flow.texts_for(tenant)}
