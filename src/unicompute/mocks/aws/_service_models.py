"""What the AWS fake's faults read from botocore's service models: each service's protocol,
XML namespace, HTTP status per error code and REST routes (read once per service)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class ServiceModel:
    """What the faults need of a botocore service model."""

    protocol: str
    xml_namespace: str
    statuses: Mapping[str, int]  #: HTTP status per error code
    routes: tuple[tuple[str, re.Pattern[str], frozenset[str], str], ...]

    def operation(self, method: str, path: str, query: str) -> str | None:
        """The operation whose HTTP method and request URI match (REST protocols)."""
        keys = {key for key, _ in parse_qsl(query, keep_blank_values=True)}
        for route_method, route, needed, name in self.routes:
            if route_method == method and route.fullmatch(path) and needed <= keys:
                return name
        return None


@functools.cache
def service_model(service: str) -> ServiceModel | None:
    """The protocol and REST routes of the service signing as ``service`` (botocore's model of
    the same name), read once; ``None`` if botocore has none."""
    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import create_loader

    try:
        model = create_loader().load_service_model(service, "service-2")
    except DataNotFoundError:
        return None
    routes = []
    for name, spec in model["operations"].items():
        http = spec.get("http", {})
        uri, _, uri_query = str(http.get("requestUri", "/")).partition("?")
        pieces = re.split(r"(\{[^}]+\})", uri)
        regex = "".join(
            (".+" if piece.endswith("+}") else "[^/]+") if piece.startswith("{")
            else re.escape(piece) for piece in pieces)
        needed = frozenset(key for key, _ in parse_qsl(uri_query, keep_blank_values=True)
                           if "{" not in key)
        literal = len(re.sub(r"\{[^}]+\}", "", uri)) + len(needed)
        routes.append((literal, str(http.get("method", "POST")), re.compile(regex + "/?"),
                       needed, str(name)))
    routes.sort(key=lambda route: -route[0])  # the most specific URI first
    statuses = {
        str(shape["error"].get("code", name)): int(shape["error"]["httpStatusCode"])
        for name, shape in model["shapes"].items()
        if "httpStatusCode" in shape.get("error", {})
    }
    metadata = model.get("metadata", {})
    return ServiceModel(str(metadata.get("protocol", "")), str(metadata.get("xmlNamespace", "")),
                        statuses, tuple(route[1:] for route in routes))
