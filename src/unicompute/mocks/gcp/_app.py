"""The Compute Engine v1 REST emulator: every handler module joined into one WSGI app."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from werkzeug.routing import Map

from . import _catalog_api, _disks, _instances, _networks, _operations, _projects
from ._catalog_api import CatalogApi
from ._instances import InstancesApi
from ._operations import OperationsApi
from ._projects import ProjectsApi
from ._router import Router
from ._serial import RULES as SERIAL_RULES
from ._serial import SerialPortApi

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: Top-level JSON fields of each resource kind (the Compute v1 schema), for list filters.
_FIELDS = {
    "instance": "advancedMachineFeatures canIpForward confidentialInstanceConfig cpuPlatform "
                "creationTimestamp deletionProtection description disks displayDevice "
                "fingerprint guestAccelerators hostname id instanceEncryptionKey "
                "keyRevocationActionType kind labelFingerprint labels lastStartTimestamp "
                "lastStopTimestamp lastSuspendedTimestamp machineType metadata minCpuPlatform "
                "name networkInterfaces networkPerformanceConfig params "
                "privateIpv6GoogleAccess reservationAffinity resourcePolicies resourceStatus "
                "satisfiesPzi satisfiesPzs scheduling selfLink serviceAccounts "
                "shieldedInstanceConfig shieldedInstanceIntegrityPolicy sourceMachineImage "
                "startRestricted status statusMessage tags workloadIdentityConfig zone",
    "disk": "architecture creationTimestamp description guestOsFeatures id kind "
            "labelFingerprint labels lastAttachTimestamp lastDetachTimestamp licenses name "
            "physicalBlockSizeBytes selfLink sizeGb sourceDisk sourceImage sourceImageId "
            "sourceSnapshot sourceSnapshotId status type users zone",
    "snapshot": "architecture creationTimestamp description diskSizeGb guestOsFeatures id kind "
                "labelFingerprint labels licenses name selfLink snapshotType sourceDisk "
                "sourceDiskId status storageBytes storageBytesStatus storageLocations",
    "network": "autoCreateSubnetworks creationTimestamp description id kind mtu name "
               "routingConfig selfLink selfLinkWithId subnetworks",
    "subnetwork": "creationTimestamp description fingerprint gatewayAddress id ipCidrRange kind "
                  "name network privateIpGoogleAccess purpose region selfLink stackType",
    "firewall": "allowed creationTimestamp denied description destinationRanges direction "
                "disabled id kind logConfig name network priority selfLink sourceRanges "
                "sourceServiceAccounts sourceTags targetServiceAccounts targetTags",
    "operation": "clientOperationId creationTimestamp description endTime error "
                 "httpErrorMessage httpErrorStatusCode id insertTime kind name operationType "
                 "progress region selfLink startTime status statusMessage targetId targetLink "
                 "user warnings zone",
    "zone": "availableCpuPlatforms creationTimestamp deprecated description id kind name "
            "region selfLink status supportsPzs",
    "region": "creationTimestamp deprecated description id kind name quotas selfLink status "
              "supportsPzs zones",
    "machineType": "accelerators architecture creationTimestamp deprecated description "
                   "guestCpus id imageSpaceGb isSharedCpu kind maximumPersistentDisks "
                   "maximumPersistentDisksSizeGb memoryMb name selfLink zone",
    "image": "architecture archiveSizeBytes creationTimestamp deprecated description diskSizeGb "
             "family guestOsFeatures id kind labelFingerprint labels licenses name rawDisk "
             "selfLink sourceType status storageLocations",
}


class ComputeApp(InstancesApi, CatalogApi, OperationsApi, ProjectsApi, SerialPortApi):
    """Compute Engine v1 at ``/compute/v1/projects/...``.

    Handler (and fault) names are the rule endpoints: ``instances_insert``, ``instances_get``,
    ``instances_list``, ``instances_aggregated_list``, ``instances_delete``,
    ``instances_start|stop|reset``, ``instances_set_labels|set_metadata|set_machine_type``,
    ``instances_attach_disk|detach_disk``, ``disks_*``, ``snapshots_*``, ``networks_*``,
    ``subnetworks_*``, ``firewalls_*`` (``insert get list patch delete``), ``zones_*``,
    ``regions_*``, ``machine_types_*``, ``images_*``, ``{zone,region,global}_operations_*``,
    ``projects_get`` and ``projects_set_common_instance_metadata``.
    """

    FIELDS: ClassVar[Mapping[str, frozenset[str]]] = {
        kind: frozenset(names.split()) for kind, names in _FIELDS.items()}
    url_map = Map(_instances.RULES + _disks.RULES + _networks.RULES + _catalog_api.RULES
                  + _operations.RULES + _projects.RULES + SERIAL_RULES, strict_slashes=False)
    _router = Router(url_map.iter_rules())

    def match(self, environ: WSGIEnvironment) -> tuple[str, Mapping[str, Any]]:
        return self._router.match(environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"))
