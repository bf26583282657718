"""The project resource: ``projects.get`` and ``projects.setCommonInstanceMetadata``.

Project-wide (common instance) metadata follows the rules of instance metadata: the same key
and size checks, a fingerprint that changes with the items, and a 412 ``conditionNotMet`` for a
stale or missing fingerprint. The update is a global operation targeting the project.
"""

from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import json_response
from ._base import ComputeBase, fingerprint
from ._errors import condition_not_met
from ._links import link
from ._table import Resource
from ._validate import check_metadata_items

_P = "/compute/v1/projects/<project>"

RULES = [
    Rule(_P, methods=["GET"], endpoint="projects_get"),
    Rule(f"{_P}/setCommonInstanceMetadata", methods=["POST"],
         endpoint="projects_set_common_instance_metadata"),
]

STALE_FINGERPRINT = "Supplied fingerprint does not match current metadata fingerprint."


def metadata_block(items: list[dict[str, str]]) -> Resource:
    """A ``compute#metadata`` resource holding ``items`` (no ``items`` key when empty)."""
    block: Resource = {"kind": "compute#metadata", "fingerprint": fingerprint(items)}
    if items:
        block["items"] = items
    return block


class ProjectsApi(ComputeBase):
    """Handlers for the project resource itself."""

    def _project_resource(self, project: str) -> Resource:
        state = self.project(project)
        return {
            "kind": "compute#project", "id": state.number,
            "creationTimestamp": state.created, "name": project,
            "commonInstanceMetadata": state.common_metadata,
            "selfLink": link(f"projects/{project}"),
            "defaultServiceAccount": f"{state.number}-compute@developer.gserviceaccount.com",
            "xpnProjectStatus": "UNSPECIFIED_XPN_PROJECT_STATUS",
            "defaultNetworkTier": "PREMIUM", "vmDnsSetting": "ZONAL_ONLY",
        }

    def projects_get(self, request: Request, project: str) -> Response:
        return json_response(self._project_resource(project))

    def projects_set_common_instance_metadata(self, request: Request, project: str,
                                              ) -> Response:
        state = self.writable(project, "", "compute.projects.setCommonInstanceMetadata")
        body = self.json_body(request)
        if body.get("fingerprint") != state.common_metadata["fingerprint"]:
            raise condition_not_met(STALE_FINGERPRINT)
        items = check_metadata_items(body.get("items"), "resource")
        before = state.common_metadata
        state.common_metadata = metadata_block(items)

        def undo() -> None:
            state.common_metadata = before

        return self.start_operation(project, "global", "setCommonInstanceMetadata",
                                    f"projects/{project}", state.number,
                                    "projects_set_common_instance_metadata", undo=undo)
