from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from invoices.models import OutboxEntry, Sale
from invoices.tasks import post_outbox_task


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_record_sale_command_records_and_queues_a_sale(tenant, xero_connection, product):
    output = run("record_sale", "--tenant", tenant.slug, "--number", "S-9", "--line", "MUG-1:2:12.50")

    sale = Sale.objects.get(number="S-9")
    assert str(sale.total) == "25.00"
    assert sale.outbox_entries.get().connection == xero_connection
    assert "queued for 1 connection" in output


def test_record_sale_command_refuses_an_unknown_sku(tenant, product):
    with pytest.raises(CommandError, match="no product with SKU 'NOPE'"):
        run("record_sale", "--tenant", tenant.slug, "--number", "S-9", "--line", "NOPE:1:1")

    assert not Sale.objects.exists()


def test_post_outbox_command_posts_the_due_entries(xero, xero_connection, sell, mug_on_xero):
    sell("S-1", mug_on_xero)

    output = run("post_outbox", "--connection", str(xero_connection.pk))

    assert "1 posted" in output
    assert [i["reference"] for i in xero.invoices()] == ["S-1"]


def test_post_outbox_task_returns_a_summary(xero, xero_connection, sell, mug_on_xero):
    sell("S-1", mug_on_xero)

    summary = post_outbox_task(xero_connection.pk)

    assert (summary["claimed"], summary["posted"]) == (1, 1)
    assert OutboxEntry.objects.get().state == OutboxEntry.State.POSTED
