"""The outbox emails, delivered through a real SMTP server on loopback (aiosmtpd)."""

import pytest
from django.core import mail

from invoices.models import OutboxEntry
from invoices.services.notifications import notify_given_up, notify_needs_attention
from tests import factories
from tests.invoices.smtp import smtp_server


@pytest.fixture
def smtp(settings):
    with smtp_server(settings) as inbox:
        yield inbox


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
