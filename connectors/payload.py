"""A path-tracking accessor for provider JSON (the Zulip `WildValue` idea).

Mapping code reads provider payloads through `Payload` so that a wrong or missing field becomes a
`ProviderBug` naming the record and the field, instead of a `KeyError` deep in a sync run:

    item = Payload(data, record="Item 'ABC-1'")
    item["SalesDetails"]["UnitPrice"].decimal()
    # ProviderBug("Item 'ABC-1': SalesDetails.UnitPrice is not a number") when it is "abc"

Indexing never fails by itself: a missing key gives a Payload that raises only when read with a
required accessor (`str()`, `decimal()`, ...); the `optional_*` accessors answer None for a key that
is missing or null.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from connectors.errors import ProviderBug

_MISSING = object()

# Microsoft JSON dates, as Xero and Unleashed send them: "/Date(1573755038314+0000)/"
# (https://developer.xero.com/documentation/api/accounting/requests-and-responses#json-responses).
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


class Payload:
    # A catalogue import reads millions of fields: the path is only spelled out when an error needs
    # it, from the parent and key each child keeps.
    __slots__ = ("_key", "_parent", "_path", "raw", "record")

    def __init__(self, data, *, record: str = "", path: str = "") -> None:
        self.raw = data
        self.record = record
        self._path = path
        self._parent = None
        self._key = None

    @classmethod
    def _child(cls, parent: Payload, key: str | int, value) -> Payload:
        child = cls.__new__(cls)
        child.raw = value
        child.record = parent.record
        child._path = None
        child._parent = parent
        child._key = key
        return child

    @property
    def path(self) -> str:
        if self._path is None:
            parent = self._parent.path
            if isinstance(self._key, int):
                self._path = f"{parent}[{self._key}]"
            else:
                self._path = f"{parent}.{self._key}" if parent else self._key
        return self._path

    def __repr__(self) -> str:
        return f"Payload({self.record!r}, {self.path or '<root>'!r})"

    # Navigation ---------------------------------------------------------------------------

    def __getitem__(self, key: str | int) -> Payload:
        if isinstance(key, int):
            if not isinstance(self.raw, list):
                raise self._bug("is not a list")
            value = self.raw[key] if -len(self.raw) <= key < len(self.raw) else _MISSING
            return Payload._child(self, key, value)
        if self.raw is _MISSING or self.raw is None:
            value = _MISSING
        elif isinstance(self.raw, dict):
            value = self.raw.get(key, _MISSING)
        else:
            raise self._bug("is not an object")
        return Payload._child(self, key, value)

    def __contains__(self, key: str) -> bool:
        return isinstance(self.raw, dict) and key in self.raw

    @property
    def missing(self) -> bool:
        """True when the field is absent or null."""
        return self.raw is _MISSING or self.raw is None

    def list(self) -> list[Payload]:
        if not isinstance(self.raw, list):
            raise self._bug("is missing" if self.missing else "is not a list")
        return [self[index] for index in range(len(self.raw))]

    def optional_list(self) -> list[Payload]:
        return [] if self.missing else self.list()

    def __iter__(self) -> Iterator[Payload]:
        return iter(self.list())

    def keys(self) -> list[str]:
        if not isinstance(self.raw, dict):
            raise self._bug("is missing" if self.missing else "is not an object")
        return list(self.raw)

    # Typed reads --------------------------------------------------------------------------

    def str(self) -> str:
        if not isinstance(self.raw, str):
            raise self._bug("is missing" if self.missing else "is not a string")
        return self.raw

    def optional_str(self) -> str | None:
        return None if self.missing else self.str()

    def decimal(self) -> Decimal:
        value = self.raw
        # bool is an int in Python; a provider sending true for a price is a bug, not 1.
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self._bug("is missing" if self.missing else "is not a number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise self._bug("is not a number") from None
        if not number.is_finite():
            raise self._bug("is not a number")
        return number

    def optional_decimal(self) -> Decimal | None:
        return None if self.missing else self.decimal()

    def int(self) -> int:
        number = self.decimal()
        if number != number.to_integral_value():
            raise self._bug("is not a whole number")
        return int(number)

    def bool(self) -> bool:
        if not isinstance(self.raw, bool):
            raise self._bug("is missing" if self.missing else "is not true or false")
        return self.raw

    def optional_bool(self, default: bool | None = None) -> bool | None:
        return default if self.missing else self.bool()

    def datetime(self) -> datetime:
        """An aware UTC datetime from ISO 8601 (naive means UTC) or a Microsoft JSON date."""
        if not isinstance(self.raw, str):
            raise self._bug("is missing" if self.missing else "is not a date and time")
        text = self.raw.strip()
        match = _MS_DATE.match(text)
        if match:
            # The milliseconds count from the epoch in UTC; the offset only names the sender's zone.
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self._bug("is not a date and time") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    def optional_datetime(self) -> datetime | None:
        return None if self.missing else self.datetime()

    def _bug(self, problem: str) -> ProviderBug:
        where = self.path or "the response"
        prefix = f"{self.record}: " if self.record else ""
        return ProviderBug(f"{prefix}{where} {problem}")
