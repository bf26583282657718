"""The errors Microsoft.Web (App Service) answers itself, in its own body format.

ARM answers missing groups and resources with ``{"error": {"code", "message"}}`` (the
``_errors`` module); validation by the App Service resource provider comes back in its
PascalCase format instead::

    {"Code": "Conflict", "Message": "...", "Target": null,
     "Details": [{"Message": "..."}, {"Code": "Conflict"},
                 {"ErrorEntity": {"ExtendedCode": "...", "MessageTemplate": "...",
                                  "Parameters": [...], "Code": "Conflict", "Message": "..."}}],
     "Innererror": null}
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from .._kernel import HttpError, json_response


class WebError(HttpError):
    """An error rendered in Microsoft.Web's format (see the module docstring)."""

    def __init__(self, status: int, code: str, message: str, *, extended_code: str = "",
                 template: str = "", parameters: tuple[str, ...] = ()) -> None:
        super().__init__(status, code, message)
        self.extended_code = extended_code
        self.template = template or message
        self.parameters = parameters


def render(error: WebError) -> Response:
    entity: dict[str, Any] = {"ExtendedCode": error.extended_code or None,
                              "MessageTemplate": error.template,
                              "Parameters": list(error.parameters), "Code": error.code,
                              "Message": error.message}
    body = {"Code": error.code, "Message": error.message, "Target": None,
            "Details": [{"Message": error.message}, {"Code": error.code},
                        {"ErrorEntity": entity}],
            "Innererror": None}
    return json_response(body, status=error.status)


def bad_request(message: str, extended_code: str = "51021") -> WebError:
    return WebError(400, "BadRequest", message, extended_code=extended_code)


def conflict(message: str, extended_code: str = "", template: str = "",
             parameters: tuple[str, ...] = ()) -> WebError:
    return WebError(409, "Conflict", message, extended_code=extended_code, template=template,
                    parameters=parameters)


def not_found(message: str) -> WebError:
    return WebError(404, "NotFound", message, extended_code="51004")
