"""Credentials at rest: encrypted in the database, rotatable to a new key, and a wrong key fails
loudly at read time instead of returning nonsense."""

from __future__ import annotations

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core import serializers
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection as db
from django.test import override_settings

from syncing.models import Connection, WebhookEndpoint
from tests import factories

pytestmark = pytest.mark.django_db

TOKENS = {"access_token": "access-token-that-must-stay-secret", "refresh_token": "refresh-token-also-secret"}
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def stored_ciphertext(connection: Connection) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT credentials FROM {Connection._meta.db_table} WHERE id = %s",
            [connection.pk],
        )
        return cursor.fetchone()[0]


def test_the_database_column_does_not_hold_the_token():
    connection = factories.ConnectionFactory(credentials=TOKENS)
    raw = stored_ciphertext(connection)
    assert TOKENS["access_token"] not in raw
    assert TOKENS["refresh_token"] not in raw
    assert Connection.objects.get(pk=connection.pk).credentials == TOKENS


def test_serialised_connections_carry_only_ciphertext():
    connection = factories.ConnectionFactory(credentials=TOKENS)
    dumped = serializers.serialize("json", [connection])
    assert TOKENS["access_token"] not in dumped
    assert json.loads(dumped)[0]["fields"]["credentials"].startswith("gAAAA")


def test_rotation_lets_the_old_key_be_dropped():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        connection = factories.ConnectionFactory(credentials=TOKENS)
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_encryption_keys", stdout=io.StringIO())
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        assert Connection.objects.get(pk=connection.pk).credentials == TOKENS
    assert json.loads(Fernet(NEW_KEY).decrypt(stored_ciphertext(connection).encode())) == TOKENS


def test_without_rotation_dropping_the_old_key_makes_credentials_unreadable():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        connection = factories.ConnectionFactory(credentials=TOKENS)
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]),
        pytest.raises(ImproperlyConfigured, match="cannot be decrypted with FIELD_ENCRYPTION_KEY"),
    ):
        Connection.objects.get(pk=connection.pk)


def test_a_malformed_key_is_refused_with_a_sentence():
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=["not-a-fernet-key"]),
        pytest.raises(ImproperlyConfigured, match="must hold Fernet keys"),
    ):
        factories.ConnectionFactory(credentials=TOKENS)


def test_rotation_also_re_encrypts_webhook_endpoint_secrets():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        endpoint = WebhookEndpoint.objects.create(
            tenant=factories.TenantFactory(), url="https://platform.example/hooks", signing={"secret": "s3"}
        )
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_encryption_keys", stdout=io.StringIO())
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == "s3"
