"""Products: pull the change feed, sync one product, sweep for ghosts, make sure a product exists
remotely before a sale needs it.

The provider is the source of truth for product details. Local rows are matched to remote ones by
link first and by SKU second (an unlinked local product with the remote code is adopted, never
duplicated). Rows are never deleted: a product gone remotely is deactivated and its link marked.
Each page is stored with one bulk upsert per table and its cursor in the same transaction, so a
worker killed between pages resumes after the last page it committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, FilteredRelation, Q
from django.utils import timezone

from connectors.base import Capability, Priority
from connectors.errors import ValidationFailed
from connectors.http import connector_for
from connectors.records import NewProduct, RemoteProduct
from syncing import selectors
from syncing.models import Connection, LinkMethod, Product, ProductLink, SyncRun, Tenant
from syncing.services import pipeline, runs
from syncing.services.leases import claim
from syncing.services.links import live_link, save_link
from syncing.services.read_ahead import read_ahead
from syncing.services.stock import store_stock
from syncing.services.upsert import among, upsert

logger = logging.getLogger(__name__)

PRODUCT_FIELDS = ("name", "description", "sale_price", "purchase_price", "tax_code", "active")
LINK_FIELDS = (
    "remote_id",
    "remote_code",
    "remote_version",
    "remote_updated_at",
    "last_confirmed_at",
    "remote_deleted",
)
# Where a sweep that walks the catalogue page by page stands, in `Connection.cursors`.
SWEEP_CURSOR = "sweep"
# Changes the feed missed but the sweep found; past this many, staff are asked to look at the feed.
FEED_MISS_THRESHOLD = 5
# How long one worker may hold the right to create a product remotely, and how long others wait.
CREATE_CLAIM_TTL = timedelta(minutes=5)
CREATE_CLAIM_WAIT = 60.0


def pull_changed_products(
    *,
    connection: Connection,
    trigger: str,
    on_page: Callable[[int], None] | None = None,
    since: str | None = None,
) -> SyncRun:
    """Read the products changed since the last pull, page by page, and store them."""

    def work(job: runs.Job) -> None:
        connector = connector_for(connection, run=job.run, priority=Priority.POLL)
        with read_ahead(connector.pull_products) as fetch:
            runs.follow_feed(
                job,
                resource="products",
                fetch=fetch,
                store=store_products,
                on_page=on_page,
                since=since,
                in_turns=True,
            )

    return runs.leased_run(
        connection=connection, kind=SyncRun.Kind.PRODUCTS, trigger=trigger, cursor_key="products", work=work
    )


def _differs(product: Product, values: dict) -> bool:
    return any(getattr(product, name) != values[name] for name in PRODUCT_FIELDS)


def _values(record: RemoteProduct) -> dict:
    return {
        "name": record.name,
        "description": record.description,
        "sale_price": record.sale_price,
        "purchase_price": record.purchase_price,
        "tax_code": record.tax_code,
        "active": record.active and not record.deleted,
    }


@dataclass(slots=True)
class _Local:
    """A local product as a page of a pull needs it: its key and the fields the feed decides."""

    pk: int
    sku: str
    values: tuple  # PRODUCT_FIELDS, in order
    remote_updated_at: datetime | None


def store_products(
    *,
    connection: Connection,
    run: SyncRun,
    records: Sequence[RemoteProduct],
    now: datetime,
    turn: pipeline.Turn | None = None,
) -> dict[str, int]:
    """Upsert one page of remote products and their links; count into `run`.
    Returns remote id -> local product id for the records stored. Given `turn`, the page is
    stored beside the one before it, in line behind it (`pipeline`)."""
    records = list({record.remote_id: record for record in records}.values())
    if turn:
        remote_ids, codes = {r.remote_id for r in records}, {r.code for r in records if r.code}
        turn.claim(remote_id=remote_ids, sku=codes)
    # Read only the columns the decisions need, as tuples: a model instance per row costs more than
    # the query itself on a large page.
    local_columns = ("sku", *PRODUCT_FIELDS, "remote_updated_at")
    by_pk: dict[int, _Local] = {}
    links: dict[str, _Local] = {}  # remote id -> its linked local product
    link_of_product: dict[int, tuple[str, bool]] = {}  # product pk -> (remote id, remote deleted)
    for remote_id, remote_deleted, pk, sku, *values, remote_updated_at in ProductLink.objects.filter(
        connection=connection, remote_id__in=among(r.remote_id for r in records)
    ).values_list("remote_id", "remote_deleted", "product_id", *(f"product__{c}" for c in local_columns)):
        links[remote_id] = by_pk[pk] = _Local(pk, sku, tuple(values), remote_updated_at)
        link_of_product[pk] = (remote_id, remote_deleted)
    for pk, sku, *values, remote_updated_at, link_remote_id, link_deleted in (
        Product.objects.filter(
            tenant_id=connection.tenant_id, sku__in=among(r.code for r in records if r.code)
        )
        .annotate(link=FilteredRelation("links", condition=Q(links__connection=connection)))
        .values_list("pk", *local_columns, "link__remote_id", "link__remote_deleted")
    ):
        by_pk.setdefault(pk, _Local(pk, sku, tuple(values), remote_updated_at))
        if link_remote_id is not None:
            link_of_product[pk] = (link_remote_id, link_deleted)
    by_sku = {product.sku: product for product in by_pk.values()}
    if turn:
        # A link or product this page writes is found by one of these keys: by its own SKU (a
        # rename's old one too), or its link's remote id (an adopted product's old link).
        turn.touching(
            remote_id=remote_ids.union(remote_id for remote_id, _ in link_of_product.values()),
            sku=codes.union(by_sku),
        )
    deleted_here = {r.remote_id for r in records if r.deleted}

    # Decide which local row (by SKU) each record lands on; one record per row per statement.
    targets: dict[str, tuple[RemoteProduct, _Local | None]] = {}
    for record in records:
        product = links.get(record.remote_id)
        if product:
            renamed = record.code and record.code != product.sku and not record.deleted
            if renamed and not _rename(connection, run, product, record.code, by_sku):
                continue
        elif record.deleted:
            continue  # never had it: nothing to deactivate
        elif not record.code:
            runs.record_error(run, record=record.remote_id, message="The product has no code (SKU).")
            continue
        else:
            product = by_sku.get(record.code)
            other = link_of_product.get(product.pk) if product else None
            if other and not other[1] and other[0] not in deleted_here:
                runs.record_error(
                    run,
                    record=record.code,
                    message=f"Another {connection.spec.name} product already uses SKU {record.code}.",
                )
                continue
        sku = product.sku if product else record.code
        if sku in targets and not targets[sku][0].deleted:
            if not record.deleted:
                runs.record_error(
                    run,
                    record=record.code,
                    message=f"Two {connection.spec.name} products share SKU {record.code}.",
                )
            continue
        targets[sku] = (record, product)

    rows = []  # one per target, in the same order
    owns_details = selectors.catalogue_source_id(connection.tenant_id) == connection.pk
    for sku, (record, existing) in targets.items():
        values = _values(record)
        if existing is not None and not owns_details:
            # Another connection is the catalogue's source of truth: this one only links.
            values = dict(zip(PRODUCT_FIELDS, existing.values, strict=True))
        elif record.deleted:
            values = dict(zip(PRODUCT_FIELDS, existing.values, strict=True)) | {"active": False}
        if existing is None:
            run.created += 1
        elif existing.values != tuple(values[name] for name in PRODUCT_FIELDS):
            run.updated += 1
        else:
            run.unchanged += 1
        remote_updated_at = record.updated_at or (existing.remote_updated_at if existing else None)
        rows.append({"sku": sku, "remote_updated_at": remote_updated_at, **values})
    if not rows:
        return {}
    pk_of_sku = upsert(
        Product,
        rows,
        constants={"tenant_id": connection.tenant_id, "synced_at": now},
        unique_fields=["tenant", "sku"],
        update_fields=[*PRODUCT_FIELDS, "remote_updated_at", "synced_at"],
        returning="sku",
    )
    # Methods as plain text: a row holding an enum member is one more object for the garbage
    # collector to track, and a page holds thousands of rows.
    matched, imported = LinkMethod.MATCHED_CODE.value, LinkMethod.IMPORTED.value
    upsert(
        ProductLink,
        [
            {
                "product_id": pk_of_sku[sku],
                "remote_id": record.remote_id,
                "remote_code": record.code,
                "remote_version": record.version,
                "remote_updated_at": record.updated_at,
                "method": matched if existing else imported,
                "remote_deleted": record.deleted,
            }
            for sku, (record, existing) in targets.items()
        ],
        constants={"connection_id": connection.pk, "linked_at": now, "last_confirmed_at": now},
        unique_fields=["connection", "product"],
        update_fields=LINK_FIELDS,
    )
    return {record.remote_id: pk_of_sku[sku] for sku, (record, _) in targets.items()}


def _rename(connection: Connection, run: SyncRun, product: _Local, code: str, by_sku: dict) -> bool:
    """The remote code of a linked product changed: follow it, unless another local product has it.
    Rare enough to be one UPDATE per product, before the page's bulk upsert keys rows by SKU."""
    if code in by_sku:
        runs.record_error(
            run,
            record=code,
            message=f"{connection.spec.name} renamed SKU {product.sku} to {code}, "
            "which another product here already uses.",
        )
        return False
    Product.objects.filter(pk=product.pk).update(sku=code)
    del by_sku[product.sku]
    product.sku = code
    by_sku[code] = product
    return True


