"""Cursor pagination keyed on the primary key: stable while rows are added, no COUNT(*)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import create_model

from syncing.api.errors import field_error

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageParams(Schema):
    cursor: str | None = Field(None, description="The next_cursor of the previous page.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


def page_of(item: type[Schema]) -> type[Schema]:
    """The page schema for a list of `item`, named for it in the OpenAPI document."""
    return create_model(
        f"{item.__name__.removesuffix('Out')}Page",
        __base__=Schema,
        results=(list[item], ...),
        next_cursor=(str | None, None),
    )


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"pk:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        label, _, value = text.partition(":")
        if label != "pk":
            raise ValueError(cursor)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise field_error(400, "cursor", "The cursor is not one this API issued.") from None


def paginate_list(items: Sequence, params: PageParams, *, shape: Callable[[list], list[Any]]) -> dict:
    """One page of a short, fixed list (the registry's providers), the cursor being a position."""
    start = decode_cursor(params.cursor) if params.cursor else 0
    if start < 0:
        raise field_error(400, "cursor", "The cursor is not one this API issued.")
    rows = list(items[start : start + params.limit])
    more = start + params.limit < len(items)
    return {"results": shape(rows), "next_cursor": encode_cursor(start + params.limit) if more else None}


def paginate(
    queryset: QuerySet,
    params: PageParams,
    *,
    newest_first: bool = False,
    shape: Callable[[list], list[Any]] | None = None,
) -> dict:
    """One page of `queryset` after `params.cursor`, ordered by pk (descending when
    `newest_first`); `shape` turns the page's rows into output items."""
    queryset = queryset.order_by("-pk" if newest_first else "pk")
    if params.cursor:
        after = decode_cursor(params.cursor)
        queryset = queryset.filter(pk__lt=after) if newest_first else queryset.filter(pk__gt=after)
    rows = list(queryset[: params.limit + 1])
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    return {
        "results": shape(rows) if shape else rows,
        "next_cursor": encode_cursor(rows[-1].pk) if more else None,
    }
