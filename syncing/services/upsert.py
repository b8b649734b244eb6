"""One bulk upsert for a page of rows, and one filter for "this column is among these values", that
cost the same few queries whatever the page size and stay cheap in Python on a large page.

On PostgreSQL the page travels as ONE JSON parameter and the database unpacks it
(`INSERT ... SELECT ... FROM jsonb_to_recordset(%s) ... ON CONFLICT DO UPDATE`): building
`bulk_create`'s SQL, a placeholder and a converted value per field per row, costs more than the
database's own work on a page of thousands. Elsewhere (SQLite) `bulk_create(update_conflicts=...)`
does the same job.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from django.db import connection as db
from django.db.models import Model
from django.db.models.expressions import RawSQL
from django.utils import timezone

# A page as large as a whole catalogue (Xero's Items list is not paged) is upserted in statements
# of this many rows, inside the same transaction.
BATCH_SIZE = 5_000


def among(values: Iterable[str | int], *, integers: bool = False) -> RawSQL:
    """The right-hand side of `column__in=` for many values: one JSON parameter, not one each."""
    listed = json.dumps(list(values))
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
) -> list[tuple]:
    """Insert `rows` (field name -> value; every row names the same fields), or update
    `update_fields` of the rows already there by `unique_fields`. Returns (pk, *unique values) per
    stored row, unique foreign keys given by their ids."""
    stored: list[tuple] = []
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        if db.vendor == "postgresql":
            stored.extend(_upsert_postgresql(model, batch, unique_fields, update_fields))
        else:
            stored.extend(_upsert_orm(model, batch, unique_fields, update_fields))
    return stored


def _upsert_orm(model, rows, unique_fields, update_fields) -> list[tuple]:
    instances = model.objects.bulk_create(
        [model(**row) for row in rows],
        update_conflicts=True,
        unique_fields=list(unique_fields),
        update_fields=list(update_fields),
    )
    attnames = [model._meta.get_field(name).attname for name in unique_fields]
    return [(instance.pk, *(getattr(instance, name) for name in attnames)) for instance in instances]


def _upsert_postgresql(model, rows, unique_fields, update_fields) -> list[tuple]:
    if not rows:
        return []
    meta = model._meta
    names = list(rows[0])
    given = [meta.get_field(name) for name in names]
    # Columns no row names get their field's default (or now, for auto_now), once per statement.
    missing = [f for f in meta.concrete_fields if not f.primary_key and f not in given]
    defaults = [
        (f, timezone.now() if _stamped(f) else f.get_default())
        for f in missing
        if _stamped(f) or f.has_default()
    ]
    quote = db.ops.quote_name
    column = {name: quote(meta.get_field(name).column) for name in [*unique_fields, *update_fields]}
    conflict = ", ".join(column[name] for name in unique_fields)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} "
        f"({', '.join(quote(f.column) for f in [*given, *(f for f, _ in defaults)])}) "
        f"SELECT {', '.join([*(f'r.{quote(f.attname)}' for f in given), *(['%s'] * len(defaults))])} "
        f"FROM jsonb_to_recordset(%s::jsonb) "
        f"AS r({', '.join(f'{quote(f.attname)} {f.db_type(db)}' for f in given)}) "
        f"ON CONFLICT ({conflict}) DO UPDATE SET "
        f"{', '.join(f'{column[name]} = EXCLUDED.{column[name]}' for name in update_fields)} "
        f"RETURNING {quote(meta.pk.column)}, {conflict}"
    )
    # The record's keys are the fields' attnames (`product_id`), as its column list names them.
    attnames = [(name, f.attname) for name, f in zip(names, given, strict=True)]
    payload = json.dumps([{a: row[n] for n, a in attnames} for row in rows], default=_json_scalar)
    # The defaults' placeholders stand before the payload's in the statement.
    params = [*(f.get_db_prep_save(value, db) for f, value in defaults), payload]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _stamped(field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def _json_scalar(value) -> str:
    # Decimal and datetime: their text form is what PostgreSQL parses for numeric and timestamptz.
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
