"""Zone, region and global operations: get, wait, list, delete.

``get`` counts as one poll: in stepped mode an operation finishes on its
``polls_to_finish``-th poll or once the fake clock has moved ``step_seconds`` past its start.
``wait`` blocks on GCE until the operation is ``DONE`` or two minutes have passed; here it
counts as a poll and also finishes an operation due within that window of fake time (see
:mod:`._lro`), so an operation due later still comes back ``RUNNING`` and callers loop.
"""

from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import json_response
from ._base import ComputeBase
from ._errors import not_found

_P = "/compute/v1/projects/<project>"

RULES = [
    Rule(f"{_P}/zones/<zone>/operations", methods=["GET"], endpoint="zone_operations_list"),
    Rule(f"{_P}/zones/<zone>/operations/<operation>", methods=["GET"],
         endpoint="zone_operations_get"),
    Rule(f"{_P}/zones/<zone>/operations/<operation>", methods=["DELETE"],
         endpoint="zone_operations_delete"),
    Rule(f"{_P}/zones/<zone>/operations/<operation>/wait", methods=["POST"],
         endpoint="zone_operations_wait"),
    Rule(f"{_P}/regions/<region>/operations", methods=["GET"],
         endpoint="region_operations_list"),
    Rule(f"{_P}/regions/<region>/operations/<operation>", methods=["GET"],
         endpoint="region_operations_get"),
    Rule(f"{_P}/regions/<region>/operations/<operation>", methods=["DELETE"],
         endpoint="region_operations_delete"),
    Rule(f"{_P}/regions/<region>/operations/<operation>/wait", methods=["POST"],
         endpoint="region_operations_wait"),
    Rule(f"{_P}/global/operations", methods=["GET"], endpoint="global_operations_list"),
    Rule(f"{_P}/global/operations/<operation>", methods=["GET"],
         endpoint="global_operations_get"),
    Rule(f"{_P}/global/operations/<operation>", methods=["DELETE"],
         endpoint="global_operations_delete"),
    Rule(f"{_P}/global/operations/<operation>/wait", methods=["POST"],
         endpoint="global_operations_wait"),
]


class OperationsApi(ComputeBase):
    """Handlers for the three operation collections."""

    def _list(self, request: Request, project: str, scope: str) -> Response:
        state = self.project(project)
        return self.list_response(request, kind="compute#operationList", fields="operation",
                                  scope_path=f"projects/{project}/{scope}/operations",
                                  entries=state.zone_table(state.operations, scope).ordered)

    def _delete(self, project: str, scope: str, operation: str) -> Response:
        state = self.project(project)
        path = f"projects/{project}/{scope}/operations/{operation}"
        self.operations.forget(path)
        if state.zone_table(state.operations, scope).remove(operation) is None:
            raise not_found(path)
        return json_response({})

    def zone_operations_list(self, request: Request, project: str, zone: str) -> Response:
        self.check_zone(project, zone)
        return self._list(request, project, f"zones/{zone}")

    def zone_operations_get(self, request: Request, project: str, zone: str, operation: str,
                            ) -> Response:
        self.check_zone(project, zone)
        return json_response(self.poll_operation(project, f"zones/{zone}", operation))

    def zone_operations_wait(self, request: Request, project: str, zone: str, operation: str,
                             ) -> Response:
        self.check_zone(project, zone)
        return json_response(self.poll_operation(project, f"zones/{zone}", operation,
                                                 wait=True))

    def zone_operations_delete(self, request: Request, project: str, zone: str,
                               operation: str) -> Response:
        self.check_zone(project, zone)
        return self._delete(project, f"zones/{zone}", operation)

    def region_operations_list(self, request: Request, project: str, region: str,
                               ) -> Response:
        self.check_region(project, region)
        return self._list(request, project, f"regions/{region}")

    def region_operations_get(self, request: Request, project: str, region: str,
                              operation: str) -> Response:
        self.check_region(project, region)
        return json_response(self.poll_operation(project, f"regions/{region}", operation))

    def region_operations_wait(self, request: Request, project: str, region: str,
                               operation: str) -> Response:
        self.check_region(project, region)
        return json_response(self.poll_operation(project, f"regions/{region}", operation,
                                                 wait=True))

    def region_operations_delete(self, request: Request, project: str, region: str,
                                 operation: str) -> Response:
        self.check_region(project, region)
        return self._delete(project, f"regions/{region}", operation)

    def global_operations_list(self, request: Request, project: str) -> Response:
        return self._list(request, project, "global")

    def global_operations_get(self, request: Request, project: str, operation: str,
                              ) -> Response:
        return json_response(self.poll_operation(project, "global", operation))

    def global_operations_wait(self, request: Request, project: str, operation: str,
                               ) -> Response:
        return json_response(self.poll_operation(project, "global", operation, wait=True))

    def global_operations_delete(self, request: Request, project: str, operation: str,
                                 ) -> Response:
        return self._delete(project, "global", operation)
