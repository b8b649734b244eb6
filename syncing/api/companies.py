"""The caller's company (tenant) and its sync settings across connections."""

from __future__ import annotations

from ninja import Router

from syncing.api.connections import config_of
from syncing.api.errors import ERRORS
from syncing.api.schemas import CompanyConfigOut, CompanyOut
from syncing.api.scoping import connections_of

router = Router(tags=["companies"])


@router.get("/me", response={200: CompanyOut, **ERRORS})
def get_company(request):
    return request.auth.tenant


@router.get("/me/config", response={200: CompanyConfigOut, **ERRORS})
def get_company_config(request):
    """Each connection's settings; change one with PATCH /connections/{id}/config."""
    return {"connections": [config_of(c) for c in connections_of(request).order_by("pk")]}
