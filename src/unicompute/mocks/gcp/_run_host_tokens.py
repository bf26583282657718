"""Google-signed ID tokens, as far as the fake needs them: the token endpoint adds an
``id_token`` to refresh-token answers (as Google does for user credentials with the ``openid``
scope, which google-auth keeps as ``credentials.id_token``) and answers a service account's
JWT-bearer grant that asks for a ``target_audience`` with an ``id_token`` only. Function URIs
accept the ID tokens issued here (and Cloud Scheduler's OIDC tokens, minted by :meth:`mint`)
whose audience is the function's URL, as Cloud Run checks ``aud`` (:meth:`IdTokens.accepts`)."""

from __future__ import annotations

import base64
import json
from typing import Any

from werkzeug.wrappers import Request, Response

from .._kernel import HttpError, IdFactory, json_response
from ._token import CLIENT_ID, TokenApp

FAKE_EMAIL = "fake-user@unicompute-fake.iam.gserviceaccount.com"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()) \
        .decode().rstrip("=")


class IdTokens:
    """The ID tokens the fake issued and their audiences (shared by the token endpoint and
    function URIs)."""

    def __init__(self, ids: IdFactory) -> None:
        self.ids = ids
        #: Token → its ``aud`` claim.
        self.issued: dict[str, str] = {}

    def mint(self, audience: str, email: str = FAKE_EMAIL, now: float = 0.0) -> str:
        """A JWT-shaped token for ``audience`` (unsigned: the signature part is random)."""
        issued_at = int(now) or 1767225600
        token = ".".join((
            _b64({"alg": "RS256", "kid": "unicompute-fake", "typ": "JWT"}),
            _b64({"iss": "https://accounts.google.com", "aud": audience, "azp": audience,
                  "sub": self.ids.number(21), "email": email, "email_verified": True,
                  "iat": issued_at, "exp": issued_at + 3600}),
            self.ids.hex(43)))
        self.issued[token] = audience
        return token

    def accepts(self, token: str, urls: tuple[str, ...]) -> bool:
        """Whether Cloud Run takes ``token`` for a service reached at ``urls``: one the fake
        issued whose audience is one of them (a trailing ``/`` aside) or, for a user
        account's token (``gcloud auth print-identity-token``), an OAuth client id."""
        audience = self.issued.get(token)
        if audience is None:
            return False
        if audience.endswith(".apps.googleusercontent.com"):
            return True
        return audience.rstrip("/") in {url.rstrip("/") for url in urls if url}



class IdTokenApp(TokenApp):
    """The fake's ``/token`` endpoint with ID tokens (see the module docstring)."""

    def __init__(self, tokens: set[str], id_tokens: IdTokens, *,
                 ids: IdFactory | None = None) -> None:
        super().__init__(tokens, ids=ids)
        self.id_tokens = id_tokens

    def token(self, request: Request) -> Response:
        form = request.form
        assertion = form.get("assertion", "")
        if form.get("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer" and assertion:
            audience = _claim(assertion, "target_audience")
            if audience:
                email = _claim(assertion, "iss") or FAKE_EMAIL
                return json_response({"id_token": self.id_tokens.mint(audience, email)})
        response = super().token(request)
        if form.get("grant_type") == "refresh_token" and response.status_code == 200:
            body = json.loads(response.get_data())
            body["id_token"] = self.id_tokens.mint(CLIENT_ID)
            return json_response(body)
        return response


def _claim(assertion: str, name: str) -> str | None:
    try:
        payload = assertion.split(".")[1]
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        raise HttpError(400, "invalid_grant", "Invalid JWT Signature.") from None
    found = value.get(name) if isinstance(value, dict) else None
    return str(found) if found else None
