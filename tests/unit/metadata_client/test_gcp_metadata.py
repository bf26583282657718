"""The GCP client against a small metadata-server stand-in that refuses what GCE refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from unicompute import metadata

INSTANCE: dict[str, Any] = {
    "attributes": {"startup-script": "#!/bin/sh\necho hi\n",
                   "unicompute-image": "debian-12"},
    "hostname": "web-1.us-central1-a.c.p.internal", "id": 4567890123456789012,
    "image": "projects/debian-cloud/global/images/debian-12-bookworm-v20241112",
    "machineType": "projects/123456/machineTypes/e2-small", "name": "web-1",
    "networkInterfaces": [{"accessConfigs": [{"externalIp": "34.1.2.3", "type": "ONE_TO_ONE_NAT"}],
                           "ip": "10.128.0.2", "network": "projects/123456/networks/unicompute"}],
    "preempted": "FALSE",
    "scheduling": {"automaticRestart": "FALSE", "onHostMaintenance": "TERMINATE",
                   "preemptible": "TRUE"},
    "zone": "projects/123456/zones/us-central1-a",
}


def server(instance: dict[str, Any], *, preempted: str = "FALSE", flavor: bool = True
           ) -> Callable[[Request], Response]:
    """403 without ``Metadata-Flavor: Google``; answers carry it (unless ``flavor`` is off)."""

    def handler(request: Request) -> Response:
        headers = {"Metadata-Flavor": "Google"} if flavor else {}
        if request.headers.get("Metadata-Flavor") != "Google":
            return Response("Missing Metadata-Flavor:Google header.", status=403,
                            headers=headers)
        if request.path == "/computeMetadata/v1/instance/" and request.args.get("recursive"):
            return Response(json.dumps(instance), content_type="application/json",
                            headers=headers)
        if request.path == "/computeMetadata/v1/instance/preempted":
            return Response(preempted, content_type="application/text", headers=headers)
        return Response("not found", status=404, headers=headers)

    return handler


def test_identity(serve, on_cloud) -> None:
    on_cloud("gcp", serve(server(INSTANCE)).url)
    me = metadata.current()
    assert me == metadata.InstanceIdentity(
        provider="gcp", instance_id="us-central1-a/web-1", native_id="4567890123456789012",
        name="web-1", region="us-central1", zone="us-central1-a", size="e2-small",
        image="debian-12", private_ip="10.128.0.2", public_ip="34.1.2.3",
        tags=None, spot=True,
        user_data=b"#!/bin/sh\necho hi\n")


def test_vm_not_launched_by_unicompute(serve, on_cloud) -> None:
    instance = {**INSTANCE, "attributes": {}, "networkInterfaces": [{"ip": "10.0.0.9"}],
                "scheduling": {"preemptible": "FALSE"}}
    on_cloud("gcp", serve(server(instance)).url)
    me = metadata.current()
    assert me is not None
    assert (me.tags, me.user_data, me.public_ip, me.spot, me.image) == (
        None, None, None, False, INSTANCE["image"])


def test_answer_without_metadata_flavor_is_not_gcp(serve, on_cloud) -> None:
    on_cloud("gcp", serve(server(INSTANCE, flavor=False)).url)
    assert metadata.current() is None


def test_document_without_machine_type_is_a_metadata_error(serve, on_cloud) -> None:
    instance = {k: v for k, v in INSTANCE.items() if k != "machineType"}
    on_cloud("gcp", serve(server(instance)).url)
    with pytest.raises(metadata.MetadataError, match="machineType"):
        metadata.current()


def test_delete_termination_action_means_terminate(serve, on_cloud) -> None:
    instance = {**INSTANCE, "scheduling": {"preemptible": "TRUE",
                                           "instanceTerminationAction": "DELETE"}}
    on_cloud("gcp", serve(server(instance, preempted="TRUE")).url)
    notice = metadata.interruption_notice()
    assert notice is not None and notice.action == "terminate"


def test_preempted(serve, on_cloud) -> None:
    on_cloud("gcp", serve(server(INSTANCE, preempted="TRUE")).url)
    notice = metadata.interruption_notice()
    assert notice is not None
    assert (notice.provider, notice.action, notice.not_before) == ("gcp", "stop", None)


def test_not_preempted(serve, on_cloud) -> None:
    on_cloud("gcp", serve(server(INSTANCE)).url)
    assert metadata.interruption_notice() is None


def test_preempted_garbage_is_a_metadata_error(serve, on_cloud) -> None:
    on_cloud("gcp", serve(server(INSTANCE, preempted="MAYBE")).url)
    with pytest.raises(metadata.MetadataError, match="MAYBE"):
        metadata.interruption_notice()


def test_every_request_carries_metadata_flavor(serve, on_cloud) -> None:
    served = serve(server(INSTANCE))
    on_cloud("gcp", served.url)
    metadata.current()
    metadata.interruption_notice()
    assert len(served.seen) == 3  # the probe of each call reads the instance document
    assert all(r.headers["Metadata-Flavor"] == "Google" for r in served.seen)
