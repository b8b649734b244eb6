"""The demo: a merchant with a small catalogue, connected to emulated Xero and Lightspeed through
the same OAuth consent flow a real merchant goes through, then the site and a django-q2 cluster.

The emulators run in this process (threads on fixed loopback ports) and keep their data in
memory, so every run starts them afresh and reconnects the demo merchant; everything in the
database is created once and found again on the next run.
"""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from connectors.emulation import LoopbackServer
from connectors.registry import get_provider
from invoices.models import Sale, SaleLine
from syncing.models import Connection, Customer, Location, Membership, Product, Tenant
from syncing.schedules import ensure_schedules
from syncing.services import connections

STAFF_LOGIN = ("staff", "staff-demo-pass")
MERCHANT_LOGIN = ("merchant", "merchant-demo-pass")
TENANT_SLUG = "demo-shop"
TENANT_NAME = "Demo Shop"
EMULATOR_PORTS = {"xero": 8101, "vend": 8102}
SEED_PRODUCTS = 30
SEED_CUSTOMERS = 12
# Local products and customers that also exist at the providers (same codes and emails as the
# emulators' seeds), so links are found by code and email; a few more exist only here.
SHARED_PRODUCTS = 24
SHARED_CUSTOMERS = 8
LOCAL_ONLY_PRODUCTS = [("GIFT-CARD-25", "Gift card £25", "25.00"), ("TOTE-BAG", "Canvas tote bag", "8.50")]
LOCAL_ONLY_CUSTOMERS = [
    ("Harbour Café", "orders@harbourcafe.example.com"),
    ("Ada Lovelace", "ada@example.com"),
]
SALES = 12
HTTP_TIMEOUT = (5, 30)


class DemoError(Exception):
    """The demo cannot start; the message says why in a sentence."""


@dataclass
class Demo:
    tenant: Tenant
    connections: list[Connection]
    emulators: list[LoopbackServer] = field(default_factory=list)

    def stop(self) -> None:
        for server in self.emulators:
            server.stop()


