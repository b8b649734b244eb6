"""A company's webhook endpoints: where its events are delivered (see syncing.services.outbound
for the payload, the signature headers and the retry schedule)."""

from __future__ import annotations

from ninja import Query, Router, Status

from syncing.api.auth import ANY_KEY
from syncing.api.errors import ERRORS
from syncing.api.pagination import PageParams, paginate
from syncing.api.schemas import (
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointPage,
    WebhookEndpointPatch,
)
from syncing.api.scoping import company_of, one
from syncing.models import WebhookEndpoint
from syncing.services import outbound

router = Router(tags=["webhook endpoints"], auth=ANY_KEY)

ENDPOINTS = "/{int:company_id}/webhook-endpoints"
ENDPOINT = ENDPOINTS + "/{int:endpoint_id}"


def endpoints_of(request, company_id: int):
    return WebhookEndpoint.objects.filter(tenant=company_of(request, company_id))


@router.get(ENDPOINTS, response={200: WebhookEndpointPage, **ERRORS})
def list_endpoints(request, company_id: int, page: Query[PageParams]):
    return paginate(endpoints_of(request, company_id), page)


@router.post(ENDPOINTS, response={201: WebhookEndpointCreated, **ERRORS})
def create_endpoint(request, company_id: int, payload: WebhookEndpointIn):
    """Register an endpoint. The answer carries its signing `secret`, shown this once: deliveries
    carry `Synchub-Signature: v1=<hex HMAC-SHA256(secret, "<Synchub-Timestamp>.<raw body>")>`;
    refuse a timestamp more than five minutes from your clock, and dedupe on `Synchub-Event-Id`."""
    endpoint, secret = outbound.create_endpoint(tenant=company_of(request, company_id), **payload.dict())
    return Status(201, {**WebhookEndpointOut.from_orm(endpoint).dict(), "secret": secret})


@router.get(ENDPOINT, response={200: WebhookEndpointOut, **ERRORS})
def get_endpoint(request, company_id: int, endpoint_id: int):
    return one(endpoints_of(request, company_id), endpoint_id)


@router.patch(ENDPOINT, response={200: WebhookEndpointOut, **ERRORS})
def update_endpoint(request, company_id: int, endpoint_id: int, payload: WebhookEndpointPatch):
    endpoint = one(endpoints_of(request, company_id), endpoint_id)
    return outbound.update_endpoint(endpoint, **payload.dict(exclude_unset=True, exclude_none=True))


@router.delete(ENDPOINT, response={204: None, **ERRORS})
def delete_endpoint(request, company_id: int, endpoint_id: int):
    """Stop delivering to it; its delivery history goes with it."""
    one(endpoints_of(request, company_id), endpoint_id).delete()
    return Status(204, None)
