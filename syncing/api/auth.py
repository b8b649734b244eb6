"""Who may call what: every key authenticates the same way (bearer, hashed, rate limited per key);
an operation then takes tenant keys, the platform's keys, or both."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from syncing.api.errors import ApiError, RateLimited
from syncing.models import ApiKey
from syncing.services.api_keys import authenticate_api_key, spend_request


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer <key>`; the request then carries the key's tenant (None for a
    platform key). A live key of a scope the operation does not take is forbidden, after it is
    counted against its rate limit."""

    def __init__(self, scopes: frozenset[str] = frozenset({ApiKey.Scope.TENANT})) -> None:
        super().__init__()
        self.scopes = scopes

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = authenticate_api_key(token)
        if key is None:
            return None
        retry_after = spend_request(key)
        if retry_after is not None:
            raise RateLimited(retry_after)
        if key.scope not in self.scopes:
            raise ApiError(403, FORBIDDEN[key.scope])
        request.tenant = key.tenant
        return key


FORBIDDEN = {
    ApiKey.Scope.TENANT: "Only the platform's API key may do this; a company's key may not.",
    ApiKey.Scope.PLATFORM: (
        "This acts for one company: use that company's API key (POST /companies returns one) "
        "or a path naming the company."
    ),
}


# The API's default: operations that act for the key's own company.
TENANT_KEYS = ApiKeyAuth()
# Operations naming the company in the path, or not about any one company.
ANY_KEY = ApiKeyAuth(frozenset({ApiKey.Scope.TENANT, ApiKey.Scope.PLATFORM}))
PLATFORM_KEYS = ApiKeyAuth(frozenset({ApiKey.Scope.PLATFORM}))