def start_emulator(
    provider_key: str, *, port: int = 0, seed_products: int = 0, seed_customers: int = 0
) -> LoopbackServer:
    """A seeded emulator of the provider bound to `port` on 127.0.0.1 (0: any free port); call
    `.start()` to serve it from a thread or `.serve_forever()` to serve it in the foreground."""
    app = import_string(get_provider(provider_key).emulator)()
    app.seed(products=seed_products, customers=seed_customers)
    try:
        return LoopbackServer(app, port=port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise DemoError(
                f"Port {port} for the {provider_key} emulator is in use: is another demo running? "
                f"(--{provider_key}-port picks another.)"
            ) from exc
        raise


def set_up(*, site_url: str, emulator_ports: dict[str, int] = EMULATOR_PORTS) -> Demo:
    """Migrate, create the logins and the demo merchant's data, start the emulators and connect
    the merchant to each through its consent page. Stop the returned demo's emulators when done."""
    call_command("migrate", interactive=False, verbosity=0)
    tenant = _create_people_and_tenant()
    _seed_catalogue(tenant)
    demo = Demo(tenant=tenant, connections=[])
    try:
        for provider_key, port in emulator_ports.items():
            server = start_emulator(
                provider_key, port=port, seed_products=SEED_PRODUCTS, seed_customers=SEED_CUSTOMERS
            ).start()
            demo.emulators.append(server)
            demo.connections.append(connect_through_consent(tenant, provider_key, server.url, site_url))
    except BaseException:
        demo.stop()
        raise
    return demo


def serve(demo: Demo, *, port: int) -> None:
    """Run the site in the foreground with a django-q2 cluster beside it, until interrupted."""
    ensure_schedules()
    # A separate process: it stops with the same Ctrl-C, and its workers reach the emulators,
    # which keep running in this process, over loopback HTTP like any provider.
    cluster = subprocess.Popen([sys.executable, str(settings.BASE_DIR / "manage.py"), "qcluster"])
    # A plain `kill` should stop the cluster too, not leave it running without its emulators.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
    finally:
        cluster.terminate()
        cluster.wait(timeout=30)
        demo.stop()


def connect_through_consent(
    tenant: Tenant, provider_key: str, emulator_url: str, site_url: str
) -> Connection:
    """Connect the tenant to the emulated provider as a merchant would."""
    name = get_provider(provider_key).name
    connection, _ = Connection.objects.get_or_create(
        tenant=tenant, provider=provider_key, defaults={"base_url": emulator_url}
    )
    # The emulators start with fresh data each run: read everything again on the first poll.
    Connection.objects.filter(pk=connection.pk).update(base_url=emulator_url, cursors={}, next_poll_at=None)
    connection.base_url = emulator_url
    connection = authorise_through_consent(
        connection, redirect_uri=f"{site_url}/connections/{provider_key}/callback/"
    )
    if connection.status != Connection.Status.ACTIVE:
        raise DemoError(f"The {name} connection is {connection.get_status_display().lower()}, not active.")
    return connection


def authorise_through_consent(connection: Connection, *, redirect_uri: str) -> Connection:
    """Connect or reconnect as a merchant does: open the emulator's consent page, press Allow,
    and hand the callback's code and state to `connect_complete`."""
    name = get_provider(connection.provider).name
    location = answer_consent(connections.connect_start(connection, redirect_uri=redirect_uri), "allow")
    if not location.startswith(redirect_uri):
        raise DemoError(f"{name}'s consent page did not send us back to {redirect_uri}.")
    callback = dict(parse_qsl(urlsplit(location).query))
    if "error" in callback:
        raise DemoError(f"{name} refused the demo's sign-in: {callback['error']}.")
    code, state = callback.pop("code", ""), callback.pop("state", "")
    return connections.connect_complete(state=state, code=code, redirect_uri=redirect_uri, extra=callback)


def answer_consent(authorise_url: str, decision: str) -> str:
    """Open a provider's consent page and press one of its buttons ("allow" or "deny"), as a
    browser would; the address the provider sends the merchant back to ("" when it sends them
    nowhere)."""
    with requests.Session() as browser:
        page = browser.get(authorise_url, timeout=HTTP_TIMEOUT)
        if page.status_code != 200:
            raise DemoError(f"The consent page answered {page.status_code} at {authorise_url}.")
        answer = browser.post(
            page.url,
            data={**ConsentForm.read(page.text), "decision": decision},
            allow_redirects=False,
            timeout=HTTP_TIMEOUT,
        )
    return answer.headers.get("Location", "") if answer.status_code in (302, 303) else ""


class ConsentForm(HTMLParser):
    """The hidden fields of the consent page's form, which a browser would post back."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden" and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value") or ""

    @classmethod
    def read(cls, html: str) -> dict[str, str]:
        parser = cls()
        parser.feed(html)
        return parser.fields


def _create_people_and_tenant() -> Tenant:
    User = get_user_model()
    staff, _ = User.objects.get_or_create(username=STAFF_LOGIN[0])
    staff.is_staff = staff.is_superuser = True
    staff.set_password(STAFF_LOGIN[1])
    staff.save()
    merchant, _ = User.objects.get_or_create(
        username=MERCHANT_LOGIN[0], defaults={"email": "merchant@example.com"}
    )
    merchant.set_password(MERCHANT_LOGIN[1])
    merchant.save()
    tenant, _ = Tenant.objects.get_or_create(slug=TENANT_SLUG, defaults={"name": TENANT_NAME})
    Membership.objects.get_or_create(user=merchant, tenant=tenant, defaults={"role": Membership.Role.OWNER})
    return tenant


@transaction.atomic
def _seed_catalogue(tenant: Tenant) -> None:
    Location.objects.get_or_create(tenant=tenant, name="Main Street", defaults={"code": "MAIN"})
    catalogue = [
        (f"SKU-{n:05d}", f"Product {n:05d}", Decimal(5 + n % 20) + Decimal("0.99"))
        for n in range(1, SHARED_PRODUCTS + 1)
    ] + [(sku, name, Decimal(price)) for sku, name, price in LOCAL_ONLY_PRODUCTS]
    products = [
        Product.objects.get_or_create(tenant=tenant, sku=sku, defaults={"name": name, "sale_price": price})[0]
        for sku, name, price in catalogue
    ]
    people = [
        (f"Customer {n:05d}", f"customer{n:05d}@example.com") for n in range(1, SHARED_CUSTOMERS + 1)
    ] + LOCAL_ONLY_CUSTOMERS
    customers = [
        Customer.objects.get_or_create(tenant=tenant, email=email, defaults={"name": name})[0]
        for name, email in people
    ]
    now = timezone.now()
    for n in range(1, SALES + 1):
        # Every third sale is a walk-in cash sale with no customer.
        customer = None if n % 3 == 0 else customers[n % len(customers)]
        sale, created = Sale.objects.get_or_create(
            tenant=tenant,
            number=f"DEMO-{n:04d}",
            defaults={
                "customer": customer,
                "sold_at": now - timedelta(hours=6 * (SALES - n)),
                "payment_method": "card" if n % 2 else "cash",
                "paid": True,
            },
        )
        if created:
            _add_lines(sale, [products[(n * 7 + i) % len(products)] for i in range(1 + n % 3)])


def _add_lines(sale: Sale, products: list[Product]) -> None:
    lines = [
        SaleLine(
            sale=sale,
            product=product,
            description=product.name,
            quantity=Decimal(1 + i),
            unit_price=product.sale_price,
        )
        for i, product in enumerate(products)
    ]
    SaleLine.objects.bulk_create(lines)
    subtotal = sum((line.net_amount for line in lines), Decimal("0"))
    tax = (subtotal * Decimal("0.2")).quantize(Decimal("0.01"))
    Sale.objects.filter(pk=sale.pk).update(subtotal=subtotal, tax_total=tax, total=subtotal + tax)
