"""Stock: pull changed stock positions and store them per product and location.

Stock lands only on products we already link to on this connection; a position for a product we
have not imported yet is skipped (the product pull brings it, and the next stock change with it).
Skipped positions show in a run as fetched but neither created, updated, unchanged nor failed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from connectors.base import Priority
from connectors.http import connector_for
from connectors.records import RemoteStock
from syncing.models import Connection, Location, ProductLink, StockLevel, SyncRun
from syncing.services import pipeline, runs
from syncing.services.read_ahead import read_ahead
from syncing.services.upsert import among, upsert


def pull_changed_stock(
    *, connection: Connection, trigger: str, on_page: Callable[[int], None] | None = None
) -> SyncRun:
    def work(job: runs.Job) -> None:
        connector = connector_for(connection, run=job.run, priority=Priority.POLL)
        with read_ahead(connector.pull_stock) as fetch:
            runs.follow_feed(
                job, resource="stock", fetch=fetch, store=store_stock, on_page=on_page, in_turns=True
            )

    return runs.leased_run(
        connection=connection, kind=SyncRun.Kind.STOCK, trigger=trigger, cursor_key="stock", work=work
    )


def _location_name(connection: Connection, record: RemoteStock) -> str:
    # Providers without locations (Xero keeps one quantity per item) report none: name it for them.
    return record.location_name or record.location_remote_id or connection.spec.name


def _add_locations(connection: Connection, missing: dict[str, str]) -> None:
    """Create the locations named `missing` ({name: remote id}). One the provider renamed (a
    location we hold under that remote id and another name) is renamed instead, so its stock stays
    one row per product under the new name rather than a stale second location."""
    tenant_locations = Location.objects.filter(tenant_id=connection.tenant_id)
    renamed = {
        code: pk
        for code, pk in tenant_locations.filter(code__in={code for code in missing.values() if code})
        .exclude(name__in=missing)
        .order_by("-pk")
        .values_list("code", "pk")
    }
    for name, code in missing.items():
        if code in renamed:
            tenant_locations.filter(pk=renamed[code]).update(name=name)
    tenant_locations.bulk_create(
        [
            Location(tenant_id=connection.tenant_id, name=name, code=code)
            for name, code in missing.items()
            if code not in renamed
        ],
        ignore_conflicts=True,
    )


def store_stock(
    *,
    connection: Connection,
    run: SyncRun,
    records: Sequence[RemoteStock],
    now: datetime,
    turn: pipeline.Turn | None = None,
) -> None:
    """Upsert one page of stock positions: locations created in one statement, levels in another.
    Given `turn`, the page is stored beside the one before it, in line behind it (`pipeline`)."""
    if turn:
        # A level is one row per product and location, found by both.
        levels = {(r.product_remote_id, _location_name(connection, r)) for r in records}
        turn.claim(level=levels, location={name for _, name in levels})
    product_ids = dict(
        ProductLink.objects.filter(
            connection=connection,
            remote_id__in=among({r.product_remote_id for r in records}),
            remote_deleted=False,
        ).values_list("remote_id", "product_id")
    )
    records = [r for r in records if r.product_remote_id in product_ids]
    if not records:
        return
    wanted = {_location_name(connection, r): r.location_remote_id for r in records}
    locations = Location.objects.filter(tenant_id=connection.tenant_id, name__in=wanted)
    location_ids = dict(locations.values_list("name", "pk"))
    if turn:
        # A location is written only to create it.
        turn.touching(level=levels, location=wanted.keys() - location_ids.keys())
    if len(location_ids) < len(wanted):
        # Only the first page that names a location adds it; later pages just read it.
        _add_locations(connection, {name: code for name, code in wanted.items() if name not in location_ids})
        location_ids = dict(locations.values_list("name", "pk"))
    levels = {
        (product_ids[r.product_remote_id], location_ids[_location_name(connection, r)]): r for r in records
    }
    existing = {
        (product_id, location_id): quantity
        for product_id, location_id, quantity in StockLevel.objects.filter(
            product_id__in=among({key[0] for key in levels}, integers=True),
            location_id__in={key[1] for key in levels},
        ).values_list("product_id", "location_id", "quantity")
    }
    for key, record in levels.items():
        if key not in existing:
            run.created += 1
        elif existing[key] != record.quantity:
            run.updated += 1
        else:
            run.unchanged += 1
    upsert(
        StockLevel,
        [
            {
                "product_id": product_id,
                "location_id": location_id,
                "quantity": record.quantity,
                "remote_updated_at": record.updated_at,
                "remote_version": record.version,
            }
            for (product_id, location_id), record in levels.items()
        ],
        constants={"synced_at": now},
        unique_fields=["product", "location"],
        update_fields=["quantity", "remote_updated_at", "remote_version", "synced_at"],
    )
