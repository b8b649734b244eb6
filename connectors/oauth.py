"""OAuth2 for every provider that uses it: the consent URL, the code exchange and token refresh.

App credentials are found by convention, never in settings.py: `XERO_CLIENT_ID`,
`XERO_CLIENT_SECRET`, `XERO_WEBHOOK_KEY` (the provider key in capitals), defaulting to the
emulators' values so the demo runs with no configuration.

Refresh has exactly one winner across processes, because Xero, Sage and Lightspeed rotate refresh
tokens and a second refresh with the old one can kill the grant (shared/providers/FACTS.md). A
process claims the refresh with a conditional UPDATE of `Connection.refresh_claimed_until` (set
to now + 30 s where it is null or past); the winner calls the token endpoint, stores the new pair
and clears the claim in one UPDATE; the others poll the row until the access token changes and
use the winner's token. A claim left by a dead worker lapses after 30 s. A refused refresh marks
the connection as needing reauthorisation once and raises `AuthorizationRevoked`; it never loops.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from django.db.models import Q
from django.utils import timezone
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from connectors import budget
from connectors.emulation.oauth import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET
from connectors.errors import (
    AuthorizationRevoked,
    ConnectorError,
    ProviderBug,
    RateLimited,
    TransientError,
)
from syncing.models import Connection

EMULATOR_WEBHOOK_KEY = "emulator-webhook-key"
STATE_LIFETIME = timedelta(minutes=10)
CLAIM_LIFETIME = timedelta(seconds=30)
# How long a process waits for another one's refresh before giving up with a TransientError.
WAIT_FOR_WINNER = 10.0
POLL_EVERY = 0.1
TIMEOUT = (5, 30)
# A domain prefix becomes part of a host name (Lightspeed): letters, digits and dashes only.
_DOMAIN_PREFIX = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class InvalidState(ConnectorError):
    """The consent callback does not belong to a sign-in we started, or it came too late."""


def app_credentials(spec) -> tuple[str, str]:
    prefix = spec.key.upper()
    return (
        os.environ.get(f"{prefix}_CLIENT_ID") or EMULATOR_CLIENT_ID,
        os.environ.get(f"{prefix}_CLIENT_SECRET") or EMULATOR_CLIENT_SECRET,
    )


def webhook_key(spec) -> str:
    return os.environ.get(f"{spec.key.upper()}_WEBHOOK_KEY") or EMULATOR_WEBHOOK_KEY


def authorization_url(connection: Connection, redirect_uri: str) -> str:
    """The provider's consent page for this connection, with a fresh single-use state."""
    spec = connection.spec
    client_id, _ = app_credentials(spec)
    state = secrets.token_urlsafe(32)
    expires_at = timezone.now() + STATE_LIFETIME
    Connection.objects.filter(pk=connection.pk).update(oauth_state=state, oauth_state_expires_at=expires_at)
    connection.oauth_state, connection.oauth_state_expires_at = state, expires_at
    session = OAuth2Session(client_id, redirect_uri=redirect_uri, scope=list(spec.oauth.scopes))
    # Built on the production https URL (oauthlib refuses plain http), then pointed at the emulator.
    url, _ = session.authorization_url(spec.oauth.authorize_url, state=state)
    return connection.provider_url(url)


