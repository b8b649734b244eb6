"""Staff create keys in the admin (the secret shown once) and revoke them."""

import factory
import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from syncing.models import ApiKey
from syncing.services.api_keys import create_api_key, create_platform_key
from tests import factories


@pytest.fixture
def staff_client(db, client):
    user = factories.UserFactory(
        username="staffer", is_staff=True, is_superuser=True, password=factory.Transformer.Force("!")
    )
    client.force_login(user)
    return client


def test_a_key_created_in_the_admin_is_shown_once_and_works(staff_client, tenant):
    response = staff_client.post(
        reverse("admin:syncing_apikey_add"),
        {"scope": "tenant", "tenant": tenant.pk, "name": "till"},
        follow=True,
    )

    words = [word for m in get_messages(response.wsgi_request) for word in str(m).split()]
    [plaintext] = [word for word in words if word.startswith("shk_")]
    key = ApiKey.objects.get()
    assert plaintext.split("_")[1] == key.prefix
    assert plaintext not in key.hashed_key
    me = Client(headers={"Authorization": f"Bearer {plaintext}"}).get("/api/v1/companies/me")
    assert me.json()["id"] == tenant.pk
    assert plaintext not in staff_client.get(reverse("admin:syncing_apikey_change", args=[key.pk])).text


def test_the_revoke_action_stops_a_key(staff_client, tenant):
    key, plaintext = create_api_key(tenant=tenant, name="till")

    staff_client.post(
        reverse("admin:syncing_apikey_changelist"), {"action": "revoke", "_selected_action": [key.pk]}
    )

    key.refresh_from_db()
    assert key.revoked_at is not None
    assert (
        Client(headers={"Authorization": f"Bearer {plaintext}"}).get("/api/v1/companies/me").status_code
        == 401
    )


def test_the_key_list_renders(staff_client, tenant):
    create_api_key(tenant=tenant, name="web shop")

    assert "web shop" in staff_client.get(reverse("admin:syncing_apikey_changelist")).text


def test_a_platform_key_created_in_the_admin_is_shown_once_and_creates_companies(staff_client):
    response = staff_client.post(
        reverse("admin:syncing_apikey_add"),
        {"scope": "platform", "tenant": "", "name": "platform"},
        follow=True,
    )

    words = [word for m in get_messages(response.wsgi_request) for word in str(m).split()]
    [plaintext] = [word for word in words if word.startswith("shk_")]
    key = ApiKey.objects.get()
    assert (key.scope, key.tenant, key.prefix) == ("platform", None, plaintext.split("_")[1])
    created = Client(headers={"Authorization": f"Bearer {plaintext}"}).post(
        "/api/v1/companies", {"name": "Dana's Deli"}, content_type="application/json"
    )
    assert created.status_code == 201
    assert plaintext not in staff_client.get(reverse("admin:syncing_apikey_change", args=[key.pk])).text


@pytest.mark.parametrize(
    ("scope", "with_tenant", "error"),
    [
        ("platform", True, "A platform key belongs to no company: leave this empty."),
        ("tenant", False, "A tenant key needs its company."),
    ],
    ids=["platform-with-a-company", "tenant-without-one"],
)
def test_the_admin_refuses_a_key_whose_company_does_not_fit_its_scope(
    staff_client, tenant, scope, with_tenant, error
):
    response = staff_client.post(
        reverse("admin:syncing_apikey_add"),
        {"scope": scope, "tenant": tenant.pk if with_tenant else "", "name": "odd"},
    )

    assert response.context["adminform"].form.errors["tenant"] == [error]
    assert not ApiKey.objects.exists()


def test_the_revoke_action_stops_a_platform_key(staff_client):
    key, plaintext = create_platform_key(name="platform")

    staff_client.post(
        reverse("admin:syncing_apikey_changelist"), {"action": "revoke", "_selected_action": [key.pk]}
    )

    key.refresh_from_db()
    assert key.revoked_at is not None
    assert (
        Client(headers={"Authorization": f"Bearer {plaintext}"}).get("/api/v1/companies").status_code == 401
    )
