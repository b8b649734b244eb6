"""Typed provider errors: every failure the sync engine must tell apart.

The HTTP session raises these after classifying a response; services decide what each means for
a run or an outbox entry. Each carries a sentence a merchant can read.
"""

from __future__ import annotations

from datetime import datetime


class ConnectorError(Exception):
    """Base for every provider-facing failure."""

    retryable = False
    # Whether the provider may have carried out the request although the call failed: no readable
    # answer came, or (set by the HTTP session) an earlier send of the same call went unanswered.
    may_have_written = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class TransientError(ConnectorError):
    """The provider or the network failed in a way that may pass (timeouts, 5xx)."""

    retryable = True
    may_have_written = True


class RateLimited(ConnectorError):
    """The provider said to slow down; `retry_at` is when it allows calls again."""

    retryable = True

    def __init__(self, message: str, *, retry_at: datetime, status: int | None = 429) -> None:
        super().__init__(message, status=status)
        self.retry_at = retry_at


class BudgetExhausted(ConnectorError):
    """Our own call budget for a day or month is spent; nothing was sent."""

    retryable = True

    def __init__(self, message: str, *, resets_at: datetime, window: str) -> None:
        super().__init__(message)
        self.resets_at = resets_at
        self.window = window


class AuthorizationRevoked(ConnectorError):
    """The merchant must reconnect: the provider refused our token and its refresh."""


class ValidationFailed(ConnectorError):
    """The provider refused the data; `messages` are its own words, per record where it said."""

    def __init__(self, message: str, *, messages: list[str] | None = None, status: int | None = 400) -> None:
        super().__init__(message, status=status)
        self.messages = messages or [message]


class NotFound(ConnectorError):
    """The record or resource does not exist on the provider."""


class ProviderBug(ConnectorError):
    """The provider answered with something we cannot read (malformed JSON, missing fields)."""

    may_have_written = True


class CapabilityMissing(ConnectorError):
    """The provider's API cannot do what was asked."""


class UnknownProvider(LookupError):
    """No provider is registered under that key."""
