"""One bulk upsert for a page of rows, and one filter for "this column is among these values", that
cost the same few queries whatever the page size and stay cheap in Python on a large page.

On PostgreSQL the page travels as ONE JSON parameter, an array per column, and the database zips
it back into rows (`INSERT ... SELECT ... FROM ROWS FROM (jsonb_array_elements_text(...), ...)
... ON CONFLICT DO UPDATE`): building `bulk_create`'s SQL, a placeholder and a converted value per
field per row, costs more than the database's own work on a page of thousands, and so did a JSON
object per row. Values the same for every row travel once. Elsewhere (SQLite)
`bulk_create(update_conflicts=...)` does the same job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson
from django.db import connection as db
from django.db.models import Model
from django.db.models.expressions import RawSQL
from django.utils import timezone

# A page as large as a whole catalogue (Xero's Items list is not paged) is upserted in statements
# of this many rows, inside the same transaction.
BATCH_SIZE = 5_000


def among(values: Iterable[str | int], *, integers: bool = False) -> RawSQL:
    """The right-hand side of `column__in=` for many values: one JSON parameter, not one each."""
    listed = orjson.dumps(list(values)).decode()
    if db.vendor == "postgresql":
        cast = "::bigint" if integers else ""
        return RawSQL(f"SELECT jsonb_array_elements_text(%s::jsonb){cast}", (listed,))
    return RawSQL("SELECT value FROM json_each(%s)", (listed,))


def upsert(
    model: type[Model],
    rows: Sequence[dict],
    *,
    unique_fields: Sequence[str],
    update_fields: Sequence[str],
    constants: dict | None = None,
    returning: str | None = None,
) -> dict:
    """Insert `rows` (field name -> value; every row names the same fields), or update
    `update_fields` of the rows already there by `unique_fields`. `constants` (field name -> value)
    are the same for every row and travel once. Given `returning`, a field whose value tells the
    stored rows apart, returns {its value: pk} of every stored row; else nothing."""
    constants = constants or {}
    stored: dict = {}
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        store = _upsert_postgresql if db.vendor == "postgresql" else _upsert_orm
        stored.update(store(model, batch, constants, unique_fields, update_fields, returning))
    return stored


def _upsert_orm(model, rows, constants, unique_fields, update_fields, returning) -> dict:
    instances = model.objects.bulk_create(
        [model(**row, **constants) for row in rows],
        update_conflicts=True,
        unique_fields=list(unique_fields),
        update_fields=list(update_fields),
    )
    if not returning:
        return {}
    attname = model._meta.get_field(returning).attname
    return {getattr(instance, attname): instance.pk for instance in instances}


def _upsert_postgresql(model, rows, constants, unique_fields, update_fields, returning) -> dict:
    meta = model._meta
    names = list(rows[0])
    given = [meta.get_field(name) for name in names]
    fixed = [(meta.get_field(name), value) for name, value in constants.items()]
    named = {*given, *(f for f, _ in fixed)}
    # Columns nobody names get their field's default (or now, for auto_now), once per statement.
    defaults = [
        (f, timezone.now() if _stamped(f) else f.get_default())
        for f in meta.concrete_fields
        if not f.primary_key and f not in named and (_stamped(f) or f.has_default())
    ]
    once = [*fixed, *defaults]
    quote = db.ops.quote_name
    column = {name: quote(meta.get_field(name).column) for name in [*unique_fields, *update_fields]}
    conflict = ", ".join(column[name] for name in unique_fields)
    # The page travels column by column (a JSON array of arrays, zipped back into rows by ROWS
    # FROM): no key repeated per row, and each value already text, so encoding stays in C.
    selected = [
        *(f"r.c{i}::{f.db_type(db)}" for i, f in enumerate(given)),
        *(f"%s::{f.db_type(db)}" for f, _ in once),
    ]
    page = "page AS (SELECT %s::jsonb AS columns)"
    insert = (
        f"INSERT INTO {quote(meta.db_table)} "
        f"({', '.join(quote(f.column) for f in [*given, *(f for f, _ in once)])}) "
        f"SELECT {', '.join(selected)} "
        "FROM page, ROWS FROM ("
        f"{', '.join(f'jsonb_array_elements_text(page.columns->{i})' for i in range(len(given)))}"
        f") AS r({', '.join(f'c{i}' for i in range(len(given)))}) "
        f"ON CONFLICT ({conflict}) DO UPDATE SET "
        f"{', '.join(f'{column[name]} = EXCLUDED.{column[name]}' for name in update_fields)}"
    )
    if returning:
        # The stored rows come back as two JSON arrays (keys, pks) in one row, aggregated in one
        # pass so they line up: a row per stored row costs more to read in Python than to write.
        key = quote(meta.get_field(returning).column)
        sql = (
            f"WITH {page}, stored AS ({insert} RETURNING {quote(meta.pk.column)} AS pk, {key} AS key) "
            "SELECT json_agg(key)::text, json_agg(pk)::text FROM stored"
        )
    else:
        sql = f"WITH {page} {insert}"
    # orjson: the standard encoder took a tenth of a page's storing on large pages.
    payload = orjson.dumps(
        [_as_json([row[name] for row in rows], f) for name, f in zip(names, given, strict=True)]
    ).decode()
    params = [payload, *(f.get_db_prep_save(value, db) for f, value in once)]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        if not returning:
            return {}
        keys, pks = cursor.fetchone()
        return dict(zip(orjson.loads(keys), orjson.loads(pks), strict=True))


def _as_json(values: list, field) -> list:
    """One column's values as JSON can carry them: decimals as the text PostgreSQL parses for
    numeric; moments orjson writes in ISO 8601 itself, as timestamptz parses them."""
    if field.get_internal_type() == "DecimalField":
        return [None if value is None else str(value) for value in values]
    return values


def _stamped(field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
