"""The WSGI application base of every emulator: routing, call log, clock and fault switches."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from urllib.parse import parse_qs

from connectors.emulation.server import ConnectionDropped


def route(method: str, pattern: str):
    """Mark an Emulator method as the handler of `method` on paths matching `pattern`
    (a regex with named groups, anchored at both ends)."""

    def mark(func):
        func.route = (method.upper(), re.compile(f"^{pattern}$"))
        return func

    return mark


@dataclass
class Request:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ) -> Request:
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        query = environ.get("QUERY_STRING", "")
        return cls(
            method=environ["REQUEST_METHOD"].upper(),
            path=environ.get("PATH_INFO", "/"),
            query_string=query,
            headers=headers,
            body=body,
            params={k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()},
        )

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def json(self):
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(
            status,
            json.dumps(data, default=str).encode(),
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(302, b"", {"Location": location})


@dataclass
class Fault:
    kind: str
    status: int = 0
    seconds: float = 0.0
    match: str = ""


class Emulator:
    """Base WSGI app. Subclasses declare handlers with `@route` and answer with `Response`.

    Fault switches queue faults for the next matching requests (`match` is a path substring):
    `fail_next(status)`, `rate_limit_next(retry_after)`, `lose_next_response()` (the handler runs
    and writes, then the connection is closed unanswered), `delay_next(seconds)` (the handler runs,
    the answer leaves `seconds` later),
    `malform_next()`. `calls(method, path)` counts requests received, for call-count assertions.
    """

    name = "emulator"

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.public_url = ""
        self.lock = threading.RLock()
        self.log: list[tuple[str, str, int]] = []
        self._faults: deque[Fault] = deque()
        self.faults_injected: Counter[str] = Counter()
        # Consulted for every request no queued fault matched: a benchmark's random faults.
        self.fault_source: Callable[[Request], Fault | None] | None = None
        self._routes = [
            (*getattr(self, name).route, getattr(self, name))
            for name in dir(type(self))
            if callable(getattr(type(self), name, None)) and hasattr(getattr(type(self), name), "route")
        ]

    # Fault switches -------------------------------------------------------------------------

    def fail_next(self, status: int = 503, *, times: int = 1, match: str = "") -> None:
        self._queue(Fault("status", status=status, match=match), times)

    def rate_limit_next(self, retry_after: float = 1, *, times: int = 1, match: str = "") -> None:
        self._queue(Fault("rate_limit", seconds=retry_after, match=match), times)

    def lose_next_response(self, *, times: int = 1, match: str = "") -> None:
        self._queue(Fault("lose_response", match=match), times)

    def delay_next(self, seconds: float, *, times: int = 1, match: str = "") -> None:
        self._queue(Fault("delay", seconds=seconds, match=match), times)

    def malform_next(self, *, times: int = 1, match: str = "") -> None:
        self._queue(Fault("malform", match=match), times)

    def _queue(self, fault: Fault, times: int) -> None:
        with self.lock:
            self._faults.extend([fault] * times)

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.match in path:
                    self._faults.remove(fault)
                    self.faults_injected[fault.kind] += 1
                    return fault
        return None

    def _draw_fault(self, request: Request) -> Fault | None:
        fault = self.fault_source(request) if self.fault_source else None
        if fault:
            with self.lock:
                self.faults_injected[fault.kind] += 1
        return fault

    # Call log ---------------------------------------------------------------------------

    def calls(self, method: str | None = None, path: str | None = None) -> int:
        """Requests received, optionally only those with this method and a path containing `path`."""
        with self.lock:
            return sum(
                1
                for m, p, _ in self.log
                if (method is None or m == method.upper()) and (path is None or path in p)
            )

    def reset_calls(self) -> None:
        with self.lock:
            self.log.clear()

    # The seeding surface every provider emulator offers, in neutral terms, so tests, the demo
    # and benchmarks drive any provider the same way. Ids returned are the provider's own.

    def issue_credentials(self) -> dict:
        """Credentials for a connection that starts connected: {"credentials": {...},
        "remote_org_id": str, "remote_org_name": str, "token_expires_at": datetime | None}."""
        raise NotImplementedError

    def add_product(self, *, code: str, name: str, price: Decimal, **fields) -> str:
        raise NotImplementedError

    def change_product(self, remote_id: str, changes: dict, *, touch: bool) -> None:
        """Apply neutral `changes` (name, description, price, code, active) to one product; with
        `touch`, also move its change-feed marker (timestamp or version) as the provider would."""
        raise NotImplementedError

    def update_product(self, remote_id: str, **changes) -> None:
        """Change name / price / description as a person would in the provider's UI."""
        self.change_product(remote_id, changes, touch=True)

    def update_product_silently(self, remote_id: str, **changes) -> None:
        """Change a product without touching its change-feed marker (timestamp / version): the
        change a feed misses and only the sweep can find."""
        self.change_product(remote_id, changes, touch=False)

    def delete_product(self, remote_id: str) -> None:
        """Remove or archive a product the way the provider does (Xero deletes outright)."""
        raise NotImplementedError

    def set_stock(self, remote_id: str, location: str, quantity: Decimal) -> None:
        raise NotImplementedError

    def add_customer(self, *, name: str, email: str = "", account_number: str = "") -> str:
        raise NotImplementedError

    def seed(self, *, products: int = 0, customers: int = 0, locations: int = 2) -> None:
        """Deterministic demo data: products SKU-00001.., customers with emails, stock per location."""
        raise NotImplementedError

    def products(self) -> list[dict]:
        """Every live product as {"remote_id", "code", "name", "price", "active"}: for convergence checks."""
        raise NotImplementedError

    def invoices(self) -> list[dict]:
        """Every sales document posted, as {"remote_id", "reference", "contact_id", "total"}."""
        raise NotImplementedError

    # Provider hooks: subclasses shape these as their provider does --------------------------

    def rate_limited(self, request: Request, retry_after: float) -> Response:
        return Response.json({"error": "Too Many Requests"}, 429, {"Retry-After": str(int(retry_after))})

    def error(self, request: Request, status: int, message: str) -> Response:
        return Response.json({"error": message}, status)

    def before_route(self, request: Request) -> Response | None:
        """Authentication and rate limits, before any handler runs."""
        return None

    def after_route(self, request: Request, response: Response) -> Response:
        return response

    # WSGI -------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request.from_environ(environ)
        response = self.handle(request)
        with self.lock:
            self.log.append((request.method, request.path, response.status))
        reason = HTTPStatus(response.status).phrase
        start_response(f"{response.status} {reason}", list(response.headers.items()))
        return [response.body]

    def handle(self, request: Request) -> Response:
        fault = self._take_fault(request.path) or self._draw_fault(request)
        if fault and fault.kind == "status":
            return self.error(request, fault.status, HTTPStatus(fault.status).phrase)
        if fault and fault.kind == "rate_limit":
            return self.rate_limited(request, fault.seconds)
        response = self.before_route(request) or self.dispatch(request)
        response = self.after_route(request, response)
        if fault and fault.kind == "delay":
            # A slow provider, not a slow network: it takes the request when it arrives (records
            # its idempotency key, writes) and answers late. Sleeping before it arrived would let
            # the client's retry be taken first and this request be taken after the key expired
            # on a simulated clock that moved on meanwhile: a duplicate no provider would make.
            time.sleep(fault.seconds)
        if fault and fault.kind == "lose_response":
            with self.lock:
                self.log.append((request.method, request.path, 0))
            raise ConnectionDropped
        if fault and fault.kind == "malform":
            return Response(200, b'{"truncated": [', {"Content-Type": "application/json"})
        return response

    def dispatch(self, request: Request) -> Response:
        allowed = False
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if not match:
                continue
            if method != request.method:
                allowed = True
                continue
            request.args = match.groupdict()
            return handler(request)
        if allowed:
            return self.error(request, 405, "Method not allowed")
        return self.error(request, 404, "The resource you're looking for cannot be found")
