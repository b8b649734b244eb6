"""Emails to a tenant's owners about its connections.

A working connection whose provider stops accepting our access (a revoked refresh token, a
regenerated API key) gets one email, sent by whoever moved it to needs re-authorisation: that move
happens once (`connections.mark_needs_reauth`), however many calls failed, so the email goes once.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from invoices.services.notifications import owner_emails
from syncing.models import Connection

logger = logging.getLogger(__name__)


def reconnect_url(connection: Connection) -> str:
    """Where the merchant reconnects: the connection's page saying what happened, whose one button
    starts the provider's consent (a POST, so it cannot be the link itself)."""
    return f"{settings.SITE_URL}{reverse('syncing:access_lost', args=[connection.pk])}"


def notify_needs_reauth(connection: Connection) -> bool:
    """Tell the tenant's owners that `connection`'s provider stopped accepting us and where to
    reconnect. True if the email went; a failed send is logged, and the dashboard still asks."""
    recipients = owner_emails(connection.tenant_id)
    if not recipients:
        return False
    provider = connection.spec.name
    context = {
        "provider": provider,
        "organisation": connection.remote_org_name,
        "tenant": connection.tenant,
        "reason": connection.status_reason,
        "url": reconnect_url(connection),
    }
    email = EmailMultiAlternatives(
        subject=f"{provider} stopped accepting our access for {connection.tenant.name}: please reconnect",
        body=render_to_string("emails/connection_needs_reauth.txt", context),
        to=recipients,
    )
    email.attach_alternative(render_to_string("emails/connection_needs_reauth.html", context), "text/html")
    try:
        email.send()
    except Exception:
        logger.exception("Emailing %s that %s needs reconnecting failed.", recipients, provider)
        return False
    return True
