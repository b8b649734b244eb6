"""The connector's requests and the emulator's answers conform to Xero's own OpenAPI spec
(shared/providers/xero_accounting.yaml, XeroAPI/Xero-OpenAPI), checked with openapi-core."""

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from connectors.records import InvoiceDraft, InvoiceLineDraft, NewCustomer, NewProduct

openapi_core = pytest.importorskip("openapi_core")
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse  # noqa: E402
from openapi_core.exceptions import OpenAPIError  # noqa: E402

SPEC = Path(__file__).resolve().parents[4] / "shared" / "providers" / "xero_accounting.yaml"
PRODUCTION = "https://api.xero.com/api.xro/2.0"
# openapi-core cannot check OAuth2 itself; the emulator's own tests cover the bearer token.
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type")


@pytest.fixture(scope="module")
def xero_spec():
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not here")
    # The published file breaks a few of its own schema rules ('false' as a boolean default), so
    # the spec is used as it is rather than validated first.
    return openapi_core.OpenAPI.from_file_path(str(SPEC), config=openapi_core.Config(spec_validator_cls=None))


@pytest.fixture
def exchanges(connector):
    """Every API request the connector sends and the emulator's answer, as sent on the wire."""
    seen = []

    def keep(response, *args, **kwargs):
        if "/api.xro/2.0/" in response.url:
            # Read a streamed body (GET /Items) whole now, so it can still be checked afterwards.
            _ = response.content
            seen.append(response)

    connector.session.http.hooks["response"].append(keep)
    return seen


def as_production(response: requests.Response) -> tuple[RequestsOpenAPIRequest, RequestsOpenAPIResponse]:
    sent = response.request.copy()
    sent.url = PRODUCTION + sent.url.split("/api.xro/2.0", 1)[1]
    return RequestsOpenAPIRequest(sent), RequestsOpenAPIResponse(response)


def test_every_call_of_a_full_sync_matches_xeros_spec(xero_spec, xero, connector, exchanges):
    xero.seed(products=3, customers=2)
    cursor = connector.pull_products(since=None, page=None).high_water_mark
    connector.pull_products(since=cursor, page=None)
    connector.pull_customers(since=None, page=None)
    connector.find_products_by_code(["SKU-00001", "SKU-00002"])
    connector.find_customer(email="customer00001@example.com")
    connector.find_customer(account_number="CUST-00002")
    product = connector.create_product(
        NewProduct(code="NEW-1", name="New", sale_price=Decimal("3.50")), idempotency_key=str(uuid.uuid4())
    )
    customer = connector.create_customer(
        NewCustomer(name="New Customer", email="n@example.com"), idempotency_key="c-1"
    )
    line = InvoiceLineDraft(
        description="New", quantity=Decimal(1), unit_price=Decimal("3.50"), product_code=product.code
    )
    drafts = [
        InvoiceDraft(
            reference=f"SALE-{n}",
            idempotency_key=f"k-{n}",
            customer_remote_id=customer.remote_id if n else str(uuid.uuid4()),
            issued_on=date(2026, 11, 2),
            lines=(line,),
        )
        for n in range(2)
    ]
    connector.post_invoices(drafts)
    connector.find_invoice_by_reference("SALE-1")

    assert len(exchanges) == 10
    problems = []
    for response in exchanges:
        request, answer = as_production(response)
        for check in (xero_spec.validate_request, lambda r, a=answer: xero_spec.validate_response(r, a)):
            try:
                check(request)
            except OpenAPIError as exc:
                problems.append(
                    f"{request.method.upper()} {response.request.path_url}: {exc!r} {exc.__cause__!r}"
                )
    assert problems == []
