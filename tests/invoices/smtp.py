"""A real SMTP server on loopback (aiosmtpd) that Django's SMTP backend delivers to."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default

from aiosmtpd.controller import Controller


class Inbox:
    """What the server received: (recipients, parsed message) per email."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default)))
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        return [message["Subject"] for _, message in self.messages]


@contextmanager
def smtp_server(settings):
    """Start the server and point Django's email backend at it (`settings` is pytest-django's)."""
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
    try:
        yield inbox
    finally:
        controller.stop()
