"""The local catalogue, with each product's link to every connection, and one-product syncs."""

from __future__ import annotations

from ninja import Query, Router

from syncing import selectors
from syncing.api.errors import ERRORS, ApiError
from syncing.api.pagination import PageParams, paginate
from syncing.api.schemas import ProductPage, RowId, SearchFilters, SyncRunOut
from syncing.api.scoping import connection_of, link_states, linkable_connections, one
from syncing.models import Connection, Product
from syncing.services.products import sync_product

router = Router(tags=["products"])


def product_out(product: Product, connections: list[Connection]) -> dict:
    return {
        **{name: getattr(product, name) for name in ("sku", "name", "description", "tax_code", "active")},
        "id": product.pk,
        "sale_price": product.sale_price,
        "purchase_price": product.purchase_price,
        "synced_at": product.synced_at,
        "links": link_states(product, connections),
    }


@router.get("", response={200: ProductPage, **ERRORS})
def list_products(request, filters: Query[SearchFilters], page: Query[PageParams]):
    """Products whose SKU or name contains `search`."""
    connections = linkable_connections(request)
    products = selectors.products_for_dashboard(request.auth.tenant, search=filters.search)
    return paginate(products, page, shape=lambda rows: [product_out(p, connections) for p in rows])


@router.post("/{int:product_id}/sync", response={200: SyncRunOut, **ERRORS})
def sync_one_product(request, product_id: int, connection: RowId | None = None):
    """Refresh the product from the provider now (about two calls) and answer with the run; without
    `connection`, every active connection that provides products is asked."""
    product = one(Product.objects.filter(tenant=request.auth.tenant), product_id)
    target = connection_of(request, connection) if connection is not None else None
    if target is not None and not target.is_active:
        raise ApiError(409, f"The connection is {target.get_status_display().lower()}.")
    try:
        return sync_product(product=product, connection=target, trigger="api")
    except Connection.DoesNotExist:
        raise ApiError(409, "No active connection provides products.") from None
