"""The merchant's side of an OAuth consent, played against an emulator's consent page."""

from urllib.parse import urlsplit

from syncing.models import Connection
from syncing.services import demo

REDIRECT_URI = "http://testserver/connections/xero/callback/"


def answer_consent(authorize_url: str, decision: str) -> str:
    """Open the provider's consent page and press a button, as a browser would; the path and
    query the provider sends the merchant back to."""
    back = urlsplit(demo.answer_consent(authorize_url, decision))
    return f"{back.path}?{back.query}" if back.query else back.path


def reconnect(connection: Connection) -> Connection:
    """The merchant presses Reconnect and then "Allow access" on the emulator's consent page."""
    return demo.authorise_through_consent(connection, redirect_uri=REDIRECT_URI)
