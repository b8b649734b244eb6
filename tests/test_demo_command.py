"""`manage.py demo --no-serve` on an empty database: logins, a merchant, and connections made
through the emulators' real consent pages (no shortcuts through the emulators' internals)."""

from __future__ import annotations

import io
import socket

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from invoices.models import Sale
from syncing.models import ApiCall, Connection, Customer, Membership, Product, Tenant

# The demo migrates, so it runs outside the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    # The default ports (8101, 8102) may be taken by something else on a shared machine.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def ports():
    return {"xero": free_port(), "vend": free_port()}


def run_demo(ports) -> str:
    out = io.StringIO()
    call_command(
        "demo", "--no-serve", f"--xero-port={ports['xero']}", f"--vend-port={ports['vend']}", stdout=out
    )
    return out.getvalue()


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # As the emulators bind: connections the demo closed may linger in TIME_WAIT.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_demo_sets_up_a_merchant_connected_through_the_consent_pages(ports):
    output = run_demo(ports)

    User = get_user_model()
    staff = User.objects.get(username="staff")
    assert staff.is_superuser and staff.check_password("staff-demo-pass")
    merchant = User.objects.get(username="merchant")
    assert merchant.check_password("merchant-demo-pass")
    membership = Membership.objects.get(user=merchant)
    assert (membership.tenant.name, membership.role) == ("Demo Shop", Membership.Role.OWNER)

    connections = {c.provider: c for c in Connection.objects.filter(tenant=membership.tenant)}
    assert {key: (c.status, c.base_url) for key, c in connections.items()} == {
        "xero": (Connection.Status.ACTIVE, f"http://127.0.0.1:{ports['xero']}"),
        "vend": (Connection.Status.ACTIVE, f"http://127.0.0.1:{ports['vend']}"),
    }
    assert all(c.credentials.get("access_token") for c in connections.values())
    # The tokens came from each emulator's token endpoint, i.e. by exchanging a consent code.
    token_calls = ApiCall.objects.filter(purpose="oauth", method="POST", status=200)
    assert {call.connection.provider for call in token_calls} == {"xero", "vend"}

    assert Product.objects.filter(tenant=membership.tenant).count() >= 24
    assert Customer.objects.filter(tenant=membership.tenant).count() >= 8
    assert Sale.objects.filter(tenant=membership.tenant, lines__isnull=False).distinct().count() >= 10
    assert "staff / staff-demo-pass" in output and "merchant / merchant-demo-pass" in output
    assert port_is_free(ports["xero"]) and port_is_free(ports["vend"])


def test_running_the_demo_again_duplicates_nothing(ports):
    run_demo(ports)
    counts = [model.objects.count() for model in (Tenant, Connection, Product, Customer, Sale, Membership)]
    run_demo(ports)
    assert [
        model.objects.count() for model in (Tenant, Connection, Product, Customer, Sale, Membership)
    ] == counts
    assert set(Connection.objects.values_list("status", flat=True)) == {Connection.Status.ACTIVE}


def test_a_taken_emulator_port_stops_the_demo_with_a_sentence(ports):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["vend"]))
        squatter.listen()
        with pytest.raises(CommandError, match=f"Port {ports['vend']} for the vend emulator is in use"):
            run_demo(ports)
    assert port_is_free(ports["xero"])
