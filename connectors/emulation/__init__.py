"""The shared kit every provider emulator is built from.

An emulator is a WSGI application (`Emulator`) with routes, an in-memory store, an OAuth2 server
where the provider has one, and fault switches tests flip per call (`fail_next`, `rate_limit_next`,
`lose_next_response`, `delay_next`, `malform_next`). `serve(app)` runs it over real HTTP on a
loopback port in a thread.
"""

from connectors.emulation.app import Emulator, Request, Response, route
from connectors.emulation.oauth import OAuthServer
from connectors.emulation.server import LoopbackServer, serve

__all__ = ["Emulator", "LoopbackServer", "OAuthServer", "Request", "Response", "route", "serve"]