def sync_product(
    *,
    connection: Connection | None = None,
    product: Product | None = None,
    sku: str = "",
    tenant: Tenant | None = None,
    trigger: str = SyncRun.Trigger.MANUAL,
) -> SyncRun:
    """Refresh one product (and its stock) now, in about two calls per connection: by its link when
    it has one, else by its SKU. Without `connection`, every active connection of the tenant that
    pulls products is asked; each gets its own run, and the first run that did not succeed (else
    the last) is returned."""
    tenant = product.tenant if product else (connection.tenant if connection else tenant)
    sku = product.sku if product else sku
    if connection:
        connections = [connection]
    else:
        connections = [
            c
            for c in Connection.objects.filter(tenant=tenant, status=Connection.Status.ACTIVE).order_by("pk")
            if c.spec.can(Capability.PULL_PRODUCTS)
        ]
    if not connections:
        raise Connection.DoesNotExist(f"{tenant} has no active connection that provides products.")
    results = [_sync_product_on(connection=c, sku=sku, trigger=trigger) for c in connections]
    succeeded = (SyncRun.Status.SUCCEEDED,)
    return next((run for run in results if run.status not in succeeded), results[-1])


def _sync_product_on(*, connection: Connection, sku: str, trigger: str) -> SyncRun:
    def work(job: runs.Job) -> None:
        run = job.run
        connector = connector_for(connection, run=run, priority=Priority.POLL)
        link = (
            ProductLink.objects.filter(
                connection=connection, product__tenant=connection.tenant, product__sku=sku
            )
            .only("remote_id")
            .first()
        )
        if link:
            found = connector.find_products_by_ids([link.remote_id])
        else:
            found = [r for r in connector.find_products_by_code([sku]) if r.code == sku]
        now = timezone.now()
        run.fetched = len(found)
        with transaction.atomic():
            if link and not found:
                deactivate_links(run, [link.pk], now)
            stored = store_products(connection=connection, run=run, records=found, now=now)
            runs.save_progress(run)
        if not link and not found:
            runs.record_error(
                run, record=sku, message=f"{connection.spec.name} has no product with SKU {sku}."
            )
        live = [r.remote_id for r in found if r.remote_id in stored and not r.deleted]
        if live and connection.spec.can(Capability.PULL_STOCK):
            levels = connector.stock_for_products(live)
            with transaction.atomic():
                store_stock(connection=connection, run=run, records=levels, now=timezone.now())
                runs.save_progress(run)

    # No lease: storing one product is an idempotent upsert, so it never waits for a full pull.
    return runs.leased_run(
        connection=connection, kind=SyncRun.Kind.SINGLE_PRODUCT, trigger=trigger, exclusive=False, work=work
    )


