"""The one place a request to a provider is made (Sentry `BaseApiClient`, Airbyte `HttpClient`).

Per call: spend budget, attach the bearer token (refreshing first when it is about to expire),
let the connector add its own headers, send with explicit timeouts, read the provider's
remaining-calls headers, classify the answer (the connector's reading first, then the default
table), retry what may be retried, log every attempt and raise a typed error from
`connectors.errors` when the call cannot succeed.

Default table (a connector's `classify` may override any row):

    2xx                                  return
    connection error, timeout, 5xx       retry with backoff -> TransientError
    429                                  wait and retry if Retry-After is short -> RateLimited
    401                                  refresh the token once and retry -> AuthorizationRevoked
    400, 403, 409, 422 and other 4xx     ValidationFailed with the provider's own messages
    404, 410                             NotFound
    body that is not JSON (get_json)     ProviderBug

Retries: at most `MAX_ATTEMPTS` sends and `MAX_RETRY_SECONDS` of waiting, exponential backoff
with full jitter, Retry-After honoured. A write (anything but GET/HEAD/OPTIONS) is retried after a
lost or failed answer only when the caller says it is idempotent (an idempotency key, or a lookup
done first); 401 and 429 are retried for writes too, because the provider refused them unread. An
error that ends a call after one of its sends went unanswered carries `may_have_written`: that send
may have written, whatever the last answer says.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from connectors import budget, oauth
from connectors.base import AuthKind, Connector, Priority
from connectors.errors import (
    AuthorizationRevoked,
    BudgetExhausted,
    ConnectorError,
    NotFound,
    ProviderBug,
    RateLimited,
    TransientError,
    ValidationFailed,
)

# (connect, read) seconds: never a library default, which waits forever.
TIMEOUT = (5, 30)
MAX_ATTEMPTS = 4
MAX_RETRY_SECONDS = 20.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
# A 429 asking us to wait longer than this is handed to the job to reschedule.
SHORT_RETRY_AFTER = 5.0
# Without a Retry-After header, a 429 is assumed to last this long.
DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=60)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Query parameters never written to the call log.
SECRET_PARAMS = ("token", "secret", "key", "signature", "password", "code")

DEFAULT_ERRORS: dict[int, type[ConnectorError]] = {
    400: ValidationFailed,
    401: AuthorizationRevoked,
    403: ValidationFailed,
    404: NotFound,
    408: TransientError,
    409: ValidationFailed,
    410: NotFound,
    422: ValidationFailed,
    429: RateLimited,
}


class ProviderSession:
    """One connection's HTTP session: the only object that sends requests to a provider."""

    def __init__(
        self,
        connection,
        *,
        run=None,
        priority: Priority = Priority.POLL,
        plan_budget: bool = True,
        connector_class: type[Connector] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.connection = connection
        self.spec = connection.spec
        self.run = run
        self.priority = priority
        # False only while linking: reconnecting must work after the plan's calls are spent.
        self.plan_budget = plan_budget
        self.sleep = sleep
        self.http = requests.Session()
        self.connector = (connector_class or self.spec.connector_class)(self)

    def url(self, path_or_url: str) -> str:
        """A relative path joins the connection's API base; an absolute production URL is
        rebased onto the connection's sandbox or emulator."""
        if path_or_url.startswith(("http://", "https://")):
            return self.connection.provider_url(path_or_url)
        return f"{self.connection.api_base_url}/{path_or_url.lstrip('/')}"

    def get_json(self, path: str, **kwargs):
        return self._json(self.request("GET", path, **kwargs))

    def send_json(self, method: str, path: str, **kwargs):
        return self._json(self.request(method, path, **kwargs))

    def request(
        self,
        method: str,
        path: str,
        *,
        params=None,
        json=None,
        data=None,
        headers: dict | None = None,
        idempotent: bool | None = None,
        purpose: str = "",
        allow_statuses=(),
        stream: bool = False,
    ) -> requests.Response:
        """The provider's answer. With `stream`, a 2xx body is left unread for the caller to
        decode as it arrives (and close); an error's body is read whole to classify it."""
        method = method.upper()
        retry_writes = method in SAFE_METHODS if idempotent is None else idempotent
        url = self.url(path)
        self._refuse_if_disconnected()
        waited = 0.0
        refreshed = False
        attempt = 0
        # Set once a send of this call went unanswered (no answer, or a 5xx): if the call then ends
        # in another error (429, budget, revoked grant), the write may still have been carried out.
        unanswered = False
        try:
            while True:
                attempt += 1
                budget.spend(self.connection, self.priority, plan=self.plan_budget, sleep=self.sleep)
                token = self._bearer_token()
                request = requests.Request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    headers={"Accept": "application/json", **(headers or {})},
                )
                prepared = self.http.prepare_request(request)
                if token:
                    # A plain header rather than OAuth2Session.request: oauthlib refuses http:// URLs,
                    # which every emulator uses, and refresh is ours (one winner across processes).
                    prepared.headers["Authorization"] = f"Bearer {token}"
                self.connector.authenticate(prepared)
                started = time.monotonic()
                try:
                    response = self.http.send(prepared, timeout=TIMEOUT, allow_redirects=False, stream=stream)
                except requests.RequestException as exc:
                    self._log(prepared, None, started, attempt, purpose, error=f"{type(exc).__name__}: {exc}")
                    unanswered = True
                    delay = self._backoff(attempt)
                    if retry_writes and self._may_retry(attempt, waited, delay):
                        self.sleep(delay)
                        waited += delay
                        continue
                    raise TransientError(f"{self.spec.name} did not answer ({type(exc).__name__}).") from exc

                status = response.status_code
                ok = 200 <= status < 300 or status in allow_statuses
                error = None if ok else self._classify(response)
                self._log(prepared, response, started, attempt, purpose, error=error.message if error else "")
                budget.observe(self.connection, self.connector.remaining_calls(response))
                if error is None:
                    return response

                if isinstance(error, AuthorizationRevoked):
                    # Any refusal of our credentials stops the connection's jobs (Unleashed answers a
                    # bad key with 403); only an OAuth 401 is worth one refresh first.
                    if status == 401 and self.spec.auth == AuthKind.OAUTH2 and not refreshed:
                        refreshed = True
                        oauth.refresh(self.connection, stale_token=token, sleep=self.sleep)
                        continue
                    raise oauth.authorization_revoked(
                        self.connection,
                        reason=f"{self.spec.name} no longer accepts our access; please reconnect.",
                    )
                if isinstance(error, RateLimited):
                    wait = max((error.retry_at - datetime.now(UTC)).total_seconds(), 0.0)
                    if wait <= SHORT_RETRY_AFTER and self._may_retry(attempt, waited, wait):
                        self.sleep(wait)
                        waited += wait
                        continue
                    raise error
                if isinstance(error, TransientError):
                    unanswered = True
                    retry_at = self.connector.retry_after(response)
                    delay = self._backoff(attempt)
                    if retry_at is not None:
                        delay = max(delay, (retry_at - datetime.now(UTC)).total_seconds())
                    if retry_writes and self._may_retry(attempt, waited, delay):
                        self.sleep(delay)
                        waited += delay
                        continue
                raise error
        except ConnectorError as error:
            error.may_have_written = error.may_have_written or unanswered
            raise

    # Steps ----------------------------------------------------------------------------------

    def _refuse_if_disconnected(self) -> None:
        status = self.connection.status
        if status in (self.connection.Status.NEEDS_REAUTH, self.connection.Status.DISABLED):
            raise AuthorizationRevoked(
                self.connection.status_reason or f"The {self.spec.name} connection is not active."
            )

    def _bearer_token(self) -> str | None:
        if self.spec.auth != AuthKind.OAUTH2:
            return None
        if oauth.token_is_stale(self.connection):
            return oauth.refresh(self.connection, sleep=self.sleep)
        return self.connection.credentials.get("access_token")

    def _classify(self, response: requests.Response) -> ConnectorError:
        status = response.status_code
        kind = self.connector.classify(response)
        if kind is None:
            kind = DEFAULT_ERRORS.get(status)
        if kind is None:
            kind = TransientError if status >= 500 else ProviderBug if status < 400 else ValidationFailed
        messages = [m for m in self.connector.error_messages(response) if m] or [response.reason or ""]
        message = f"{self.spec.name} answered {status}: {'; '.join(messages)}"[:1000]
        if issubclass(kind, RateLimited):
            retry_at = self.connector.retry_after(response) or datetime.now(UTC) + DEFAULT_RATE_LIMIT_WAIT
            return kind(message, retry_at=retry_at, status=status)
        if issubclass(kind, ValidationFailed):
            return kind(message, messages=messages, status=status)
        if issubclass(kind, BudgetExhausted):
            resets_at = self.connector.retry_after(response) or datetime.now(UTC) + timedelta(hours=1)
            return kind(message, resets_at=resets_at, window="provider")
        return kind(message, status=status)

    def _backoff(self, attempt: int) -> float:
        # Full jitter (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
        return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))

    def _may_retry(self, attempt: int, waited: float, delay: float) -> bool:
        return attempt < MAX_ATTEMPTS and waited + delay <= MAX_RETRY_SECONDS

    def _json(self, response: requests.Response):
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ProviderBug(
                f"{self.spec.name} answered {response.status_code} with a body that is not JSON "
                f"({urlsplit(response.url).path})."
            ) from None

    def _log(self, prepared, response, started: float, attempt: int, purpose: str, *, error: str) -> None:
        budget.record_call(
            self.connection,
            run=self.run,
            method=prepared.method,
            path=loggable_path(prepared.url),
            status=response.status_code if response is not None else None,
            duration_ms=int((time.monotonic() - started) * 1000),
            attempt=attempt,
            purpose=purpose,
            error=error,
            rate_limit_headers=rate_limit_headers(response) if response is not None else {},
        )


def connector_for(
    connection, run=None, priority: Priority = Priority.POLL, *, plan_budget: bool = True
) -> Connector:
    """The connection's connector, bound to a fresh `ProviderSession`; `plan_budget=False` for the
    calls that link a connection, which the tenant's plan must never refuse."""
    return ProviderSession(connection, run=run, priority=priority, plan_budget=plan_budget).connector


def loggable_path(url: str) -> str:
    """Path and query of a URL, with the values of secret-looking parameters masked."""
    parts = urlsplit(url)
    query = [
        (name, "***" if any(word in name.lower() for word in SECRET_PARAMS) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return parts.path + (f"?{urlencode(query)}" if query else "")


def rate_limit_headers(response: requests.Response) -> dict[str, str]:
    return {
        name: value
        for name, value in response.headers.items()
        if "limit" in name.lower() or name.lower() in ("retry-after", "x-rate-limit-problem")
    }
