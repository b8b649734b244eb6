"""A tiny provider for testing the HTTP layer: an emulator built from the kit and a connector
registered nowhere. It answers under Xero's URL paths so a connection with provider "xero" and
`base_url` pointing here uses it for API, token and consent calls alike."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from connectors.base import Connector, Window
from connectors.emulation import Emulator, OAuthServer, Request, Response, route, serve
from connectors.records import RemoteOrganisation
from connectors.xero.provider import XERO
from tests import factories

ORGANISATIONS = [{"id": "org-1", "name": "Demo Company (NZ)"}]


class TinyEmulator(Emulator):
    name = "tiny"

    def __init__(self, *, organisations=None, **options) -> None:
        super().__init__(**options)
        self.oauth = OAuthServer(
            self,
            provider_name="Tiny",
            access_lifetime=timedelta(minutes=30),
            organisations=organisations or ORGANISATIONS,
        )
        self.things: list[dict] = []
        self.minute_remaining: int | None = None
        self.revoked: list[str] = []

    def before_route(self, request: Request) -> Response | None:
        if request.path.startswith("/api.xro/") and self.oauth.grant_for(request) is None:
            return Response.json({"Title": "Unauthorized", "Detail": "TokenExpired"}, 401)
        return None

    def after_route(self, request: Request, response: Response) -> Response:
        if self.minute_remaining is not None:
            response.headers["X-MinLimit-Remaining"] = str(self.minute_remaining)
        return response

    @route("GET", "/identity/connect/authorize")
    def consent_page(self, request: Request) -> Response:
        return self.oauth.authorize(request)

    @route("POST", "/identity/connect/authorize")
    def consent(self, request: Request) -> Response:
        return self.oauth.authorize(request)

    @route("POST", "/connect/token")
    def token(self, request: Request) -> Response:
        return self.oauth.token(request)

    @route("POST", "/connect/revocation")
    def revocation(self, request: Request) -> Response:
        self.revoked.append(request.form().get("token", ""))
        return Response(200)

    @route("GET", "/connections")
    def connections(self, request: Request) -> Response:
        grant = self.oauth.grant_for(request)
        if grant is None:
            return Response.json({"Title": "Unauthorized"}, 401)
        return Response.json([{"tenantId": o["id"], "tenantName": o["name"]} for o in grant.organisations])

    @route("GET", "/api.xro/2.0/Things")
    def list_things(self, request: Request) -> Response:
        return Response.json({"Things": self.things})

    @route("POST", "/api.xro/2.0/Things")
    def create_thing(self, request: Request) -> Response:
        thing = request.json()
        if not thing.get("Name"):
            return Response.json({"Elements": [{"ValidationErrors": [{"Message": "Name is required"}]}]}, 400)
        self.things.append(thing)
        return Response.json({"Things": [thing]})

    @route("GET", "/api.xro/2.0/Plain")
    def plain_text(self, request: Request) -> Response:
        return Response(200, b"<html>maintenance</html>", {"Content-Type": "text/html"})


class TinyConnector(Connector):
    spec = XERO

    def remaining_calls(self, response):
        value = response.headers.get("X-MinLimit-Remaining")
        return {Window.MINUTE: int(value)} if value is not None else {}

    def error_messages(self, response):
        try:
            body = response.json()
        except ValueError:
            return super().error_messages(response)
        return [
            error["Message"]
            for element in body.get("Elements", [])
            for error in element.get("ValidationErrors", [])
        ] or super().error_messages(response)

    def list_organisations(self):
        rows = self.session.get_json(XERO.oauth.organisations_path, purpose="organisations")
        return [RemoteOrganisation(remote_id=row["tenantId"], name=row["tenantName"]) for row in rows]

    def things(self) -> list[dict]:
        return self.session.get_json("Things", purpose="things")["Things"]

    def create_thing(self, name: str, *, idempotent: bool | None = None) -> dict:
        return self.session.send_json("POST", "Things", json={"Name": name}, idempotent=idempotent)


def start_tiny(**options):
    """A running TinyEmulator and a way to stop it."""
    app = TinyEmulator(**options)
    return app, serve(app)


def tiny_connection(app, **fields):
    """An active connection to a running TinyEmulator, holding freshly issued tokens."""
    tokens = app.oauth.issue_direct()
    fields = {
        "provider": "xero",
        "base_url": app.public_url,
        "credentials": {"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"]},
        "token_expires_at": timezone.now() + timedelta(seconds=tokens["expires_in"]),
        "remote_org_id": ORGANISATIONS[0]["id"],
        **fields,
    }
    return factories.ConnectionFactory(**fields)


class FakeClock:
    """A clock whose sleep moves time instead of waiting: budget tests pass it as `now` and `sleep`."""

    def __init__(self, start) -> None:
        self.moment = start
        self.slept: list[float] = []

    def now(self):
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.moment += timedelta(seconds=seconds)
