"""factory_boy factories: every test builds its data through these."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from connectors.base import Window
from connectors.budget import window_start
from invoices.models import OutboxAttempt, OutboxEntry, Sale, SaleLine
from syncing.models import (
    ApiCall,
    ApiUsage,
    BudgetWindow,
    Connection,
    Customer,
    CustomerLink,
    LinkMethod,
    Location,
    Membership,
    Product,
    ProductLink,
    StockLevel,
    SyncLease,
    SyncRun,
    Tenant,
    WebhookDelivery,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Membership.Role.OWNER


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    tenant = factory.SubFactory(TenantFactory)
    provider = "xero"
    status = Connection.Status.ACTIVE
    remote_org_id = factory.Sequence(lambda n: f"org-{n}")
    remote_org_name = factory.Sequence(lambda n: f"Organisation {n}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Store {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    tenant = factory.SubFactory(TenantFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    sale_price = Decimal("10.00")


class StockLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLevel

    product = factory.SubFactory(ProductFactory)
    location = factory.SubFactory(LocationFactory, tenant=factory.SelfAttribute("..product.tenant"))
    quantity = Decimal("5")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class ProductLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductLink

    connection = factory.SubFactory(ConnectionFactory)
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..connection.tenant"))
    remote_id = factory.Sequence(lambda n: f"remote-product-{n}")
    remote_code = factory.SelfAttribute("product.sku")
    method = LinkMethod.MATCHED_CODE


class CustomerLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerLink

    connection = factory.SubFactory(ConnectionFactory)
    customer = factory.SubFactory(CustomerFactory, tenant=factory.SelfAttribute("..connection.tenant"))
    remote_id = factory.Sequence(lambda n: f"remote-customer-{n}")
    method = LinkMethod.MATCHED_EMAIL


class SyncRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncRun

    connection = factory.SubFactory(ConnectionFactory)
    kind = SyncRun.Kind.PRODUCTS
    trigger = SyncRun.Trigger.SCHEDULE


def xero_on_plan(tenant, *, limit=None, used=0, month_starts_at=None):
    """A Xero connection polling every 30 minutes (3 resources) whose merchant's own allowance never
    binds; with `limit`, on a plan of that many calls a month, `used` of them spent in the month
    starting at `month_starts_at` (this month unless given), else on a plan that pays for anything."""
    tenant.monthly_call_allowance = 10**9
    tenant.save()
    connection = ConnectionFactory(
        tenant=tenant, provider="xero", poll_interval=timedelta(minutes=30), monthly_call_limit=limit
    )
    if limit:
        BudgetWindowFactory(
            connection=connection,
            kind=Window.MONTH,
            starts_at=month_starts_at or window_start(Window.MONTH, timezone.now()),
            limit=limit,
            used=used,
        )
    return connection


def succeeded_run(
    connection, *, started_at, took=timedelta(minutes=1), kind=SyncRun.Kind.PRODUCTS, api_calls=1
) -> SyncRun:
    """A scheduled run of `kind` that started at `started_at`, lasted `took` and spent `api_calls`."""
    return SyncRunFactory(
        connection=connection,
        kind=kind,
        status=SyncRun.Status.SUCCEEDED,
        started_at=started_at,
        finished_at=started_at + took,
        api_calls=api_calls,
    )


class SaleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sale

    tenant = factory.SubFactory(TenantFactory)
    number = factory.Sequence(lambda n: f"S-{n:06d}")
    total = Decimal("12.00")


class SaleLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SaleLine

    sale = factory.SubFactory(SaleFactory)
    product = factory.SubFactory(ProductFactory, tenant=factory.SelfAttribute("..sale.tenant"))
    quantity = Decimal("1")
    unit_price = Decimal("10.00")


class OutboxEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboxEntry

    sale = factory.SubFactory(SaleFactory)
    connection = factory.SubFactory(ConnectionFactory, tenant=factory.SelfAttribute("..sale.tenant"))


class OutboxAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboxAttempt

    entry = factory.SubFactory(OutboxEntryFactory)
    outcome = OutboxAttempt.Outcome.TRANSIENT
    message = "Xero answered 503."


class ApiCallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiCall

    connection = factory.SubFactory(ConnectionFactory)
    method = "GET"
    path = "/api.xro/2.0/Items"
    status = 200
    duration_ms = 120


class ApiUsageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiUsage

    connection = factory.SubFactory(ConnectionFactory)
    hour = factory.Sequence(
        lambda n: timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=n)
    )
    calls = 10


class BudgetWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BudgetWindow

    connection = factory.SubFactory(ConnectionFactory)
    kind = "minute"
    starts_at = factory.Sequence(
        lambda n: timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=n)
    )
    limit = 60
    used = 3


class SyncLeaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncLease

    connection = factory.SubFactory(ConnectionFactory)
    kind = SyncRun.Kind.PRODUCTS


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    connection = factory.SubFactory(ConnectionFactory)
    fingerprint = factory.Sequence(lambda n: f"{n:064x}")
    events = factory.LazyFunction(
        lambda: [{"resource": "product", "remote_id": "item-1", "action": "update"}]
    )
