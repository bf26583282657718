"""The OAuth 2.0 token endpoint (``https://oauth2.googleapis.com/token``) the fake's default
credentials refresh against: it answers refresh-token and JWT-bearer grants with an access
token the Compute app then accepts."""

from __future__ import annotations

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .._kernel import EmulatorApp, HttpError, IdFactory, json_response

#: The OAuth client the fake's credentials file names (not a secret; nothing real).
CLIENT_ID = "764086051850-unicompute-fake.apps.googleusercontent.com"
CLIENT_SECRET = "unicompute-fake-client-secret"
REFRESH_TOKEN = "unicompute-fake-refresh-token"
SCOPE = "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/compute"
_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class TokenApp(EmulatorApp):
    """``POST /token``; issued tokens are added to the shared ``tokens`` set."""

    url_map = Map([Rule("/token", methods=["POST"], endpoint="token")])

    def __init__(self, tokens: set[str], *, ids: IdFactory | None = None) -> None:
        super().__init__(ids=ids)
        self.tokens = tokens

    def error_response(self, error: HttpError) -> Response:
        return json_response({"error": error.code, "error_description": error.message},
                             error.status)

    def token(self, request: Request) -> Response:
        form = request.form
        grant = form.get("grant_type")
        if grant == "refresh_token":
            if (form.get("client_id"), form.get("client_secret"), form.get("refresh_token")) \
                    != (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN):
                raise HttpError(400, "invalid_grant", "Bad Request")
        elif grant == _JWT_BEARER:
            if not form.get("assertion"):
                raise HttpError(400, "invalid_request", "Missing required parameter: assertion")
        else:
            raise HttpError(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
        access = f"ya29.fake-{self.ids.hex(32)}"
        self.tokens.add(access)
        return json_response({"access_token": access, "expires_in": 3599, "scope": SCOPE,
                              "token_type": "Bearer"})
