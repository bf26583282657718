"""Read-only collections: zones, regions, machine types, public images."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import json_response
from . import _catalog
from ._base import ComputeBase, dict_entries
from ._errors import not_found
from ._format import stable_id
from ._links import link
from ._table import Resource

_P = "/compute/v1/projects/<project>"

RULES = [
    Rule(f"{_P}/zones", methods=["GET"], endpoint="zones_list"),
    Rule(f"{_P}/zones/<zone>", methods=["GET"], endpoint="zones_get"),
    Rule(f"{_P}/regions", methods=["GET"], endpoint="regions_list"),
    Rule(f"{_P}/regions/<region>", methods=["GET"], endpoint="regions_get"),
    Rule(f"{_P}/zones/<zone>/machineTypes", methods=["GET"], endpoint="machine_types_list"),
    Rule(f"{_P}/zones/<zone>/machineTypes/<machine_type>", methods=["GET"],
         endpoint="machine_types_get"),
    Rule(f"{_P}/aggregated/machineTypes", methods=["GET"],
         endpoint="machine_types_aggregated_list"),
    Rule(f"{_P}/global/images", methods=["GET"], endpoint="images_list"),
    Rule(f"{_P}/global/images/<image>", methods=["GET"], endpoint="images_get"),
    Rule(f"{_P}/global/images/family/<family>", methods=["GET"],
         endpoint="images_get_from_family"),
]


class CatalogApi(ComputeBase):
    """Handlers for the catalog collections (nothing here changes state)."""

    def _zone(self, project: str, zone: str) -> Resource:
        region = _catalog.zone_regions()[zone]
        return {
            "kind": "compute#zone", "id": stable_id("zone", zone),
            "creationTimestamp": _catalog.catalog_time(), "name": zone, "description": zone,
            "status": "UP", "region": link(f"projects/{project}/regions/{region}"),
            "selfLink": link(f"projects/{project}/zones/{zone}"),
            "availableCpuPlatforms": list(_catalog.cpu_platforms()), "supportsPzs": False,
        }

    def _region(self, project: str, region: str) -> Resource:
        entry = _catalog.regions()[region]
        state = self.project(project)
        cpus = instances = 0
        for zone in entry["zones"]:
            table = state.instances.get(zone)
            for instance in table.values() if table is not None else ():
                instances += 1
                if instance["status"] != "TERMINATED":
                    machine = instance["machineType"].rsplit("/", 1)[-1]
                    cpus += _catalog.machine_types(zone)[machine]["guestCpus"]
        return {
            "kind": "compute#region", "id": stable_id("region", region),
            "creationTimestamp": _catalog.catalog_time(), "name": region,
            "description": region, "status": "UP",
            "zones": [link(f"projects/{project}/zones/{z}") for z in entry["zones"]],
            "quotas": [{"metric": "CPUS", "limit": 24.0, "usage": float(cpus)},
                       {"metric": "INSTANCES", "limit": 6000.0, "usage": float(instances)}],
            "selfLink": link(f"projects/{project}/regions/{region}"), "supportsPzs": False,
        }

    def zones_list(self, request: Request, project: str) -> Response:
        zones = {z: self._zone(project, z) for z in _catalog.zone_regions()}
        return self.list_response(request, kind="compute#zoneList", fields="zone",
                                  scope_path=f"projects/{project}/zones",
                                  entries=lambda order, after: _entries(zones, order, after))

    def zones_get(self, request: Request, project: str, zone: str) -> Response:
        self.check_zone(project, zone)
        return json_response(self._zone(project, zone))

    def regions_list(self, request: Request, project: str) -> Response:
        regions = {r: self._region(project, r) for r in _catalog.regions()}
        return self.list_response(request, kind="compute#regionList", fields="region",
                                  scope_path=f"projects/{project}/regions",
                                  entries=lambda order, after: _entries(regions, order, after))

    def regions_get(self, request: Request, project: str, region: str) -> Response:
        self.check_region(project, region)
        return json_response(self._region(project, region))

    def _machine_type_renderer(self, project: str, zone: str,
                               ) -> Callable[[Resource], Resource]:
        prefix = link(f"projects/{project}/zones/{zone}/machineTypes/")

        def render(machine: Resource) -> Resource:
            return {**machine, "selfLink": prefix + machine["name"]}

        return render

    def machine_types_list(self, request: Request, project: str, zone: str) -> Response:
        self.check_zone(project, zone)
        types = _catalog.machine_types(zone)
        return self.list_response(request, kind="compute#machineTypeList", fields="machineType",
                                  scope_path=f"projects/{project}/zones/{zone}/machineTypes",
                                  entries=lambda order, after: _entries(types, order, after),
                                  render=self._machine_type_renderer(project, zone))

    def machine_types_get(self, request: Request, project: str, zone: str, machine_type: str,
                          ) -> Response:
        self.check_zone(project, zone)
        found = _catalog.machine_types(zone).get(machine_type)
        if found is None:
            raise not_found(f"projects/{project}/zones/{zone}/machineTypes/{machine_type}")
        return json_response(self._machine_type_renderer(project, zone)(found))

    def machine_types_aggregated_list(self, request: Request, project: str) -> Response:
        limit, order, where, after = self.list_params(request, "machineType")
        del limit, order, where, after  # checked here; applied by aggregated_response
        scopes = [(f"zones/{zone}", _catalog.machine_types(zone))
                  for zone in _catalog.zone_regions()]
        project_prefix = link(f"projects/{project}/zones/")

        def render(machine: Resource) -> Resource:
            return {**machine, "selfLink":
                    f"{project_prefix}{machine['zone']}/machineTypes/{machine['name']}"}

        return self.aggregated_response(request, kind="compute#machineTypeAggregatedList",
                                        project=project, key="machineTypes",
                                        fields="machineType", scopes=scopes, render=render)

    def images_list(self, request: Request, project: str) -> Response:
        images = _catalog.images().get(project, {})
        return self.list_response(request, kind="compute#imageList", fields="image",
                                  scope_path=f"projects/{project}/global/images",
                                  entries=lambda order, after: _entries(images, order, after))

    def images_get(self, request: Request, project: str, image: str) -> Response:
        found = _catalog.images().get(project, {}).get(image)
        if found is None:
            raise not_found(f"projects/{project}/global/images/{image}")
        return json_response(found)

    def images_get_from_family(self, request: Request, project: str, family: str) -> Response:
        found = _catalog.image_from_family(project, family)
        if found is None:
            raise not_found(f"projects/{project}/global/images/family/{family}")
        return json_response(found)


def _entries(items: dict[str, Resource], order: str, after: Any,
             ) -> Iterator[tuple[Any, Resource]]:
    return dict_entries(items, order, after)
