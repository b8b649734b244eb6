"""The sync flow in a real chromium against a live server and the Unleashed and Xero emulators: a
merchant with no account opens the platform's link, types Unleashed's keys, allows Xero, maps the
accounts and lands back on the platform. Screenshots go to test-output/dashboard/."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from syncing.models import Connection
from syncing.services import sync_flow
from tests.dashboard.browser import BROWSER_TEST, SCREENSHOTS

pytestmark = BROWSER_TEST


@pytest.mark.django_db(transaction=True)
def test_merchant_connects_unleashed_and_xero_through_a_link_and_returns_to_the_platform(
    live_server,
    start_emulator,
    tenant,
    browser_page,
    settings,
):
    unleashed = start_emulator("unleashed")
    xero = start_emulator("xero", organisation_name="Alice Trading Ltd")
    settings.UNLEASHED_BASE_URL, settings.XERO_BASE_URL = unleashed.public_url, xero.public_url
    platform = f"{live_server.url}/platform-return/?ref=7"
    _, passcode = sync_flow.create_link(
        tenant=tenant, commerce="unleashed", accounting="xero", redirect_url=platform
    )
    page = browser_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"sync-flow-{name}.png"), full_page=True)

    page.goto(f"{live_server.url}/sync-flow/{passcode}/")
    shot("01-start")
    page.click("button:has-text('Start')")
    page.wait_for_selector("h1:has-text('Connect Alice')")
    shot("02-progress")

    page.click("a:has-text('Connect Unleashed')")
    page.fill("input[name=api_id]", unleashed.api_id)
    page.fill("input[name=api_key]", unleashed.api_key)
    shot("03-unleashed-keys")
    page.click("button:has-text('Check and connect')")
    page.wait_for_selector("button:has-text('Connect Xero')")

    page.click("button:has-text('Connect Xero')")
    page.wait_for_selector("text=Xero (emulator)")
    page.click("button:has-text('Allow access')")
    page.wait_for_selector("select[name=sales_account_code]")
    page.select_option("select[name=sales_account_code]", "200")
    page.select_option("select[name=payment_account_code]", "090")
    shot("04-mapping")
    page.click("button:has-text('Save settings')")
    page.wait_for_url(f"{live_server.url}/platform-return/**")

    back = urlsplit(page.url)
    assert parse_qs(back.query) == {"ref": ["7"], "outcome": ["connected"], "company": [str(tenant.pk)]}
    connections = {c.provider: c for c in Connection.objects.filter(tenant=tenant, status="active")}
    assert set(connections) == {"unleashed", "xero"}
    assert (connections["xero"].sales_account_code, connections["xero"].payment_account_code) == (
        "200",
        "090",
    )

    page.goto(f"{live_server.url}/sync-flow/{passcode}/")
    assert page.is_visible("text=This link was already used")
    shot("05-link-used")
