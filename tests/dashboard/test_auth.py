"""Signing in and out, throttled sign-ins, and password reset by email."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from syncing.forms import LOGIN_FAILURE_LIMIT

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def sign_in(client, username, password):
    return client.post(reverse("syncing:login"), {"username": username, "password": password})


def test_right_password_signs_in_and_lands_on_the_overview(client, alice):
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get(reverse("syncing:overview")).status_code == 200


def test_sign_out_ends_the_session(client, alice):
    sign_in(client, "alice", PASSWORD)
    assert client.post(reverse("syncing:logout")).status_code == 302
    assert client.get(reverse("syncing:overview")).status_code == 302


def test_sign_in_is_refused_after_five_failures_even_with_the_right_password(client, alice):
    for _ in range(LOGIN_FAILURE_LIMIT):
        assert sign_in(client, "alice", "wrong").status_code == 200
    response = sign_in(client, "alice", PASSWORD)
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_for_one_user_do_not_lock_out_another(client, alice, charlie):
    for _ in range(LOGIN_FAILURE_LIMIT):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "charlie", PASSWORD).status_code == 302


def test_password_reset_emails_a_link_that_sets_a_new_password(client, alice):
    response = client.post(reverse("syncing:password_reset"), {"email": alice.email})
    assert response["Location"] == reverse("syncing:password_reset_done")
    (message,) = mail.outbox
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a fresh long passphrase", "new_password2": "a fresh long passphrase"},
    )
    assert done["Location"] == reverse("syncing:password_reset_complete")
    client.logout()
    assert sign_in(client, "alice", "a fresh long passphrase").status_code == 302
