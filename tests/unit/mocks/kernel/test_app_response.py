"""EmulatorApp answers exactly what werkzeug's ``Response.__call__`` would send (status,
headers, body), whether it writes a buffered JSON answer itself or hands the response over."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Request, Response

from unicompute.mocks._kernel import EmulatorApp, HttpError, json_response

_CASES: dict[str, Callable[[], Response]] = {
    "json": lambda: json_response({"a": [1, "é"]}),
    "json-with-headers": lambda: json_response({"x": 1}, 201, {"Azure-AsyncOperation": "u",
                                                               "content-type": "text/plain"}),
    "no-content": lambda: Response(status=204),
    "empty-200": lambda: Response(status=200),
    "location": lambda: Response("{}", status=202, headers={"Location": "/ops/ü"}),
    "text": lambda: Response(["a", "b"], content_type="text/plain"),
    "generator": lambda: Response(c for c in [b"x", b"y"]),
}


def _with_close() -> Response:
    response = json_response({"closed": False})
    response.call_on_close(lambda: None)
    return response


_CASES["on-close"] = _with_close


class _Cases(EmulatorApp):
    url_map = Map([Rule("/<case>", endpoint="answer", methods=["GET", "HEAD", "POST"])])

    def answer(self, request: Request, case: str) -> Response:
        if case == "error":
            raise HttpError(409, "Conflict", "taken", headers={"Retry-After": "1"})
        return _CASES[case]()

    def error_response(self, error: HttpError) -> Response:
        return json_response({"error": {"code": error.code}}, error.status)


def _werkzeug(case: str, method: str) -> tuple[str, list[tuple[str, str]], bytes]:
    environ = EnvironBuilder(path=f"/{case}", method=method).get_environ()
    if case == "error":
        response = json_response({"error": {"code": "Conflict"}}, 409)
        response.headers["Retry-After"] = "1"
    else:
        response = _CASES[case]()
    body, status, headers = run_wsgi_app(response, environ, buffered=True)
    return status, list(headers.items()), b"".join(body)


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
@pytest.mark.parametrize("case", [*_CASES, "error"])
def test_answers_match_werkzeugs_own(case: str, method: str) -> None:
    app: Any = _Cases()
    environ = EnvironBuilder(path=f"/{case}", method=method).get_environ()
    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    assert (status, list(headers.items()), b"".join(body)) == _werkzeug(case, method)
    assert app.requests[-1].status == int(status.split()[0])


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/json", "If-Match": "*", "if-none-match": '"e1"',
     "Authorization": "Bearer secret"},
    {"Content-Type": "", "If-Match": ""},
    {},
])
def test_the_log_keeps_the_headers_werkzeug_names_and_never_credentials(
        headers: dict[str, str]) -> None:
    app: Any = _Cases()
    environ = EnvironBuilder(path="/json", method="POST", headers=headers).get_environ()
    if headers.get("Content-Type") == "":
        environ["CONTENT_TYPE"] = ""
    expected = {k: v for k, v in Request(environ).headers.items()
                if k.lower() in app.logged_headers}
    run_wsgi_app(app, environ, buffered=True)
    assert app.requests[-1].headers == expected
    assert "Authorization" not in app.requests[-1].headers


@pytest.mark.parametrize("terminated", [False, True])
def test_a_json_body_read_leaves_the_body_for_later_readers(terminated: bool) -> None:
    environ = EnvironBuilder(path="/x", method="POST", data=b'{"a": 1}  ').get_environ()
    if terminated:  # a server that ends the input itself: werkzeug reads to EOF
        environ["wsgi.input_terminated"] = True
        del environ["CONTENT_LENGTH"]
    request = Request(environ)
    assert EmulatorApp.json_body(request) == {"a": 1}
    assert request.get_data() == b'{"a": 1}  '


def test_a_body_that_is_not_a_json_object_is_a_400() -> None:
    for raw in (b"[1]", b"{nope"):
        request = Request(EnvironBuilder(path="/x", method="POST", data=raw).get_environ())
        with pytest.raises(HttpError) as caught:
            EmulatorApp.json_body(request)
        assert caught.value.status == 400
