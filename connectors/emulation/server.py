"""Run an emulator over real HTTP on 127.0.0.1, in a daemon thread."""

from __future__ import annotations

import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server


class ConnectionDropped(Exception):
    """Raised by an emulator to close the socket without answering: the lost-response fault."""


class _Handler(ServerHandler):
    def handle_error(self):
        if isinstance(self._exc, ConnectionDropped):
            # Nothing was answered, but wsgiref's close() logs a status line: give it one.
            self.status = self.status or "000 Dropped"
            self.close()
            return
        super().handle_error()

    def run(self, application):
        self._exc = None

        def app(environ, start_response):
            try:
                return application(environ, start_response)
            except ConnectionDropped as exc:
                self._exc = exc
                raise

        super().run(app)


class _RequestHandler(WSGIRequestHandler):
    def handle(self):
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _Handler(self.rfile, self.wfile, self.get_stderr(), self.get_environ())
        handler.request_handler = self
        handler.run(self.server.get_app())

    def log_message(self, format, *args):
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class LoopbackServer:
    """A started emulator: `url` is its origin; `stop()` frees the port. `server_class` serves
    another app its own way (the simulated month serves Django with Django's server)."""

    def __init__(self, app, *, host: str = "127.0.0.1", port: int = 0, server_class=_ThreadingServer) -> None:
        self.app = app
        self._httpd = make_server(host, port, app, server_class=server_class, handler_class=_RequestHandler)
        self.url = f"http://{host}:{self._httpd.server_port}"
        app.public_url = self.url
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()


def serve(app, *, host: str = "127.0.0.1", port: int = 0, server_class=_ThreadingServer) -> LoopbackServer:
    return LoopbackServer(app, host=host, port=port, server_class=server_class).start()