def deactivate_links(run: SyncRun, link_ids: Sequence[int], now: datetime) -> None:
    """Remote products gone: keep the local rows, inactive, with their links marked deleted. Only
    the catalogue's source deactivates; another connection losing a product only loses the link."""
    connection = run.connection
    if selectors.catalogue_source_id(connection.tenant_id) == connection.pk:
        run.updated += Product.objects.filter(links__pk__in=link_ids, active=True).update(
            active=False, synced_at=now
        )
    ProductLink.objects.filter(pk__in=link_ids).update(remote_deleted=True, last_confirmed_at=now)


def sweep_stale_products(
    *, connection: Connection, size: int | None = None, trigger: str = SyncRun.Trigger.SCHEDULE
) -> SyncRun:
    """Re-check the links confirmed longest ago, fetching their products in bulk: a product
    missing from the answer is gone (a ghost), one that changed without the feed telling us is a
    feed miss. Every swept link counts as confirmed now. A provider that cannot fetch by ids but
    lists its catalogue in pages (Sage) is walked a page or more per run instead (see
    `_walk_catalogue`)."""
    size = size or connection.sweep_size

    def work(job: runs.Job) -> None:
        run = job.run
        connector = connector_for(connection, run=run, priority=Priority.SWEEP)
        if hasattr(connector, "catalogue_page"):
            links, found, cursor = _walk_catalogue(connection, connector, size)
        else:
            links = list(selectors.links_oldest_confirmed(connection, size))
            if not links:
                return
            found = {
                r.remote_id: r for r in connector.find_products_by_ids([link.remote_id for link in links])
            }
            cursor = None
        run.fetched = len(found)
        seen_until = selectors.feed_seen_until(connection)
        by_remote = {link.remote_id: link for link in links}
        owns_details = selectors.catalogue_source_id(connection.tenant_id) == connection.pk
        misses = [
            record
            for record in found.values()
            if owns_details
            and record.remote_id in by_remote
            and _differs(by_remote[record.remote_id].product, _values(record))
            and (record.updated_at is None or (seen_until is not None and record.updated_at <= seen_until))
        ]
        now = timezone.now()
        with transaction.atomic():
            deactivate_links(run, [link.pk for link in links if link.remote_id not in found], now)
            store_products(connection=connection, run=run, records=list(found.values()), now=now)
            ProductLink.objects.filter(pk__in=[link.pk for link in links]).update(last_confirmed_at=now)
            if cursor is not None:
                runs.save_cursor(connection, SWEEP_CURSOR, cursor)
                run.cursor_after = cursor
            runs.save_progress(run)
        if misses:
            _count_feed_misses(connection, len(misses), now)

    return runs.leased_run(
        connection=connection,
        kind=SyncRun.Kind.SWEEP,
        trigger=trigger,
        cursor_key=SWEEP_CURSOR,
        due_field="next_sweep_at",
        work=work,
    )


