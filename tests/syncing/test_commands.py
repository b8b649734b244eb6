"""Management commands: parse, call one service, print one line; refuse bad input with a sentence."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from syncing.models import Product


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("provider", ["xero"])
def test_sync_products_by_tenant_prints_a_one_line_summary(connection, tenant):
    output = run("sync_products", "--tenant", tenant.slug)
    assert "products succeeded, 3 fetched, 3 created" in output
    assert Product.objects.count() == 3


@pytest.mark.parametrize("provider", ["vend"])
def test_sync_product_by_sku_refreshes_it(connection, emulator, tenant):
    sku = emulator.products()[0]["code"]
    output = run("sync_product", sku, "--tenant", tenant.slug)
    assert "one product succeeded" in output
    assert Product.objects.filter(sku=sku).exists()


def test_unknown_tenant_is_refused_with_a_sentence(db):
    with pytest.raises(CommandError, match="Tenant 'nobody' has no active connection"):
        run("sync_stock", "--tenant", "nobody")


def test_ensure_schedules_command_names_what_it_wrote(db):
    expected = (
        "5 schedules in place: dispatch-due-syncs, dispatch-due-outbox, mark-stalled-runs, "
        "queue-due-webhook-deliveries, send-outbox-digests."
    )
    assert expected in run("ensure_schedules")
