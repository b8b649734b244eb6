"""Every dashboard page: the owner sees it, a stranger gets 404 on the owner's objects, and an
anonymous visitor is sent to sign in."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PAGES = ["overview", "products", "customers", "outbox", "history", "integrations"]
OBJECT_PAGES = [
    ("outbox_entry", "entry"),
    ("connection_settings", "connection"),
    ("disconnect", "connection"),
    ("choose_organisation", "connection"),
    ("access_lost", "connection"),
]
OBJECT_ACTIONS = [
    ("sync_product", "product"),
    ("retry_entry", "entry"),
    ("cancel_entry", "entry"),
    ("reconnect", "connection"),
    ("disconnect", "connection"),
    ("start_sync", "connection"),
]


@pytest.mark.parametrize("name", PAGES)
def test_owner_and_member_see_every_page(name, shop, alice, bob, client_for):
    for user in (alice, bob):
        assert client_for(user).get(reverse(f"syncing:{name}")).status_code == 200


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitor_is_sent_to_sign_in(name, client, db):
    response = client.get(reverse(f"syncing:{name}"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("syncing:login") + "?next=")


@pytest.mark.parametrize(("name", "key"), OBJECT_PAGES)
def test_owner_sees_her_objects(name, key, shop, alice, client_for):
    assert client_for(alice).get(reverse(f"syncing:{name}", args=[shop[key].pk])).status_code == 200


@pytest.mark.parametrize(("name", "key"), OBJECT_PAGES)
def test_stranger_gets_404_on_alices_object_pages(name, key, shop, charlie, client_for):
    assert client_for(charlie).get(reverse(f"syncing:{name}", args=[shop[key].pk])).status_code == 404


@pytest.mark.parametrize(("name", "key"), OBJECT_ACTIONS)
def test_stranger_gets_404_on_alices_object_actions(name, key, shop, charlie, client_for):
    assert client_for(charlie).post(reverse(f"syncing:{name}", args=[shop[key].pk])).status_code == 404


def test_stranger_does_not_see_alices_rows_on_list_pages(shop, charlie, client_for):
    client = client_for(charlie)
    assert shop["product"].sku not in client.get(reverse("syncing:products")).content.decode()
    assert shop["entry"].sale.number not in client.get(reverse("syncing:outbox")).content.decode()
    assert shop["customer"].email not in client.get(reverse("syncing:customers")).content.decode()
    assert "Organisation" not in client.get(reverse("syncing:overview")).content.decode()


def test_user_without_a_shop_gets_404(django_user_model, client_for, db):
    loner = django_user_model.objects.create_user("dave", password="x")
    assert client_for(loner).get(reverse("syncing:overview")).status_code == 404
