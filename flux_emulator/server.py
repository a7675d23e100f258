"""A WSGI app served on 127.0.0.1 from a background thread: the built-in emulator, tests and screenshots."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, make_server


class ServerThread:
    """Serves `app` from a daemon thread on 127.0.0.1 (port 0 picks a free one at start); a context manager."""

    host = "127.0.0.1"
    # How often the serving loop looks for a stop request: stop() waits up to this long. socketserver's 0.5 s
    # made every stop cost half a second (the tests start and stop a server for each browser test); a wake-up
    # every 50 ms costs nothing measurable.
    poll_interval = 0.05

    def __init__(self, app, port: int = 0, name: str = "wsgi-server") -> None:
        self.app = app
        self.port = port
        self.name = name
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. http://127.0.0.1:54321."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        """Bind the port and serve in a daemon thread."""
        self._server = make_server(self.host, self.port, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, args=(self.poll_interval,),
                                        name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
