"""Keys to the public API: issued once, stored hashed, revoked by staff or the merchant, and
rate limited per key. Tenant keys and the platform's keys share all of this; they differ only in
what the API lets them reach.

A key reads `shk_<prefix>_<secret>`. The prefix is public and finds the row; only the sha256 of
the whole key is stored, so a copy of the database lets nobody call the API.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from syncing.models import ApiKey, Tenant

KEY_SCHEME = "shk"
# Writing last_used_at on every request would make each read a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
RATE_WINDOW_SECONDS = 60


def _hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _issue(*, scope: str, tenant: Tenant | None, name: str) -> tuple[ApiKey, str]:
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        scope=scope, tenant=tenant, name=name, prefix=prefix, hashed_key=_hash(plaintext)
    )
    return key, plaintext


def create_api_key(*, tenant: Tenant, name: str) -> tuple[ApiKey, str]:
    """A new key for `tenant`; the plaintext is returned here and never again."""
    return _issue(scope=ApiKey.Scope.TENANT, tenant=tenant, name=name)


def create_platform_key(*, name: str) -> tuple[ApiKey, str]:
    """A new key for the embedding platform (creates companies, reaches every one); the plaintext
    is returned here and never again."""
    return _issue(scope=ApiKey.Scope.PLATFORM, tenant=None, name=name)


def revoke_api_key(*, key: ApiKey) -> ApiKey:
    """Refuse the key from now on (the first revocation time is kept)."""
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db(fields=["revoked_at"])
    return key


def authenticate_api_key(plaintext: str) -> ApiKey | None:
    """The live key matching `plaintext`, with its tenant (None for a platform key), or None."""
    scheme, _, rest = plaintext.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != KEY_SCHEME or not prefix or not secret:
        return None
    key = ApiKey.objects.select_related("tenant").filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.hashed_key, _hash(plaintext)):
        return None
    now = timezone.now()
    ApiKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=key.pk
    ).update(last_used_at=now)
    return key


def rate_limit_per_minute() -> int:
    return settings.API_RATE_LIMIT_PER_MINUTE


def spend_request(key: ApiKey) -> int | None:
    """Count one request against the key's fixed one-minute window. None when allowed, else the
    seconds until the window ends (for Retry-After)."""
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    counter = f"api-rate:{key.pk}:{window}"
    cache.add(counter, 0, timeout=RATE_WINDOW_SECONDS * 2)
    try:
        used = cache.incr(counter)
    except ValueError:  # expired between add and incr: this request opens the window
        cache.set(counter, 1, timeout=RATE_WINDOW_SECONDS * 2)
        used = 1
    if used <= rate_limit_per_minute():
        return None
    return max(1, int((window + 1) * RATE_WINDOW_SECONDS - now) + 1)
