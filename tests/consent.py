"""The merchant's side of an OAuth reconnect, played against an emulator's consent page."""

from urllib.parse import parse_qs, urlsplit

import requests

from syncing.models import Connection
from syncing.services import connections

REDIRECT_URI = "http://testserver/connections/xero/callback/"


def reconnect(connection: Connection) -> Connection:
    """The merchant presses Reconnect and then "Allow access" on the emulator's consent page."""
    url = connections.connect_start(connection, redirect_uri=REDIRECT_URI)
    params = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    answer = requests.post(url.split("?")[0], data={**params, "decision": "allow"}, allow_redirects=False)
    callback = {k: v[-1] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    return connections.connect_complete(
        state=callback["state"], code=callback["code"], redirect_uri=REDIRECT_URI
    )
