"""The outbox emails, delivered through a real SMTP server on loopback (aiosmtpd)."""

import socket
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from django.core import mail

from invoices.models import OutboxEntry
from invoices.services.notifications import notify_given_up, notify_needs_attention
from tests import factories


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    # The controller checks it is up by connecting to its own port, so it needs the number first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


@pytest.fixture
def refused_entry(tenant, bob, settings):
    settings.SITE_URL = "https://sync.example.com"
    return factories.OutboxEntryFactory(
        sale__tenant=tenant,
        sale__number="S-1001",
        connection__provider="xero",
        state=OutboxEntry.State.NEEDS_ATTENTION,
        attempts=1,
        last_error="Xero refused the invoice: Account code '999' is not a valid code for this document.",
        provider_messages=["Account code '999' is not a valid code for this document."],
    )


def test_attention_email_reaches_the_owners_over_smtp(smtp, refused_entry):
    assert notify_needs_attention(refused_entry)

    [(recipients, message)] = smtp.messages
    assert recipients == ["alice@example.com"]
    assert message["Subject"] == "Sale S-1001 needs your attention in Xero"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Account code '999' is not a valid code" in text
    assert "Account code &#x27;999&#x27; is not a valid code" in html
    assert f"https://sync.example.com/outbox/{refused_entry.pk}/" in text
    assert f'href="https://sync.example.com/outbox/{refused_entry.pk}/"' in html


def test_attention_email_is_sent_once(refused_entry):
    notify_needs_attention(refused_entry)

    assert not notify_needs_attention(refused_entry)
    assert len(mail.outbox) == 1


def test_given_up_email_is_sent_once_besides_the_attention_email(refused_entry):
    notify_needs_attention(refused_entry)
    notify_given_up(refused_entry)
    notify_given_up(refused_entry)

    assert [m.subject for m in mail.outbox] == [
        "Sale S-1001 needs your attention in Xero",
        "Sale S-1001 could not be posted to Xero",
    ]


def test_email_that_could_not_be_delivered_is_tried_again_next_time(settings, refused_entry):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens: refused at once

    assert not notify_needs_attention(refused_entry)

    refused_entry.refresh_from_db()
    assert refused_entry.attention_emailed_at is None
