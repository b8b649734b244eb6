"""An OAuth2 authorization server for emulators: consent page, codes, rotating refresh tokens."""

from __future__ import annotations

import base64
import html
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from connectors.emulation.app import Request, Response

EMULATOR_CLIENT_ID = "emulator-client-id"
EMULATOR_CLIENT_SECRET = "emulator-client-secret"


@dataclass
class Grant:
    """What one consent granted: the organisations it reaches and its live tokens."""

    organisations: list[dict]
    scope: str
    access_tokens: dict[str, datetime] = field(default_factory=dict)
    refresh_token: str = ""
    # Rotated-out refresh tokens still honoured until this time (Xero: 30 minutes).
    retired_refresh_tokens: dict[str, datetime] = field(default_factory=dict)
    last_response: dict = field(default_factory=dict)


class OAuthServer:
    """The authorization-code flow as the providers run it.

    `access_lifetime` and `refresh_grace` follow the provider (Xero 30 min / 30 min grace; Sage
    5 min / none; Lightspeed as configured / none). `revoke_refresh_tokens()` makes every refresh
    fail with invalid_grant, as when a merchant disconnects the app on the provider's side.
    """

    def __init__(
        self,
        emulator,
        *,
        provider_name: str,
        access_lifetime: timedelta,
        refresh_grace: timedelta = timedelta(0),
        organisations: list[dict] | None = None,
        client_id: str = EMULATOR_CLIENT_ID,
        client_secret: str = EMULATOR_CLIENT_SECRET,
    ) -> None:
        self.emulator = emulator
        self.provider_name = provider_name
        self.access_lifetime = access_lifetime
        self.refresh_grace = refresh_grace
        self.organisations = organisations or []
        self.client_id = client_id
        self.client_secret = client_secret
        self.codes: dict[str, tuple[str, str, Grant]] = {}
        self.grants: list[Grant] = []
        self.refreshes = 0

    @property
    def now(self) -> datetime:
        return self.emulator.clock()

    # Consent page ---------------------------------------------------------------------------

    def authorize(self, request: Request, *, extra_redirect_params: dict | None = None) -> Response:
        params = request.params if request.method == "GET" else request.form()
        if params.get("client_id") != self.client_id:
            return Response.html("<h1>Unknown application</h1>", 400)
        redirect_uri = params.get("redirect_uri", "")
        state = params.get("state", "")
        if request.method == "GET":
            return Response.html(self._consent_page(params))
        if params.get("decision") != "allow":
            query = urlencode({"error": "access_denied", "state": state})
            return Response.redirect(f"{redirect_uri}?{query}")
        grant = Grant(organisations=list(self.organisations), scope=params.get("scope", ""))
        code = secrets.token_urlsafe(24)
        with self.emulator.lock:
            self.codes[code] = (redirect_uri, state, grant)
        query = urlencode({"code": code, "state": state, **(extra_redirect_params or {})})
        return Response.redirect(f"{redirect_uri}?{query}")

    def _consent_page(self, params: dict) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        orgs = "".join(f"<li>{html.escape(o['name'])}</li>" for o in self.organisations)
        return f"""<!doctype html><html><head><title>{self.provider_name} - authorise</title></head>
<body style="font-family:sans-serif;max-width:32rem;margin:4rem auto">
<h1>{self.provider_name} (emulator)</h1>
<p>The commerce sync hub wants to access your organisation:</p><ul>{orgs}</ul>
<p>Scopes: {html.escape(params.get("scope", ""))}</p>
<form method="post">{hidden}
<button name="decision" value="allow" type="submit">Allow access</button>
<button name="decision" value="deny" type="submit">Cancel</button></form></body></html>"""

    # Token endpoint -------------------------------------------------------------------------

    def token(self, request: Request, **extra_fields) -> Response:
        form = request.form()
        client_id, client_secret = self._client_credentials(request, form)
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return Response.json({"error": "invalid_client"}, 401)
        grant_type = form.get("grant_type")
        with self.emulator.lock:
            if grant_type == "authorization_code":
                entry = self.codes.pop(form.get("code", ""), None)
                if not entry or entry[0] != form.get("redirect_uri", entry[0]):
                    return Response.json({"error": "invalid_grant"}, 400)
                grant = entry[2]
                self.grants.append(grant)
                return Response.json(self._issue(grant, extra_fields))
            if grant_type == "refresh_token":
                presented = form.get("refresh_token", "")
                for grant in self.grants:
                    if presented == grant.refresh_token:
                        self.refreshes += 1
                        return Response.json(self._issue(grant, extra_fields))
                    retired_until = grant.retired_refresh_tokens.get(presented)
                    if retired_until and retired_until > self.now:
                        # Inside the grace period the provider answers the old token again.
                        self.refreshes += 1
                        return Response.json(grant.last_response)
                return Response.json({"error": "invalid_grant"}, 400)
        return Response.json({"error": "unsupported_grant_type"}, 400)

    def _client_credentials(self, request: Request, form: dict) -> tuple[str, str]:
        auth = request.header("authorization")
        if auth.lower().startswith("basic "):
            decoded = base64.b64decode(auth[6:]).decode()
            client_id, _, secret = decoded.partition(":")
            return client_id, secret
        return form.get("client_id", ""), form.get("client_secret", "")

    def _issue(self, grant: Grant, extra_fields: dict) -> dict:
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32)
        if grant.refresh_token:
            grant.retired_refresh_tokens[grant.refresh_token] = self.now + self.refresh_grace
        grant.refresh_token = refresh
        grant.access_tokens[access] = self.now + self.access_lifetime
        grant.last_response = {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": int(self.access_lifetime.total_seconds()),
            "scope": grant.scope,
            **extra_fields,
        }
        return grant.last_response

    # Checks and switches ----------------------------------------------------------------------

    def grant_for(self, request: Request) -> Grant | None:
        """The grant whose unexpired access token the request carries, or None."""
        auth = request.header("authorization")
        if not auth.lower().startswith("bearer "):
            return None
        token = auth[7:].strip()
        with self.emulator.lock:
            for grant in self.grants:
                expires = grant.access_tokens.get(token)
                if expires and expires > self.now:
                    return grant
        return None

    def issue_direct(self, organisations: list[dict] | None = None) -> dict:
        """Tokens without the consent page: for tests and benchmarks that start connected."""
        grant = Grant(organisations=organisations or list(self.organisations), scope="")
        with self.emulator.lock:
            self.grants.append(grant)
            return dict(self._issue(grant, {}))

    def expire_access_tokens(self) -> None:
        with self.emulator.lock:
            for grant in self.grants:
                grant.access_tokens = dict.fromkeys(grant.access_tokens, self.now)

    def revoke_refresh_tokens(self) -> None:
        with self.emulator.lock:
            for grant in self.grants:
                grant.access_tokens.clear()
                grant.refresh_token = ""
                grant.retired_refresh_tokens.clear()
