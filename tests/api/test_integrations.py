"""GET /integrations and the logos it points at."""

from connectors.registry import all_providers


def test_integrations_list_every_provider_with_its_branding(api):
    results = api.get("/api/v1/integrations").json()["results"]

    xero = next(item for item in results if item["key"] == "xero")
    assert [item["key"] for item in results] == list(all_providers())
    assert "post_invoices" in xero["capabilities"]
    assert xero["branding"]["colour"] == all_providers()["xero"].brand_colour
    assert xero["branding"]["logo_url"] == "http://testserver/api/v1/integrations/xero/logo.svg"


def test_integrations_are_paged_with_a_cursor_like_every_list(api):
    first = api.get("/api/v1/integrations", {"limit": 3}).json()
    rest = api.get("/api/v1/integrations", {"limit": 3, "cursor": first["next_cursor"]}).json()

    keys = [item["key"] for item in first["results"] + rest["results"]]
    assert (keys, rest["next_cursor"]) == (list(all_providers()), None)


def test_a_logo_is_served_as_svg_without_a_key(anonymous):
    response = anonymous.get("/api/v1/integrations/xero/logo.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content


def test_an_unknown_integrations_logo_is_not_found(anonymous):
    assert anonymous.get("/api/v1/integrations/nope/logo.svg").json()["status"] == 404


def test_integrations_need_a_key(anonymous, db):
    assert anonymous.get("/api/v1/integrations").status_code == 401
