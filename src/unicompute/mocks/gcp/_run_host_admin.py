"""Cloud Run Admin v2, the part 2nd gen functions need: the invoker IAM policy of a function's
service (``run.googleapis.com/v2/projects/{p}/locations/{l}/services/{s}:getIamPolicy`` and
``:setIamPolicy``). ``roles/run.invoker`` granted to ``allUsers`` makes the function's URI
public; the policy starts empty (GCF's default for functions created through the API).
``setIamPolicy`` checks the ``etag`` when one is given (409 ``ABORTED`` when stale)."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .._kernel import FakeClock, Faults, IdFactory, json_response
from ._functions_api import FunctionRecord, FunctionsApp
from ._functions_common import GoogleApi, api_error, bad_request

RUN_URL = "https://run.googleapis.com"
_S = "/v2/projects/<project>/locations/<location>/services/<service>"


def _etag(policy: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(policy.get("bindings", []), sort_keys=True).encode())
    return "Bw" + digest.hexdigest()[:10].upper()


class RunAdminApp(GoogleApi):
    url_map = Map([
        Rule(f"{_S}:getIamPolicy", methods=["GET", "POST"], endpoint="services_get_iam_policy"),
        Rule(f"{_S}:setIamPolicy", methods=["POST"], endpoint="services_set_iam_policy"),
    ], strict_slashes=False)

    def __init__(self, functions: FunctionsApp, *, clock: FakeClock, ids: IdFactory,
                 faults: Faults, tokens: set[str]) -> None:
        super().__init__(clock=clock, ids=ids, faults=faults, tokens=tokens)
        self.functions = functions

    def _record(self, project: str, location: str, service: str) -> FunctionRecord:
        name = f"projects/{project}/locations/{location}/functions/{service}"
        record = self.functions.functions.get(name)
        if record is None:
            raise api_error(404, f"Resource 'projects/{project}/locations/{location}/services/"
                                 f"{service}' was not found")
        return record

    def services_get_iam_policy(self, request: Request, project: str, location: str,
                                service: str) -> Response:
        record = self._record(project, location, service)
        policy = copy.deepcopy(record.policy)
        policy["etag"] = _etag(policy)
        return json_response(policy)

    def services_set_iam_policy(self, request: Request, project: str, location: str,
                                service: str) -> Response:
        record = self._record(project, location, service)
        policy = self.body(request).get("policy")
        if not isinstance(policy, dict):
            raise bad_request("policy is required", "policy")
        etag = policy.get("etag")
        if etag and etag != _etag(record.policy):
            raise api_error(409, "There were concurrent policy changes. Please retry the whole "
                                 "read-modify-write with exponential backoff.",
                            status_name="ABORTED")
        bindings = policy.get("bindings", [])
        if not isinstance(bindings, list) or not all(
                isinstance(b, dict) and isinstance(b.get("role"), str)
                and isinstance(b.get("members"), list) for b in bindings):
            raise bad_request("Invalid policy bindings", "policy.bindings")
        for binding in bindings:
            if not binding["role"].startswith("roles/"):
                raise bad_request(f"Role {binding['role']} is not supported for this "
                                  "resource.", "policy.bindings.role")
        record.policy = {"bindings": [b for b in copy.deepcopy(bindings) if b["members"]]}
        if not record.policy["bindings"]:
            record.policy = {}
        answer = copy.deepcopy(record.policy)
        answer["etag"] = _etag(record.policy)
        return json_response(answer)
