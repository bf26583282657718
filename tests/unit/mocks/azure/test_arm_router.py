"""The ARM fake's shape router answers exactly as werkzeug's Map for every rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.test import EnvironBuilder

from unicompute.mocks.azure import AzureFake


def _outcome(call: Callable[..., Any], *args: Any) -> Any:
    try:
        return call(*args)
    except NotFound:
        return 404
    except MethodNotAllowed:
        return 405


def test_router_agrees_with_werkzeug_on_every_rule_and_near_miss() -> None:
    app = AzureFake().app
    seen = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<([a-z_]+)>", lambda m: f"N-{m.group(1)}", rule.rule)
        for candidate in (path, f"{path}/", f"{path}/extra", path.rsplit("/", 1)[0] + "/x"):
            for method in ("GET", "PUT", "DELETE", "POST", "PATCH", "HEAD"):
                environ = EnvironBuilder(path=candidate, method=method).get_environ()
                expected = _outcome(app.url_map.bind_to_environ(environ).match)
                assert _outcome(app.router.match, method, candidate) == expected, (
                    method, candidate)
                seen.add(expected if isinstance(expected, int) else 200)
    assert seen == {200, 404, 405}
