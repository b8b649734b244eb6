"""Local customers, with each one's link to every connection."""

from __future__ import annotations

from django.db.models import Prefetch, Q
from ninja import Query, Router

from syncing.api.errors import ERRORS
from syncing.api.pagination import PageParams, paginate
from syncing.api.schemas import CustomerPage, SearchFilters
from syncing.api.scoping import link_states, linkable_connections
from syncing.models import Customer, CustomerLink

router = Router(tags=["customers"])


@router.get("", response={200: CustomerPage, **ERRORS})
def list_customers(request, filters: Query[SearchFilters], page: Query[PageParams]):
    """Customers whose name, email or account number contains `search`."""
    tenant = request.auth.tenant
    connections = linkable_connections(request)
    customers = Customer.objects.filter(tenant=tenant).prefetch_related(
        Prefetch("links", queryset=CustomerLink.objects.filter(connection__tenant=tenant))
    )
    if filters.search:
        term = filters.search
        customers = customers.filter(
            Q(name__icontains=term) | Q(email__icontains=term) | Q(account_number__icontains=term)
        )

    def shape(rows):
        fields = ("name", "email", "account_number", "phone")
        return [
            {"id": c.pk, **{f: getattr(c, f) for f in fields}, "links": link_states(c, connections)}
            for c in rows
        ]

    return paginate(customers, page, shape=shape)
