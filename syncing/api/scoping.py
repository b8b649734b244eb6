"""Everything the API reads is the caller's tenant's: another tenant's ids are simply not found.
The platform's keys reach every company, but only through paths naming it."""

from __future__ import annotations

from django.db.models import Model, QuerySet
from django.http import HttpRequest

from syncing.api.errors import ApiError
from syncing.models import Connection, Tenant


def one(queryset: QuerySet, pk: int) -> Model:
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise ApiError(404, f"No {queryset.model._meta.verbose_name} {pk}.")
    return found


def companies_of(request: HttpRequest) -> QuerySet[Tenant]:
    """The companies the key reaches: the platform's keys every one, a tenant key its own."""
    if request.auth.is_platform:
        return Tenant.objects.all()
    return Tenant.objects.filter(pk=request.auth.tenant_id)


def company_of(request: HttpRequest, company_id: int) -> Tenant:
    """A company the key reaches; any other id is not found, whether or not it exists."""
    if request.auth.is_platform:
        company = Tenant.objects.filter(pk=company_id).first()
    else:
        company = request.auth.tenant if company_id == request.auth.tenant_id else None
    if company is None:
        raise ApiError(404, f"No company {company_id}.")
    return company


def connections_of(request: HttpRequest, tenant: Tenant | None = None) -> QuerySet[Connection]:
    """`tenant`'s connections, by default the key's own company's."""
    return Connection.objects.filter(tenant=tenant or request.auth.tenant).select_related("tenant")


def connection_of(request: HttpRequest, pk: int) -> Connection:
    return one(connections_of(request), pk)


def link_states(item, connections: list[Connection]) -> list[dict]:
    """Per connection, whether `item` (with prefetched `links`) is linked there, gone there, or
    not linked yet."""
    links = {link.connection_id: link for link in item.links.all()}
    states = []
    for connection in connections:
        link = links.get(connection.pk)
        if link is None:
            states.append({"connection": connection.pk, "state": "not_linked"})
            continue
        states.append(
            {
                "connection": connection.pk,
                "state": "remote_deleted" if link.remote_deleted else "linked",
                "remote_id": link.remote_id,
                "last_confirmed_at": link.last_confirmed_at,
            }
        )
    return states


def linkable_connections(request: HttpRequest) -> list[Connection]:
    """The connections link states are reported for: every one not disconnected."""
    return list(connections_of(request).exclude(status=Connection.Status.DISABLED).order_by("pk"))
