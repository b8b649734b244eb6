"""The dashboard in a real chromium: sign in, see the overview, use "Sync now" on the products page."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from syncing.models import SyncRun
from tests import factories

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture
def browser_page(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls made later in the
    # test (none touch the browser's loop) are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


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
    SCREENSHOTS.mkdir(exist_ok=True)

    page.goto(f"{live_server.url}/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Overview')")
    assert page.is_visible("text=Alice Trading Ltd")
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
