"""The dashboard in a real chromium against a live server and the Xero emulator: the merchant's
whole journey from signing in to fixing a refused sale. Screenshots of every page go to
test-output/dashboard/ (ignored by git)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_q.conf import Conf

from invoices.models import OutboxEntry
from invoices.services.outbox import NewSaleLine, record_sale
from invoices.services.posting import post_due_outbox_entries
from syncing.models import Connection, Product, SyncRun
from tests import factories
from tests.dashboard.browser import BROWSER_TEST, SCREENSHOTS

pytestmark = BROWSER_TEST


@pytest.mark.django_db(transaction=True)
def test_merchant_signs_in_sees_the_overview_and_syncs_a_product(
    live_server, start_emulator, connect, tenant, browser_page
):
    xero = start_emulator("xero", organisation_name="Alice Trading Ltd")
    xero.add_product(code="MUG-RED", name="Red mug, large", price=Decimal("9.50"))
    connection = connect(xero, "xero")
    factories.SyncRunFactory(connection=connection, status=SyncRun.Status.SUCCEEDED)
    factories.ApiUsageFactory.create_batch(5, connection=connection)
    factories.ProductFactory(tenant=tenant, sku="MUG-RED", name="Red mug")
    page = browser_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Overview')")
    assert page.is_visible("text=Alice Trading Ltd")
    assert page.is_visible("text=Changes in Xero show here within")
    assert page.locator("svg.chart rect").count() == 30
    page.screenshot(path=str(SCREENSHOTS / "dashboard-overview.png"), full_page=True)

    page.click("nav >> text=Products")
    page.wait_for_selector("text=MUG-RED")
    url_before = page.url
    page.click("form[data-sync-now] button")
    result = page.wait_for_selector("form[data-sync-now] output .sync-result")
    assert result.text_content().startswith("Succeeded.")
    assert page.url == url_before
    page.screenshot(path=str(SCREENSHOTS / "dashboard-products.png"), full_page=True)


def sign_in(page, url: str) -> None:
    page.goto(f"{url}/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Overview')")


@pytest.mark.django_db(transaction=True)
def test_merchant_connects_xero_maps_accounts_syncs_and_fixes_a_refused_sale(
    live_server, start_emulator, tenant, browser_page, settings, monkeypatch
):
    xero = start_emulator("xero", organisation_name="Alice Trading Ltd")
    settings.XERO_BASE_URL = xero.public_url
    for code, name in (("MUG-RED", "Red mug, large"), ("TEE-BLUE", "Blue tee"), ("CAP-01", "Cap")):
        xero.add_product(code=code, name=name, price=Decimal("9.50"))
    # The workers' queue runs each task at once in the server's thread (no cluster in this test).
    monkeypatch.setattr(Conf, "SYNC", True)
    page = browser_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"journey-{name}.png"), full_page=True)

    sign_in(page, live_server.url)
    shot("01-overview-empty")

    # Connect Xero through the emulator's consent page.
    page.click("nav >> text=Connections")
    page.wait_for_selector("h1:has-text('Connections')")
    shot("02-connections")
    page.click("button:has-text('Connect Xero')")
    page.wait_for_selector("text=Xero (emulator)")
    shot("03-xero-consent")
    page.click("button:has-text('Allow access')")

    # Map accounts: the lists are Xero's own accounts.
    page.wait_for_selector("select[name=sales_account_code]")
    sales = page.locator("select[name=sales_account_code] option").all_text_contents()
    assert "200 · Sales" in sales
    assert not any(option.startswith("400") for option in sales)
    page.select_option("select[name=sales_account_code]", "200")
    page.select_option("select[name=payment_account_code]", "090")
    shot("04-mapping")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector("h1:has-text('Overview')")
    connection = Connection.objects.get(tenant=tenant, provider="xero")
    assert (connection.status, connection.sales_account_code) == (Connection.Status.ACTIVE, "200")

    # Start a sync and see the products arrive.
    page.click("form[data-start-sync] button")
    page.wait_for_selector("text=Syncing products")
    shot("05-sync-started")
    page.click("nav >> text=Products")
    page.wait_for_selector("text=TEE-BLUE")
    assert page.locator("tbody tr").count() == 3
    shot("06-products")

    # Sync one product without leaving the page.
    url_before = page.url
    page.locator("tr:has-text('MUG-RED') form[data-sync-now] button").click()
    result = page.wait_for_selector("tr:has-text('MUG-RED') output .sync-result")
    assert result.text_content().startswith("Succeeded.")
    assert page.url == url_before
    shot("07-product-synced")

    # A sale posted to an account Xero no longer has is refused with Xero's words.
    Connection.objects.filter(pk=connection.pk).update(sales_account_code="999")
    mug = Product.objects.get(tenant=tenant, sku="MUG-RED")
    record_sale(
        tenant=tenant,
        number="S-1001",
        lines=[NewSaleLine(product=mug, quantity=Decimal(2), unit_price=Decimal("9.50"))],
    )
    connection.refresh_from_db()
    post_due_outbox_entries(connection=connection)
    page.click("nav >> text=Outbox")
    page.wait_for_selector("text=S-1001")
    assert page.is_visible("text=Account code '999' is not a valid code for this document.")
    shot("08-outbox-refused")
    page.click("a:has-text('S-1001')")
    page.wait_for_selector("h1:has-text('Sale S-1001')")
    shot("09-refused-sale")

    # Fix the mapping: the old code is marked as one Xero does not offer.
    page.click("text=fix the Xero settings")
    page.wait_for_selector("select[name=sales_account_code]")
    assert "999 (not offered by Xero)" in page.locator("select[name=sales_account_code]").inner_text()
    page.select_option("select[name=sales_account_code]", "200")
    shot("10-mapping-fixed")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector("h1:has-text('Overview')")

    # Retry the sale; the next posting run sends it.
    entry = OutboxEntry.objects.get(sale__number="S-1001")
    page.goto(f"{live_server.url}/outbox/{entry.pk}/")
    page.click("button:has-text('Retry')")
    page.wait_for_selector("text=will be posted again")
    connection.refresh_from_db()
    post_due_outbox_entries(connection=connection)
    page.reload()
    assert page.locator(".facts .status").inner_text() == "Posted"
    shot("11-sale-sent")
    assert [invoice["reference"] for invoice in xero.invoices()] == ["S-1001"]