def exchange_code(
    connection: Connection, *, code: str, state: str, redirect_uri: str, extra: dict | None = None
) -> None:
    """Trade the consent callback's code for tokens, stored encrypted on the connection."""
    extra = extra or {}
    spec = connection.spec
    now = timezone.now()
    claimed = (
        Connection.objects.filter(pk=connection.pk, oauth_state=state, oauth_state_expires_at__gt=now)
        .exclude(oauth_state="")
        .update(oauth_state="", oauth_state_expires_at=None)
    )
    connection.oauth_state, connection.oauth_state_expires_at = "", None
    if not claimed:
        # Single use: a wrong or late callback burns the state too.
        Connection.objects.filter(pk=connection.pk).update(oauth_state="", oauth_state_expires_at=None)
        raise InvalidState("This sign-in link has expired or was already used; please connect again.")
    if "{domain_prefix}" in spec.oauth.token_url:
        # Lightspeed's callback names the store, and its token URL lives on the store's host
        # (https://x-series-api.lightspeedhq.com/docs/authorization).
        prefix = str(extra.get("domain_prefix", ""))
        if not _DOMAIN_PREFIX.match(prefix):
            raise InvalidState(f"{spec.name} did not say which store was connected.")
        connection.remote_org_id = prefix
        Connection.objects.filter(pk=connection.pk).update(remote_org_id=prefix)
    tokens = _token_request(
        connection, {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    )
    if tokens is None:
        raise AuthorizationRevoked(f"{spec.name} refused the sign-in; please connect again.")
    _store_tokens(connection, tokens)


def token_is_stale(connection: Connection, *, margin: timedelta = timedelta(seconds=60)) -> bool:
    expires_at = connection.token_expires_at
    return expires_at is not None and expires_at - timezone.now() < margin


def refresh(
    connection: Connection,
    *,
    stale_token: str | None = None,
    wait: float = WAIT_FOR_WINNER,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Replace `stale_token` (default: the connection's current access token) and return the new
    one, whether this process refreshed or another did. Updates `connection` in place."""
    stale = stale_token or connection.credentials.get("access_token", "")
    deadline = time.monotonic() + wait
    while True:
        _reload(connection)
        if _replaced(connection, stale):
            return connection.credentials["access_token"]
        if connection.status == Connection.Status.NEEDS_REAUTH:
            raise AuthorizationRevoked(connection.status_reason or f"Reconnect {connection.spec.name}.")
        now = timezone.now()
        claimed = (
            Connection.objects.filter(pk=connection.pk)
            .filter(Q(refresh_claimed_until__isnull=True) | Q(refresh_claimed_until__lt=now))
            .update(refresh_claimed_until=now + CLAIM_LIFETIME)
        )
        if claimed:
            return _refresh_as_winner(connection, stale)
        if time.monotonic() >= deadline:
            raise TransientError(f"Another worker's {connection.spec.name} token refresh did not finish.")
        sleep(POLL_EVERY)


def authorization_revoked(connection: Connection, *, reason: str) -> AuthorizationRevoked:
    """Mark the connection as needing reauthorisation; returns the error for the caller to raise."""
    # The connection services import this module, so the import waits until it is needed.
    from syncing.services.connections import mark_needs_reauth

    mark_needs_reauth(connection=connection, reason=reason)
    return AuthorizationRevoked(reason, status=401)


def revoke(connection: Connection) -> bool:
    """Ask the provider to revoke the refresh token; best effort, True when it agreed."""
    spec = connection.spec
    token = connection.credentials.get("refresh_token") or connection.credentials.get("access_token")
    if not (spec.oauth and spec.oauth.revoke_url and token):
        return False
    try:
        status, _ = _post(connection, spec.oauth.revoke_url, {"token": token}, purpose="oauth revoke")
    except ConnectorError:
        return False
    return status is not None and 200 <= status < 300


def _refresh_as_winner(connection: Connection, stale: str) -> str:
    try:
        # Between our read and the claim another worker may have finished a refresh.
        _reload(connection)
        if _replaced(connection, stale):
            _release(connection)
            return connection.credentials["access_token"]
        refresh_token = connection.credentials.get("refresh_token", "")
        tokens = (
            _token_request(connection, {"grant_type": "refresh_token", "refresh_token": refresh_token})
            if refresh_token
            else None
        )
    except BaseException:
        _release(connection)
        raise
    if tokens is None:
        _release(connection)
        raise authorization_revoked(
            connection,
            reason=f"{connection.spec.name} refused to renew our access; please reconnect.",
        )
    _store_tokens(connection, tokens)
    return connection.credentials["access_token"]


def _replaced(connection: Connection, stale: str) -> bool:
    current = connection.credentials.get("access_token", "")
    return bool(current) and current != stale and not token_is_stale(connection, margin=timedelta(0))


def _reload(connection: Connection) -> None:
    fresh = Connection.objects.only(
        "credentials", "token_expires_at", "status", "status_reason", "remote_org_id"
    ).get(pk=connection.pk)
    connection.credentials = fresh.credentials
    connection.token_expires_at = fresh.token_expires_at
    connection.status = fresh.status
    connection.status_reason = fresh.status_reason
    connection.remote_org_id = fresh.remote_org_id


def _release(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(refresh_claimed_until=None)


def _store_tokens(connection: Connection, tokens: dict) -> None:
    credentials = {
        **connection.credentials,
        "access_token": tokens["access_token"],
        # A provider that does not rotate sends no new refresh token: keep the one we have.
        "refresh_token": tokens.get("refresh_token") or connection.credentials.get("refresh_token", ""),
    }
    expires_in = tokens.get("expires_in")
    expires_at = (
        timezone.now() + timedelta(seconds=int(expires_in)) if str(expires_in or "").isdigit() else None
    )
    # The new pair is saved at once and the claim cleared in the same UPDATE: the old refresh
    # token is already spent, so nothing may come between the answer and the write.
    Connection.objects.filter(pk=connection.pk).update(
        credentials=credentials, token_expires_at=expires_at, refresh_claimed_until=None
    )
    connection.credentials, connection.token_expires_at = credentials, expires_at


def _token_request(connection: Connection, form: dict) -> dict | None:
    """POST to the token endpoint: the token dict, or None when the provider refused the grant."""
    status, body = _post(connection, connection.spec.oauth.token_url, form, purpose="oauth")
    if status in (400, 401):
        return None
    if status == 429:
        raise RateLimited(
            f"{connection.spec.name} is limiting token requests.",
            retry_at=timezone.now() + timedelta(seconds=60),
        )
    if status >= 300:
        raise TransientError(f"{connection.spec.name}'s sign-in service answered {status}.", status=status)
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise ProviderBug(f"{connection.spec.name}'s token response has no access_token.")
    return body


def _post(connection: Connection, url: str, form: dict, *, purpose: str) -> tuple[int, object]:
    spec = connection.spec
    client_id, client_secret = app_credentials(spec)
    auth = None
    if spec.oauth.client_auth == "basic":
        auth = HTTPBasicAuth(client_id, client_secret)
    else:
        form = {**form, "client_id": client_id, "client_secret": client_secret}
    url = connection.provider_url(url)
    started = time.monotonic()
    try:
        response = requests.post(
            url, data=form, auth=auth, timeout=TIMEOUT, headers={"Accept": "application/json"}
        )
    except requests.RequestException as exc:
        budget.record_call(
            connection,
            method="POST",
            path=urlsplit(url).path,
            status=None,
            duration_ms=_ms_since(started),
            purpose=purpose,
            error=f"{type(exc).__name__}: {exc}",
        )
        raise TransientError(f"{spec.name}'s sign-in service did not answer.") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error", "") if isinstance(body, dict) and response.status_code >= 400 else ""
    budget.record_call(
        connection,
        method="POST",
        path=urlsplit(url).path,
        status=response.status_code,
        duration_ms=_ms_since(started),
        purpose=purpose,
        error=str(error),
    )
    return response.status_code, body


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
