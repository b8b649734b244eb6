"""The API keys page: an owner creates a key (shown once) and revokes it; members only look."""

import pytest
from django.urls import reverse

from syncing.models import ApiKey
from syncing.services.api_keys import authenticate_api_key, create_api_key
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_new_key_is_shown_once_and_works(alice, client_for):
    client = client_for(alice)

    created = client.post(reverse("syncing:api_keys"), {"name": "Online store"})
    plaintext = created.context["new_key"]

    assert authenticate_api_key(plaintext).tenant.slug == "alices-shop"
    assert plaintext.encode() in created.content
    assert plaintext.encode() not in client.get(reverse("syncing:api_keys")).content


def test_a_key_without_a_name_is_refused_with_a_reason(alice, client_for):
    response = client_for(alice).post(reverse("syncing:api_keys"), {"name": "  "})

    assert response.status_code == 422
    assert b"Give the key a name" in response.content
    assert not ApiKey.objects.exists()


def test_an_owner_revokes_a_key(alice, tenant, client_for):
    key, plaintext = create_api_key(tenant=tenant, name="Till")

    response = client_for(alice).post(reverse("syncing:revoke_api_key", args=[key.pk]))

    assert response["Location"] == reverse("syncing:api_keys")
    assert authenticate_api_key(plaintext) is None


def test_a_member_sees_the_keys_but_cannot_create_or_revoke(bob, tenant, client_for):
    key, plaintext = create_api_key(tenant=tenant, name="Till")
    client = client_for(bob)

    assert b"Till" in client.get(reverse("syncing:api_keys")).content
    assert client.post(reverse("syncing:api_keys"), {"name": "Mine"}).status_code == 403
    assert client.post(reverse("syncing:revoke_api_key", args=[key.pk])).status_code == 403
    assert authenticate_api_key(plaintext) is not None and ApiKey.objects.count() == 1


def test_another_shops_key_cannot_be_revoked(alice, client_for):
    key, plaintext = create_api_key(tenant=factories.TenantFactory(), name="Theirs")

    response = client_for(alice).post(reverse("syncing:revoke_api_key", args=[key.pk]))

    assert response.status_code == 404
    assert authenticate_api_key(plaintext) is not None


def test_the_navigation_links_to_the_keys(alice, client_for):
    page = client_for(alice).get(reverse("syncing:overview"))

    assert reverse("syncing:api_keys").encode() in page.content
