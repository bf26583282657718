"""The Microsoft Entra ID (AAD) endpoints msal calls for a client-secret sign-in.

``ClientSecretCredential`` (what ``DefaultAzureCredential`` picks from the fake's environment)
asks msal for a token; msal reads the tenant's OpenID configuration (and, for hosts it does not
know, the instance-discovery document) and then posts a ``client_credentials`` grant to the
token endpoint. Only the fake's tenant and client exist; anything else is refused the way AAD
refuses it (``invalid_tenant``, ``invalid_client``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .._kernel import EmulatorApp, HttpError, json_response
from ._ids import CLIENT_ID, CLIENT_SECRET, TENANT_ID

#: Lifetime of issued tokens, in seconds (AAD's usual).
TOKEN_LIFETIME = 3599


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class AadApp(EmulatorApp):
    """``login.microsoftonline.com`` for the fake tenant: discovery and the token endpoint.

    :attr:`tokens_issued` counts successful token requests (tests assert the credential chain
    really signed in). Endpoint names: ``discovery``, ``openid_configuration``, ``token``.
    """

    url_map = Map([
        Rule("/common/discovery/instance", methods=["GET"], endpoint="discovery"),
        Rule("/<tenant>/v2.0/.well-known/openid-configuration", methods=["GET"],
             endpoint="openid_configuration"),
        Rule("/<tenant>/oauth2/v2.0/token", methods=["POST"], endpoint="token"),
    ])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tokens_issued = 0

    def error_response(self, error: HttpError) -> Response:
        return json_response({"error": error.code, "error_description": error.message,
                              "error_codes": [], "timestamp": self.clock.iso()},
                             status=error.status)

    @staticmethod
    def _known(tenant: str) -> None:
        if tenant.lower() not in (TENANT_ID, "organizations", "common"):
            raise HttpError(400, "invalid_tenant",
                            f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you "
                            "have the correct tenant ID and are signing into the correct cloud.")

    def discovery(self, request: Request) -> Response:
        host = request.host_url.rstrip("/")
        return json_response({
            "tenant_discovery_endpoint":
                f"{host}/{TENANT_ID}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": "login.microsoftonline.com",
                          "preferred_cache": "login.windows.net",
                          "aliases": ["login.microsoftonline.com", "login.windows.net",
                                      "login.microsoft.com", "sts.windows.net"]}]})

    def openid_configuration(self, request: Request, tenant: str) -> Response:
        self._known(tenant)
        host = request.host_url.rstrip("/")
        return json_response({
            "token_endpoint": f"{host}/{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "jwks_uri": f"{host}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{host}/{tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{host}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{host}/{tenant}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{host}/{tenant}/oauth2/v2.0/logout",
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com"})

    def token(self, request: Request, tenant: str) -> Response:
        self._known(tenant)
        form = request.form
        if form.get("grant_type") != "client_credentials":
            raise HttpError(400, "unsupported_grant_type",
                            "AADSTS70003: The app requested an unsupported grant type.")
        if form.get("client_id") != CLIENT_ID:
            raise HttpError(400, "unauthorized_client",
                            f"AADSTS700016: Application with identifier "
                            f"'{form.get('client_id')}' was not found in the directory.")
        if form.get("client_secret") != CLIENT_SECRET and not form.get("client_assertion"):
            raise HttpError(401, "invalid_client",
                            "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                            "being sent in the request is the client secret value, not the "
                            "client secret ID.")
        scope = form.get("scope", "")
        now = int(self.clock.start.timestamp() + self.clock.time())
        claims = {"aud": scope.split(" ")[0].removesuffix("/.default"),
                  "iss": f"https://sts.windows.net/{TENANT_ID}/", "tid": TENANT_ID,
                  "appid": CLIENT_ID, "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME,
                  "unicompute": "fake"}
        token = f"{_b64({'typ': 'JWT', 'alg': 'none'})}.{_b64(claims)}.fake"
        self.tokens_issued += 1
        return json_response({"token_type": "Bearer", "expires_in": TOKEN_LIFETIME,
                              "ext_expires_in": TOKEN_LIFETIME, "access_token": token})
