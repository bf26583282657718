"""Plumbing the three metadata apps share: plain WSGI over werkzeug, text and JSON answers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def text(body: str, status: int = 200, headers: Mapping[str, str] | None = None,
         content_type: str = "text/plain") -> Response:
    return Response(body.encode("utf-8"), status=status, headers=dict(headers or {}),
                    content_type=content_type)


def as_json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body, separators=(",", ":")).encode(), status=status,
                    headers=dict(headers or {}), content_type="application/json; charset=utf-8")


class MetadataApp:
    """A metadata server for one VM as a WSGI app: subclasses implement :meth:`handle`."""

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse,
                 ) -> Iterable[bytes]:
        request = Request(environ, populate_request=False)
        response = self.handle(request)
        return response(environ, start_response)
