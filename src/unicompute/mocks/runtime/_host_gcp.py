"""Inside a worker: how the Functions Framework for Python loads and calls a Cloud Function.

Standalone (loaded by ``_worker._host("gcp")`` from its file; imports no ``unicompute``): only
the standard library, Flask/werkzeug and, for CloudEvent functions, ``cloudevents``.

:func:`load` imports ``main`` (the Functions Framework's ``FUNCTION_SOURCE`` default,
``main.py`` at the source root) and looks up ``FUNCTION_TARGET``; a missing target is the
framework's ``MissingTargetException``. The signature is the one a
``@functions_framework.http`` or ``@functions_framework.cloud_event`` decorator registered for
the target, else ``FUNCTION_SIGNATURE_TYPE`` (the framework's order). It answers a callable
taking the envelope the fake sends and returning the HTTP response as a JSON document:

* envelope ``{"request": {"method", "path", "query", "headers": [[name, value]...],
  "body_b64"}}``: an HTTP request to the container. With ``FUNCTION_SIGNATURE_TYPE=http`` the
  function gets the ``flask.Request`` and its return value becomes the response by Flask's
  ``make_response`` rules (str, bytes, dict/list as JSON, ``(body, status, headers)`` tuples,
  a ``Response``); with ``cloudevent`` the request is read as a ``cloudevents.http.CloudEvent``
  (binary or structured content mode, ``from_http``; ``cloudevents.v1.http`` in 2.x) and a
  function that returns answers ``200 OK``. ``GET /robots.txt`` and ``/favicon.ico`` answer
  404 without calling the function, as the framework does. An exception is logged by Flask
  (``Exception on /path [METHOD]`` and the traceback, on stderr) and answered 500 with
  ``X-Google-Status: crash``.
* envelope ``{"probe": true}``: the start-up check; answers ``{"status": 200}`` without
  calling the function.

Answers: ``{"status": int, "headers": [[name, value]...], "body_b64": str}``. A
``MemoryError`` escapes (the worker reports it and exits, as Cloud Run replaces the instance).
"""

from __future__ import annotations

import base64
import importlib
import logging
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_HTTP_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


