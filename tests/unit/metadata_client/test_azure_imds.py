"""The Azure client against a small IMDS stand-in that refuses what IMDS refuses."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from unicompute import metadata

VM_ID = ("/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Compute/"
         "virtualMachines/web-1")

INSTANCE: dict[str, Any] = {
    "compute": {
        "azEnvironment": "AzurePublicCloud", "location": "westeurope", "name": "web-1",
        "offer": "ubuntu-24_04-lts", "osType": "Linux", "publisher": "Canonical",
        "resourceGroupName": "rg", "resourceId": VM_ID, "sku": "server",
        "storageProfile": {"imageReference": {"id": "", "offer": "ubuntu-24_04-lts",
                                              "publisher": "Canonical", "sku": "server",
                                              "version": "latest"}},
        "subscriptionId": "0000", "tags": "app:web;unicompute:launch:l1",
        "tagsList": [{"name": "app", "value": "web"},
                     {"name": "unicompute:launch", "value": "l1"},
                     {"name": "unicompute:managed", "value": "true"}],
        "version": "24.04.202411030", "vmId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
        "vmSize": "Standard_B1s", "zone": "2", "priority": "Spot",
        "evictionPolicy": "Deallocate",
    },
    "network": {"interface": [{"ipv4": {"ipAddress": [
        {"privateIpAddress": "10.0.0.4", "publicIpAddress": "20.1.2.3"}]},
        "macAddress": "000D3AF806EC"}]},
}


def imds(instance: dict[str, Any], *, user_data: bytes = b"", events: list[Any] | None = None,
         events_status: int = 200) -> Callable[[Request], Response]:
    """IMDS: 400 without ``Metadata: true``, without api-version or with X-Forwarded-For."""

    def handler(request: Request) -> Response:
        if request.headers.get("Metadata") != "true" or "X-Forwarded-For" in request.headers:
            return Response(json.dumps({"error": "Bad request. Required metadata header not "
                                        "specified"}), status=400)
        if "api-version" not in request.args:
            return Response(json.dumps({"error": "Bad request. api-version was not "
                                        "specified in the request"}), status=400)
        if request.path == "/metadata/instance":
            return Response(json.dumps(instance), content_type="application/json")
        if request.path == "/metadata/instance/compute/userData":
            assert request.args.get("format") == "text"
            return Response(base64.b64encode(user_data), content_type="text/plain")
        if request.path == "/metadata/scheduledevents":
            return Response(json.dumps({"DocumentIncarnation": 1, "Events": events or []}),
                            status=events_status, content_type="application/json")
        return Response(status=404)

    return handler


def test_identity(serve, on_cloud) -> None:
    on_cloud("azure", serve(imds(INSTANCE, user_data=b"#!/bin/sh\necho hi\n")).url)
    me = metadata.current()
    assert me == metadata.InstanceIdentity(
        provider="azure", instance_id=VM_ID, native_id="02aab8a4-74ef-476e-8182-f6d2ba4166a6",
        name="web-1", region="westeurope", zone="2", size="Standard_B1s",
        image="Canonical:ubuntu-24_04-lts:server:24.04.202411030", private_ip="10.0.0.4",
        public_ip="20.1.2.3", tags={"app": "web", "unicompute:managed": "true"}, spot=True,
        user_data=b"#!/bin/sh\necho hi\n")


def test_minimal_document(serve, on_cloud) -> None:
    compute = {k: INSTANCE["compute"][k] for k in
               ("location", "name", "resourceGroupName", "subscriptionId", "vmSize")}
    on_cloud("azure", serve(imds({"compute": compute})).url)
    me = metadata.current()
    assert me is not None
    assert (me.instance_id, me.zone, me.private_ip, me.tags, me.spot, me.user_data,
            me.image) == (VM_ID, None, None, {}, False, None, "")


def test_document_without_vm_size_is_a_metadata_error(serve, on_cloud) -> None:
    compute = {k: v for k, v in INSTANCE["compute"].items() if k != "vmSize"}
    on_cloud("azure", serve(imds({**INSTANCE, "compute": compute})).url)
    with pytest.raises(metadata.MetadataError, match="vmSize") as caught:
        metadata.current()
    assert (caught.value.provider, caught.value.resource) == ("azure", "/metadata/instance")


def test_an_answer_that_is_not_imds_means_not_azure(serve, on_cloud) -> None:
    on_cloud("azure", serve(lambda request: Response("<html>hello</html>")).url)
    assert metadata.current() is None


def _event(**changes: Any) -> dict[str, Any]:
    return {"EventId": "602d9444-d2cd-49c7-8624-8643e7171297", "EventType": "Preempt",
            "ResourceType": "VirtualMachine", "Resources": ["web-1"],
            "EventStatus": "Scheduled", "NotBefore": "Thu, 26 Nov 2026 10:00:30 GMT",
            "Description": "", "EventSource": "Platform", "DurationInSeconds": -1,
            **changes}


def test_preempt_event_for_this_vm(serve, on_cloud) -> None:
    events = [_event(EventType="Freeze"), _event(Resources=["other"]), _event()]
    on_cloud("azure", serve(imds(INSTANCE, events=events)).url)
    notice = metadata.interruption_notice()
    assert notice is not None
    assert (notice.provider, notice.action, notice.not_before.isoformat()) == (
        "azure", "stop", "2026-11-26T10:00:30+00:00")
    assert notice.raw["EventId"] == "602d9444-d2cd-49c7-8624-8643e7171297"


def test_delete_eviction_policy_means_terminate(serve, on_cloud) -> None:
    compute = {**INSTANCE["compute"], "evictionPolicy": "Delete"}
    on_cloud("azure", serve(imds({**INSTANCE, "compute": compute},
                                 events=[_event(EventStatus="Started", NotBefore="")])).url)
    notice = metadata.interruption_notice()
    assert notice is not None and (notice.action, notice.not_before) == ("terminate", None)


def test_no_events_is_none(serve, on_cloud) -> None:
    on_cloud("azure", serve(imds(INSTANCE, events=[_event(Resources=["other"])])).url)
    assert metadata.interruption_notice() is None


def test_events_error_is_a_metadata_error(serve, on_cloud) -> None:
    on_cloud("azure", serve(imds(INSTANCE, events_status=500)).url)
    with pytest.raises(metadata.MetadataError) as caught:
        metadata.interruption_notice()
    assert (caught.value.status, caught.value.resource) == (500, "/metadata/scheduledevents")


def test_requests_carry_metadata_header_and_api_version(serve, on_cloud) -> None:
    served = serve(imds(INSTANCE, user_data=b"x"))
    on_cloud("azure", served.url)
    metadata.current()
    metadata.interruption_notice()
    assert len(served.seen) == 4
    for request in served.seen:
        assert request.headers["Metadata"] == "true" and request.args["api-version"]
