"""The NinjaAPI instance: bearer-key auth with a per-key rate limit, one error shape for every
failure, and the resource routers."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from syncing.api import companies, connections, customers, integrations, products, sales, syncs
from syncing.api.errors import ApiError, RateLimited
from syncing.models import ApiKey
from syncing.services.api_keys import authenticate_api_key, spend_request

# Where a validation error's location starts naming the field: after the source ("body",
# "query", "path") and, for bodies and query schemas, the operation's parameter name.
_SOURCES = {"body", "query", "path", "header", "cookie", "form"}


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>`; the request then carries the key's tenant."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = authenticate_api_key(token)
        if key is None:
            return None
        retry_after = spend_request(key)
        if retry_after is not None:
            raise RateLimited(retry_after)
        request.tenant = key.tenant
        return key


api = NinjaAPI(
    title="Commerce sync hub",
    version="1",
    description="Products, stock, customers and sales kept in step with accounting and inventory "
    "providers. Authenticate with `Authorization: Bearer <API key>`.",
    auth=ApiKeyAuth(),
    urls_namespace="api-v1",
)


def _error(request: HttpRequest, status: int, message: str, details=(), headers=None) -> HttpResponse:
    response = api.create_response(
        request, {"status": status, "message": message, "details": list(details)}, status=status
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field(loc) -> str:
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        source = parts.pop(0)
        # Bodies and query schemas are nested under the operation's parameter name.
        if source in {"body", "query"} and len(parts) > 1:
            parts.pop(0)
    return ".".join(str(part) for part in parts)


@api.exception_handler(ApiError)
def on_api_error(request, exc: ApiError):
    return _error(request, exc.status, exc.message, exc.details)


@api.exception_handler(RateLimited)
def on_rate_limited(request, exc: RateLimited):
    return _error(request, 429, str(exc), headers={"Retry-After": str(exc.retry_after)})


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc: AuthenticationError):
    return _error(
        request,
        401,
        "A valid API key is required: send `Authorization: Bearer <key>`.",
        headers={"WWW-Authenticate": "Bearer"},
    )


@api.exception_handler(ValidationError)
def on_invalid(request, exc: ValidationError):
    details = [
        {"field": _field(error.get("loc", ())), "message": error.get("msg", "")} for error in exc.errors
    ]
    return _error(request, 422, "The request is not valid.", details)


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "Not found.")


@api.exception_handler(ObjectDoesNotExist)
def on_missing_object(request, exc):
    return _error(request, 404, "Not found.")


api.add_router("/companies", companies.router)
api.add_router("/integrations", integrations.router)
api.add_router("/connections", connections.router)
api.add_router("/syncs", syncs.router)
api.add_router("/products", products.router)
api.add_router("/customers", customers.router)
api.add_router("/sales", sales.router)
