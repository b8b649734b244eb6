"""The published OpenAPI document and docs page."""

from django.test import Client
from openapi_spec_validator import validate


def test_the_openapi_document_is_valid_and_lists_every_resource(db):
    document = Client().get("/api/v1/openapi.json").json()

    validate(document)
    assert {"/api/v1/companies/me", "/api/v1/sales", "/api/v1/syncs"} <= set(document["paths"])


def test_every_operation_documents_the_error_shape(db):
    document = Client().get("/api/v1/openapi.json").json()

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "404" in operation["responses"], f"{method.upper()} {path}"


def test_the_docs_page_is_served(db):
    assert Client().get("/api/v1/docs").status_code == 200


def test_the_connection_schema_documents_its_freshness(db):
    document = Client().get("/api/v1/openapi.json").json()

    fields = document["components"]["schemas"]["ConnectionOut"]["properties"]
    for name in ("freshness_promise_seconds", "recent_lag_seconds", "poll_interval_effective_seconds"):
        assert fields[name]["description"], name
