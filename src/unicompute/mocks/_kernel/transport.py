"""The two ways into an emulator: in-process (requests sessions routed to the WSGI app) and a
threaded HTTP server on 127.0.0.1."""

from __future__ import annotations

import fnmatch
import io
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import requests.adapters
from urllib3 import HTTPHeaderDict
from urllib3.response import HTTPResponse
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


class WsgiAdapter(requests.adapters.HTTPAdapter):
    """A ``requests`` transport adapter that answers by calling a WSGI application in-process.

    Responses go through ``HTTPAdapter.build_response`` from a real urllib3 response object, so
    clients (azure-core, google-auth) see exactly what a network response would give them.
    """

    def __init__(self, app: WSGIApplication) -> None:
        super().__init__()
        self.app = app

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        url = urlsplit(request.url or "")
        body: Any = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        environ = EnvironBuilder(
            path=url.path or "/",
            base_url=f"{url.scheme}://{url.netloc}",
            query_string=url.query,
            method=request.method or "GET",
            headers=list(request.headers.items()),
            data=body or b"",
        ).get_environ()
        app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
        try:
            content = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        code, _, reason = status.partition(" ")
        raw = HTTPResponse(
            body=io.BytesIO(content),
            headers=HTTPHeaderDict(list(headers.items())),
            status=int(code),
            reason=reason,
            preload_content=False,
            decode_content=False,
        )
        return self.build_response(request, raw)


class Interceptor:
    """Routes every ``requests.Session`` in the process to emulators by URL prefix.

    ``routes`` maps a URL prefix such as ``"https://management.azure.com"`` to a WSGI app; the
    host may hold ``*`` wildcards.
    While installed, a session asked for an adapter for a matching URL gets a
    :class:`WsgiAdapter` instead of its network one (sessions created before installation
    included); everything else is untouched. Installed at most once per process at a time.
    """

    _installed: Interceptor | None = None
    _lock = threading.Lock()

    def __init__(self, routes: Mapping[str, WSGIApplication]) -> None:
        self.routes: list[tuple[str, str, str, WsgiAdapter]] = []
        for prefix, app in routes.items():
            parts = urlsplit(prefix.lower())
            self.routes.append((parts.scheme, parts.netloc, parts.path.rstrip("/"),
                                WsgiAdapter(app)))
        self._original: Any = None

    def adapter_for(self, url: str) -> WsgiAdapter | None:
        """The adapter of the first route whose scheme, host (``*`` wildcards allowed, as in
        ``https://*.lambda-url.us-east-1.on.aws``) and path prefix match ``url``."""
        parts = urlsplit(url.lower())
        for scheme, host, path, adapter in self.routes:
            if parts.scheme != scheme or not fnmatch.fnmatchcase(parts.netloc, host):
                continue
            if not path or parts.path == path or parts.path.startswith(path + "/"):
                return adapter
        return None

    def install(self) -> None:
        with Interceptor._lock:
            if Interceptor._installed is not None:
                raise RuntimeError("an Interceptor is already installed in this process")
            original = requests.Session.get_adapter
            interceptor = self

            def get_adapter(session: requests.Session, url: str) -> requests.adapters.BaseAdapter:
                adapter = interceptor.adapter_for(url)
                return adapter if adapter is not None else original(session, url)

            self._original = original
            requests.Session.get_adapter = get_adapter  # type: ignore[method-assign,assignment]
            Interceptor._installed = self

    def uninstall(self) -> None:
        with Interceptor._lock:
            if Interceptor._installed is not self:
                return
            requests.Session.get_adapter = self._original  # type: ignore[method-assign]
            Interceptor._installed = None


@dataclass
class Served:
    """An emulator listening on a socket; :attr:`url` is its base URL."""

    server: BaseWSGIServer
    thread: threading.Thread
    url: str

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class _QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without its access log: request lines carry secrets (SAS signatures,
    function keys in ``?code=``) and no cloud writes them to the caller's terminal."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


#: How often a served fake's loop looks for a shutdown request (werkzeug's default is 0.5 s).
SHUTDOWN_POLL_SECONDS = 0.05


def serve(app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> Served:
    """Serve ``app`` over HTTP on ``host:port`` (0: any free port) in a daemon thread; no
    access log is written."""
    server = make_server(host, port, app, threaded=True, request_handler=_QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,),
                              name=f"unicompute-fake-{port}", daemon=True)
    thread.start()
    return Served(server=server, thread=thread, url=f"http://{host}:{server.server_port}")


class Listener:
    """At most one loopback server of one app at a time: what a fake's ``serve()`` and
    ``shutdown_server()`` do. ``owner`` names the fake in the error for a second start."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._served: Served | None = None

    @property
    def running(self) -> bool:
        return self._served is not None

    def start(self, app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve ``app`` on ``host:port`` (0: any free port); its base URL."""
        if self._served is not None:
            raise RuntimeError(f"this {self.owner} already serves {self._served.url}")
        self._served = serve(app, host, port)
        return self._served.url

    def stop(self) -> None:
        """Stop serving (nothing if not serving)."""
        if self._served is not None:
            served, self._served = self._served, None
            served.shutdown()