def _walk_catalogue(connection: Connection, connector, size: int) -> tuple[list, dict, str]:
    """The next pages of the remote catalogue, enough for `size` items, from where the last sweep
    stopped: the links found on them are re-confirmed, whatever they were last confirmed. When a
    walk reaches the last page, every live link the walk did not see (confirmed before the walk
    began) is looked up by id: gone ones are ghosts, and ones a deletion shifted to an
    earlier page while we walked are confirmed. Returns (links checked, live remote products
    found among them by remote id, the cursor to store: "next page|when this walk began")."""
    page, _, began = (connection.cursors.get(SWEEP_CURSOR) or "").partition("|")
    began = began or timezone.now().isoformat()
    records: list[RemoteProduct] = []
    token = page or None
    while len(records) < size:
        listed = connector.catalogue_page(token)
        records.extend(listed.records)
        token = listed.next_page
        if token is None:
            break
    live = {record.remote_id: record for record in records if not record.deleted}
    links = list(
        ProductLink.objects.filter(connection=connection, remote_id__in=among(live)).select_related("product")
    )
    if token is not None:
        return links, {link.remote_id: live[link.remote_id] for link in links}, f"{token}|{began}"
    unseen = list(
        ProductLink.objects.filter(
            connection=connection, remote_deleted=False, last_confirmed_at__lt=datetime.fromisoformat(began)
        )
        .exclude(pk__in=[link.pk for link in links])
        .select_related("product")
    )
    if unseen:
        live.update(
            (r.remote_id, r) for r in connector.find_products_by_ids([link.remote_id for link in unseen])
        )
    links += unseen
    # The next walk starts again at the first page.
    return links, {link.remote_id: live[link.remote_id] for link in links if link.remote_id in live}, ""