class GcpContext:
    """What the host knows of one request (the function itself gets no context object)."""

    def __init__(self, header: dict[str, Any]) -> None:
        self.request_id = header["request_id"]
        self._deadline_ms = header["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(int(self._deadline_ms - time.time() * 1000), 0)


def make_context(header: dict[str, Any]) -> GcpContext:
    return GcpContext(header)


class _OutOfMemory(BaseException):
    """Carries a ``MemoryError`` past Flask's handler (which would answer it 500)."""

    def __init__(self, error: MemoryError) -> None:
        super().__init__(str(error))
        self.error = error


def _plain_logging() -> None:
    """Undo the worker's Lambda-format root handler: a Python container on Cloud Run has no
    logging configured (``logging.warning`` reaches stderr through ``lastResort``)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)


def load(entry: str) -> tuple[Callable[..., Any] | None, dict[str, Any] | None]:
    _plain_logging()
    module_name, _, target = entry.partition(".")
    source = os.path.join(os.getcwd(), f"{module_name}.py")
    if not os.path.exists(source):
        return None, {"errorType": "MissingSourceException",
                      "errorMessage": f"File {source} that is expected to define function "
                                      "doesn't exist", "stackTrace": []}
    registry = _framework_registry()
    try:
        module = importlib.import_module(module_name)
    except MemoryError:
        raise
    except BaseException as exc:  # an import that exits or fails stops the container
        import traceback

        trace = traceback.format_exception(type(exc), exc, exc.__traceback__)
        sys.stderr.write("".join(trace))
        return None, {"errorType": type(exc).__name__, "errorMessage": str(exc),
                      "stackTrace": trace[1:-1]}
    function = getattr(module, target, None)
    if not callable(function):
        found = ", ".join(repr(name) for name in dir(module)
                          if callable(getattr(module, name)) and not name.startswith("_"))
        return None, {"errorType": "MissingTargetException",
                      "errorMessage": f"File {source} is expected to contain a function named "
                                      f"'{target}'. Found: {found or 'nothing'} instead",
                      "stackTrace": []}
    # As the framework decides: its decorator first, then the variable the build set.
    signature = registry.get(target) or os.environ.get("FUNCTION_SIGNATURE_TYPE", "http")
    app = _flask_app(target, function, signature)
    return _caller(app), None


def _framework_registry() -> dict[str, str]:
    """The Functions Framework's registry of decorated functions (name → signature type).
    The Python runtime always has the framework; where it is not installed, a stand-in module
    ``functions_framework`` with its ``http`` and ``cloud_event`` decorators takes its place,
    so sources written for it import and register as they do on GCP."""
    try:
        from functions_framework import _function_registry  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        return _function_registry.REGISTRY_MAP  # type: ignore[no-any-return]
    import types

    registry: dict[str, str] = {}

    def register(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
            registry[function.__name__] = kind
            return function
        return decorator

    module = types.ModuleType("functions_framework")
    module.http = register("http")  # type: ignore[attr-defined]
    module.cloud_event = register("cloudevent")  # type: ignore[attr-defined]
    sys.modules["functions_framework"] = module
    return registry


def _flask_app(target: str, function: Callable[..., Any], signature: str) -> Any:
    import flask

    app = flask.Flask(target)

    def run(path: str) -> Any:
        request = flask.request._get_current_object()  # type: ignore[attr-defined]
        try:
            if signature == "cloudevent":
                event = _from_http()(dict(request.headers), request.get_data())
                function(event)
                return "OK"
            return function(request)
        except MemoryError as exc:
            raise _OutOfMemory(exc) from None

    def not_found() -> Any:
        flask.abort(404)

    def crash(error: Exception) -> Any:
        return str(error), 500, {"X-Google-Status": "crash"}

    app.add_url_rule("/robots.txt", "robots", not_found, methods=["GET"])
    app.add_url_rule("/favicon.ico", "favicon", not_found, methods=["GET"])
    app.add_url_rule("/", "run", run, defaults={"path": ""}, methods=_HTTP_METHODS)
    app.add_url_rule("/<path:path>", "run", run, methods=_HTTP_METHODS)
    app.register_error_handler(500, crash)
    return app


def _from_http() -> Callable[..., Any]:
    """``cloudevents.http.from_http`` (in cloudevents 2.x: ``cloudevents.v1.http``)."""
    try:
        from cloudevents.http import from_http  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        from cloudevents.v1.http import from_http
    return from_http  # type: ignore[no-any-return]


def _caller(app: Any) -> Callable[[dict[str, Any], GcpContext], dict[str, Any]]:
    from werkzeug.test import EnvironBuilder

    def call(envelope: dict[str, Any], context: GcpContext) -> dict[str, Any]:
        if envelope.get("probe"):
            return {"status": 200, "headers": [], "body_b64": ""}
        request = envelope["request"]
        environ = EnvironBuilder(
            path=request.get("path") or "/", method=request.get("method", "GET"),
            query_string=request.get("query", ""), headers=request.get("headers", []),
            data=base64.b64decode(request.get("body_b64") or ""),
            base_url=request.get("base_url", "http://localhost:8080"),
            errors_stream=sys.stderr,
        ).get_environ()
        status: list[Any] = []

        def start_response(line: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], object]:
            status[:] = [line, headers]
            return lambda _: None

        try:
            chunks = app(environ, start_response)
            try:
                body = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        except _OutOfMemory as wrapped:
            raise wrapped.error from None
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        return {"status": int(status[0].split(" ", 1)[0]),
                "headers": [[name, value] for name, value in status[1]],
                "body_b64": base64.b64encode(body).decode("ascii")}

    return call
