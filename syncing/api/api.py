"""The NinjaAPI instance: bearer-key auth with a per-key rate limit, one error shape for every
failure, and the resource routers."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from syncing.api import (
    companies,
    connections,
    customers,
    integrations,
    products,
    sales,
    syncs,
    webhook_endpoints,
)
from syncing.api.auth import TENANT_KEYS
from syncing.api.errors import ApiError, RateLimited
from syncing.services.outbound import EVENT_TYPES

# Where a validation error's location starts naming the field: after the source ("body",
# "query", "path") and, for bodies and query schemas, the operation's parameter name.
_SOURCES = {"body", "query", "path", "header", "cookie", "form"}


WEBHOOKS_DOC = (
    """Products, stock, customers and sales kept in step with accounting and inventory
providers. Authenticate with `Authorization: Bearer <API key>`. A company's key acts for that
company; the platform's key (issued by staff) creates companies with `POST /companies`, which
hands back each one's first key, and reaches every company through the paths naming it
(`/companies/{id}/...`). A key used where its kind may not act is answered 403.

**Webhooks.** Register endpoints under `/companies/{id}/webhook-endpoints`. Each event is POSTed
as JSON `{"id", "type", "created_at", "company", "data"}` with the headers `Synchub-Event-Id`,
`Synchub-Event-Type`, `Synchub-Timestamp` (Unix seconds) and `Synchub-Signature: v1=<hex>`, the
HMAC-SHA256 of `"<timestamp>.<raw body>"` under the endpoint's secret. Verify it in constant
time, refuse timestamps more than five minutes off, and dedupe on the event id. Any 2xx answer
is a delivery; otherwise we retry with growing delays (1, 5, 30 minutes, 2 hours, then every
6 hours) for a day. Event types: """
    + ", ".join(f"`{name}`" for name in EVENT_TYPES)
    + "."
)


class Api(NinjaAPI):
    """Unknown paths and unsupported methods under /api/v1/ answer in the API's error shape too,
    not with Django's HTML pages."""

    def _get_urls(self):
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _json_method_not_allowed(pattern.callback)
        return [*patterns, re_path(r"^.*$", _no_such_path)]


def _json_method_not_allowed(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if not isinstance(response, HttpResponseNotAllowed):
            return response
        message = f"{request.method} is not allowed here; use {response['Allow']}."
        return _error(request, 405, message, headers={"Allow": response["Allow"]})

    return wrapper


@csrf_exempt
def _no_such_path(request: HttpRequest) -> HttpResponse:
    return _error(request, 404, f"No such path: {request.path}. The API's paths are listed at /api/v1/docs.")


api = Api(
    title="Commerce sync hub",
    version="1",
    description=WEBHOOKS_DOC,
    auth=TENANT_KEYS,
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
api.add_router("/companies", webhook_endpoints.router)
api.add_router("/integrations", integrations.router)
api.add_router("/connections", connections.router)
api.add_router("/syncs", syncs.router)
api.add_router("/products", products.router)
api.add_router("/customers", customers.router)
api.add_router("/sales", sales.router)