def _count_feed_misses(connection: Connection, misses: int, now: datetime) -> None:
    Connection.objects.filter(pk=connection.pk).update(feed_misses=F("feed_misses") + misses)
    connection.refresh_from_db(fields=["feed_misses", "feed_flagged_at"])
    if connection.feed_misses < FEED_MISS_THRESHOLD or connection.feed_flagged_at:
        return
    if Connection.objects.filter(pk=connection.pk, feed_flagged_at__isnull=True).update(feed_flagged_at=now):
        connection.feed_flagged_at = now
        logger.warning(
            "The provider's change feed is missing updates: connection %s (%s) has %s changes "
            "only the sweep found.",
            connection.pk,
            connection.spec.name,
            connection.feed_misses,
        )


def ensure_remote_product(*, product: Product, connection: Connection) -> ProductLink:
    """The link of `product` on `connection`, finding the remote product by SKU or creating it.

    Two workers posting sales with the same unlinked product at once must create ONE remote
    product. The provider's idempotency key alone does not promise that for two requests in flight
    at the same moment, so creation is serialised per (connection, product) with a short lease row
    (a conditional UPDATE, like every lease): the winner looks up by code, creates if truly absent
    and stores the link; the others wait for the lease, re-check, and find the winner's link. The
    stable idempotency key still covers the winner's own retry after a lost response, and the
    link's unique constraints stop a duplicate link whatever happens.
    """
    link = live_link(ProductLink, connection=connection, target=product)
    if link:
        return link
    busy = f"Product {product.sku} is still being created on {connection.spec.name}."
    claim_name = f"product:{product.pk}"
    with claim(connection, claim_name, ttl=CREATE_CLAIM_TTL, wait=CREATE_CLAIM_WAIT, busy=busy):
        link = live_link(ProductLink, connection=connection, target=product)
        if link:
            return link
        connector = connector_for(connection, run=None, priority=Priority.INVOICE)
        matches = [
            r
            for r in connector.find_products_by_code([product.sku])
            if r.code == product.sku and not r.deleted
        ]
        if matches:
            return _save_link(connection, product, matches[0], LinkMethod.MATCHED_CODE)
        draft = NewProduct(
            code=product.sku,
            name=product.name,
            sale_price=product.sale_price,
            tax_code=connection.remote_tax_code(product.tax_code),
            account_code=connection.sales_account_code,
        )
        remote = connector.create_product(draft, idempotency_key=f"product-{connection.pk}-{product.pk}")
        return _save_link(connection, product, remote, LinkMethod.CREATED)


def _save_link(connection: Connection, product: Product, remote: RemoteProduct, method: str) -> ProductLink:
    link = save_link(
        ProductLink,
        connection=connection,
        target=product,
        remote_id=remote.remote_id,
        remote_code=remote.code,
        remote_version=remote.version,
        remote_updated_at=remote.updated_at,
        method=method,
    )
    if link is None:
        # Another local product already holds this remote id: a person must decide which is right.
        raise ValidationFailed(
            f"{connection.spec.name} product {remote.code} is already linked to another product here."
        )
    return link
