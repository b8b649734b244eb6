"""Sync-flow texts: defaults in one place, a tenant's own where staff set them in the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from syncing.forms import ConnectionAdminForm, TenantAdminForm
from syncing.texts import SYNC_FLOW_TEXTS, sync_flow_texts
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_connections_page_shows_the_default_texts(alice, client_for):
    page = client_for(alice).get(reverse("syncing:integrations")).content.decode()
    assert "Connect Xero" in page
    assert SYNC_FLOW_TEXTS["integrations_intro"] in page


def test_a_tenants_own_text_replaces_the_default_with_the_providers_name(tenant, alice, client_for):
    tenant.sync_flow_texts = {"connect_button": "Link your {provider} books"}
    tenant.save()
    page = client_for(alice).get(reverse("syncing:integrations")).content.decode()
    assert "Link your Xero books" in page
    assert "Connect Xero" not in page


def test_a_blank_text_falls_back_to_the_default(tenant):
    tenant.sync_flow_texts = {"retry_button": "  "}
    assert sync_flow_texts(tenant)["retry_button"] == SYNC_FLOW_TEXTS["retry_button"]


def test_staff_set_a_text_in_the_tenant_admin_form(tenant):
    data = {
        "name": tenant.name,
        "slug": tenant.slug,
        "timezone": "UTC",
        "plan": tenant.plan,
        "monthly_call_allowance": 5000,
        "text_retry_button": "Send again",
    }
    form = TenantAdminForm(data, instance=tenant)
    assert form.is_valid(), form.errors
    form.save()
    tenant.refresh_from_db()
    assert tenant.sync_flow_texts == {"retry_button": "Send again"}


def test_the_tenant_admin_page_has_a_box_per_text(tenant, admin_client):
    page = admin_client.get(reverse("admin:syncing_tenant_change", args=[tenant.pk])).content.decode()
    assert all(f'name="text_{key}"' in page for key in SYNC_FLOW_TEXTS)


def test_staff_list_visible_accounts_as_codes_in_the_connection_admin(tenant, admin_client):
    connection = factories.ConnectionFactory(tenant=tenant, visible_accounts=["200", "090"])
    page = admin_client.get(reverse("admin:syncing_connection_change", args=[connection.pk]))
    assert 'name="visible_accounts" value="200, 090"' in page.content.decode()
    field = ConnectionAdminForm.base_fields["visible_accounts"]
    assert field.clean("200, 090\n4000") == ["200", "090", "4000"]
    assert field.clean("") == []
