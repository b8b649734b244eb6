"""The providers the hub speaks to, from the registry, with their branding."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import reverse
from ninja import Query, Router

from connectors.errors import UnknownProvider
from connectors.registry import all_providers, get_provider
from syncing.api.auth import ANY_KEY
from syncing.api.errors import ERRORS, ApiError
from syncing.api.pagination import PageParams, paginate_list
from syncing.api.schemas import IntegrationPage

router = Router(tags=["integrations"])


def _integration(request, spec) -> dict:
    return {
        "key": spec.key,
        "name": spec.name,
        "category": spec.category.value,
        "auth": spec.auth.value,
        "description": spec.description,
        "capabilities": sorted(capability.value for capability in spec.capabilities),
        "branding": {
            "logo_url": request.build_absolute_uri(reverse("api-v1:integration_logo", args=[spec.key])),
            "colour": spec.brand_colour,
        },
    }


@router.get("", auth=ANY_KEY, response={200: IntegrationPage, **ERRORS})
def list_integrations(request, page: Query[PageParams]):
    """Every provider, with what it can sync and its branding (a handful: one page by default)."""
    specs = list(all_providers().values())
    return paginate_list(specs, page, shape=lambda rows: [_integration(request, spec) for spec in rows])


@router.get(
    "/{key}/logo.svg",
    auth=None,
    url_name="integration_logo",
    response={200: None, 404: ERRORS[404]},
    openapi_extra={"responses": {200: {"description": "The logo", "content": {"image/svg+xml": {}}}}},
)
def integration_logo(request, key: str):
    """The provider's logo; public, so an <img> can load it."""
    try:
        spec = get_provider(key)
    except UnknownProvider:
        raise ApiError(404, f"No integration {key!r}.") from None
    response = HttpResponse(spec.logo_svg, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response
