"""Azure IMDS and the GCE metadata server inside fake VMs launched through unicompute:
identity as the control plane reports it, the services' refusals, the credentials the SDKs
get, user data that runs once, console output parsed by the SDK models, interruptions.

One mock serves the module (each test launches its own VMs, by a name of its own)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import unicompute as uc
from unicompute.mocks import MockCloud, mock_cloud
from unicompute.mocks.metadata._boot import BootRun

SCRIPT = "#!/bin/sh\necho hello-from-user-data\necho run >> \"$HOME/runs.txt\"\n"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockCloud]:
    with mock_cloud(["azure", "gcp"], run_user_data=True, user_data_timeout=20) as running:
        yield running


def launch(provider: str, name: str, **extra: object) -> uc.VM:
    region = "eastus" if provider == "azure" else "us-central1"
    cloud = uc.connect(provider, region=region)
    size = "Standard_B1s" if provider == "azure" else "e2-small"
    return cloud.vms.launch(uc.VMSpec(name=name, size=size, image="ubuntu-24.04",
                                      tags={"app": "web"}, **extra))  # type: ignore[arg-type]


def boots(mock: MockCloud, vm: uc.VM) -> list[BootRun]:
    return [run for run in mock.boots(vm.provider) if run.vm_id.lower() == vm.id.lower()]


# -- Azure -----------------------------------------------------------------------------------
def imds(endpoint: str, path: str = "/metadata/instance", **params: str) -> requests.Response:
    params.setdefault("api-version", "2021-02-01")
    return requests.get(endpoint + path, params=params, headers={"Metadata": "true"}, timeout=2)


def test_azure_identity_and_refusals(mock: MockCloud) -> None:
    vm = launch("azure", "az-identity")
    with mock.inside(vm) as box:
        body = imds(box.endpoint).json()
        compute = body["compute"]
        assert compute["resourceId"].lower() == vm.id.lower()
        assert compute["vmSize"] == vm.size and compute["name"] == vm.name
        assert {"name": "app", "value": "web"} in compute["tagsList"]
        address = body["network"]["interface"][0]["ipv4"]["ipAddress"][0]
        assert address["privateIpAddress"] == vm.private_ip
        assert imds(box.endpoint, "/metadata/instance/compute/vmSize",
                    format="text").text == vm.size
        assert imds(box.endpoint, "/metadata/instance/compute", format="text").status_code == 400
        no_header = requests.get(box.endpoint + "/metadata/instance",
                                 params={"api-version": "2021-02-01"}, timeout=2)
        assert no_header.status_code == 400 and "metadata header" in no_header.json()["error"]
        missing = requests.get(box.endpoint + "/metadata/instance",
                               headers={"Metadata": "true"}, timeout=2)
        assert missing.status_code == 400 and "newest-versions" in missing.json()
        assert imds(box.endpoint, **{"api-version": "2099-01-01"}).status_code == 400
        forwarded = requests.get(box.endpoint + "/metadata/instance", timeout=2,
                                 params={"api-version": "2021-02-01"},
                                 headers={"Metadata": "true", "X-Forwarded-For": "1.2.3.4"})
        assert forwarded.status_code == 400


def with_identity(mock: MockCloud, vm: uc.VM, identity: dict[str, object]) -> dict[str, object]:
    """Give ``vm`` (launched by unicompute, which assigns no identity) ``identity`` through
    the compute client, as a user would; returns the VM's ``identity`` as ARM reports it."""
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.compute.models import VirtualMachineIdentity

    client = ComputeManagementClient(DefaultAzureCredential(), mock.azure.subscription_id)
    group = vm.id.split("/")[4]
    model = client.virtual_machines.get(group, vm.name)
    model.identity = VirtualMachineIdentity(identity)
    updated = client.virtual_machines.begin_create_or_update(group, vm.name, model).result()
    return dict(updated.identity.as_dict()) if updated.identity else {}


def uami(mock: MockCloud, name: str) -> str:
    return (f"/subscriptions/{mock.azure.subscription_id}/resourceGroups/ids/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}")


def token(endpoint: str, **params: str) -> requests.Response:
    return imds(endpoint, "/metadata/identity/oauth2/token",
                **{"api-version": "2018-02-01", "resource": "https://management.azure.com/",
                   **params})


def test_azure_managed_identity_credential(mock: MockCloud) -> None:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ManagedIdentityCredential

    vm = launch("azure", "az-msi")
    with mock.inside(vm) as box:
        refused = token(box.endpoint)
        with pytest.raises(ClientAuthenticationError):
            ManagedIdentityCredential().get_token("https://management.azure.com/.default")
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_request",
                              "error_description": "Identity not found"}
    identity = with_identity(mock, vm, {"type": "SystemAssigned"})
    with mock.inside(vm) as box:
        got = ManagedIdentityCredential().get_token("https://management.azure.com/.default")
        raw = token(box.endpoint).json()
        by_object = token(box.endpoint, object_id=str(identity["principalId"]))
    assert got.token and got.expires_on > 0
    assert raw["client_id"] and by_object.json()["client_id"] == raw["client_id"]
    assert raw["resource"] == "https://management.azure.com/"
    with_identity(mock, vm, {"type": "None"})
    with mock.inside(vm) as box:
        assert token(box.endpoint).json()["error_description"] == "Identity not found"
    with pytest.raises(uc.InvalidRequest, match="not a spot VM"):
        mock.interrupt(vm)  # Azure evicts Spot VMs only


def test_azure_token_for_a_chosen_user_assigned_identity(mock: MockCloud) -> None:
    from azure.identity import ManagedIdentityCredential

    vm = launch("azure", "az-uami")
    app, ops = uami(mock, "app"), uami(mock, "ops")
    identity = with_identity(mock, vm, {"type": "UserAssigned", "userAssignedIdentities": {
        app: {}, ops: {}}})
    users: dict[str, dict[str, str]] = identity["userAssignedIdentities"]  # type: ignore[assignment]
    with mock.inside(vm) as box:
        several = token(box.endpoint)
        by_client = token(box.endpoint, client_id=users[ops]["clientId"])
        by_object = token(box.endpoint, object_id=users[app]["principalId"])
        by_resource = token(box.endpoint, msi_res_id=ops.lower())
        unknown = token(box.endpoint, client_id="00000000-0000-0000-0000-00000000dead")
        both = token(box.endpoint, client_id=users[ops]["clientId"], msi_res_id=ops)
        sdk = ManagedIdentityCredential(client_id=users[app]["clientId"]).get_token(
            "https://management.azure.com/.default")
        by_sdk_resource = ManagedIdentityCredential(identity_config={"resource_id": ops})
        assert by_sdk_resource.get_token("https://management.azure.com/.default").token
    assert several.status_code == 400 and several.json() == {
        "error": "invalid_request", "error_description": "Multiple user assigned identities "
        "exist, please specify the clientId / resourceId of the identity in the token request"}
    assert by_client.json()["client_id"] == users[ops]["clientId"]
    assert by_object.json()["client_id"] == users[app]["clientId"]
    assert by_resource.json()["client_id"] == users[ops]["clientId"]
    assert unknown.status_code == 400
    assert unknown.json()["error_description"] == "Identity not found"
    assert both.status_code == 400 and sdk.token
    with_identity(mock, vm, {"type": "UserAssigned", "userAssignedIdentities": {app: {}}})
    with mock.inside(vm) as box:
        only = token(box.endpoint)
    assert only.json()["client_id"] == users[app]["clientId"]


def test_azure_user_data_once_console_and_preempt(mock: MockCloud) -> None:
    from azure.core.exceptions import HttpResponseError
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.compute.models import (
        BootDiagnostics,
        DiagnosticsProfile,
        RetrieveBootDiagnosticsDataResult,
    )

    vm = launch("azure", "az-boot", user_data=SCRIPT, spot=True)
    [run] = boots(mock, vm)
    assert "hello-from-user-data" in run.output
    client = ComputeManagementClient(DefaultAzureCredential(), mock.azure.subscription_id)
    group, name = vm.id.split("/")[4], vm.name
    client.virtual_machines.begin_restart(group, name).result()
    client.virtual_machines.begin_deallocate(group, name).result()
    client.virtual_machines.begin_start(group, name).result()
    with open(f"{run.root}/runs.txt", encoding="utf-8") as handle:
        assert handle.read() == "run\n"
    model = client.virtual_machines.get(group, name)
    model.diagnostics_profile = DiagnosticsProfile(boot_diagnostics=BootDiagnostics(
        enabled=False))
    client.virtual_machines.begin_create_or_update(group, name, model).result()
    with pytest.raises(HttpResponseError, match="OperationNotAllowed") as refused:
        client.virtual_machines.retrieve_boot_diagnostics_data(group, name)
    assert refused.value.status_code == 409
    model.diagnostics_profile = DiagnosticsProfile(boot_diagnostics=BootDiagnostics(enabled=True))
    client.virtual_machines.begin_create_or_update(group, name, model).result()
    raw = client.virtual_machines.retrieve_boot_diagnostics_data(
        group, name, sas_uri_expiration_time_in_minutes=5,
        cls=lambda response, _, __: response.http_response.json())
    fields = RetrieveBootDiagnosticsDataResult._attr_to_rest_field.values()  # type: ignore[attr-defined]
    assert set(raw) == {field._rest_name for field in fields}  # strictly: none dropped/unknown
    data = RetrieveBootDiagnosticsDataResult(raw)
    log = requests.get(data.serial_console_log_blob_uri, timeout=2)
    assert log.status_code == 200 and "hello-from-user-data" in log.text
    mock.azure.clock.advance(301)
    assert requests.get(data.serial_console_log_blob_uri, timeout=2).status_code == 403

    interruption = mock.interrupt(vm)
    with mock.inside(vm) as box:
        events_url = box.endpoint + "/metadata/scheduledevents?api-version=2020-07-01"
        scheduled = imds(box.endpoint, "/metadata/scheduledevents",
                         **{"api-version": "2020-07-01"}).json()
        [event] = scheduled["Events"]
        assert event["EventType"] == "Preempt" and event["Resources"] == [name]
        assert requests.post(events_url, data="not json", headers={"Metadata": "true"},
                             timeout=2).status_code == 400
        assert requests.post(events_url, json={"StartRequests": [{"EventId": event[
            "EventId"]}]}, headers={"Metadata": "true"}, timeout=2).status_code == 200
        started = imds(box.endpoint, "/metadata/scheduledevents",
                       **{"api-version": "2020-07-01"}).json()
        assert started["Events"][0]["EventStatus"] == "Started"
        assert started["DocumentIncarnation"] > scheduled["DocumentIncarnation"]
    mock.azure.clock.advance(30)
    assert interruption.done
    view = client.virtual_machines.instance_view(group, name)
    assert any(s.code == "PowerState/deallocated" for s in view.statuses)
    # started again, it is no longer being preempted; the incarnation only grows
    client.virtual_machines.begin_start(group, name).result()
    with mock.inside(vm) as box:
        after = imds(box.endpoint, "/metadata/scheduledevents",
                     **{"api-version": "2020-07-01"}).json()
    assert after["Events"] == []
    assert after["DocumentIncarnation"] > started["DocumentIncarnation"]


# -- GCP -------------------------------------------------------------------------------------
def gce(endpoint: str, path: str, **params: str) -> requests.Response:
    return requests.get(f"{endpoint}/computeMetadata/v1/{path}", params=params,
                        headers={"Metadata-Flavor": "Google"}, timeout=5,
                        allow_redirects=False)


def test_gcp_identity_and_refusals(mock: MockCloud) -> None:
    vm = launch("gcp", "gce-identity", spot=True)
    zone, name = vm.id.split("/")
    with mock.inside(vm) as box:
        assert gce(box.endpoint, "instance/name").text == name
        zone_text = gce(box.endpoint, "instance/zone").text
        assert zone_text.startswith("projects/") and zone_text.endswith(f"/zones/{zone}")
        assert gce(box.endpoint, "instance/machine-type").text.endswith("/e2-small")
        answer = gce(box.endpoint, "instance/network-interfaces/0/ip")
        assert answer.text == vm.private_ip and answer.headers["Metadata-Flavor"] == "Google"
        whole = gce(box.endpoint, "instance/", recursive="true").json()
        assert whole["name"] == name and "networkInterfaces" in whole
        assert gce(box.endpoint, "instance").status_code == 301
        assert gce(box.endpoint, "project/project-id").text == mock.gcp.project
        assert gce(box.endpoint, "instance/preempted").text == "FALSE"
        refused = requests.get(f"{box.endpoint}/computeMetadata/v1/instance/id", timeout=2)
        assert refused.status_code == 403 and refused.headers["Metadata-Flavor"] == "Google"
        etag = gce(box.endpoint, "instance/preempted").headers["ETag"]
        changed = gce(box.endpoint, "instance/preempted", wait_for_change="true",
                      last_etag="other", timeout_sec="1")
        assert changed.headers["ETag"] == etag  # a different last_etag answers at once
        assert gce(box.endpoint, "instance/preempted", wait_for_change="true",
                   timeout_sec="soon").status_code == 400
        # without last_etag it waits for a change from the value as it is now
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(gce, box.endpoint, "instance/preempted",
                                  wait_for_change="true", timeout_sec="5")
            time.sleep(0.3)
            assert not waiting.done()
            mock.interrupt(vm)
            assert waiting.result().text == "TRUE"
        after = gce(box.endpoint, "instance/preempted", wait_for_change="true",
                    last_etag=etag, timeout_sec="1")
        assert after.text == "TRUE" and after.headers["ETag"] != etag


def test_gcp_compute_engine_credentials(mock: MockCloud) -> None:
    from google.cloud import compute_v1

    vm = launch("gcp", "gce-creds")
    zone, name = vm.id.split("/")
    with pytest.raises(uc.InvalidRequest, match="not a spot VM"):
        mock.interrupt(vm)  # GCE preempts Spot and preemptible VMs only
    instances = compute_v1.InstancesClient()
    from google.auth import compute_engine
    from google.auth.exceptions import RefreshError
    from google.auth.transport.requests import Request

    # no service account on the VM: GCE answers 404, google-auth raises
    with mock.inside(vm), pytest.raises(RefreshError, match="404"):
        compute_engine.Credentials().refresh(Request())
    body = compute_v1.Instance(name="sa-vm", machine_type=f"zones/{zone}/machineTypes/e2-small",
                               disks=[compute_v1.AttachedDisk(boot=True, auto_delete=True,
                                      initialize_params=compute_v1.AttachedDiskInitializeParams(
                                          source_image="projects/debian-cloud/global/images/"
                                          "family/debian-12"))],
                               network_interfaces=[compute_v1.NetworkInterface(
                                   network="global/networks/default")],
                               service_accounts=[compute_v1.ServiceAccount(
                                   email="default", scopes=[
                                       "https://www.googleapis.com/auth/cloud-platform"])])
    instances.insert(project=mock.gcp.project, zone=zone, instance_resource=body).result()
    with mock.inside(f"{zone}/sa-vm"):
        credentials = compute_engine.Credentials()
        credentials.refresh(Request())
        assert credentials.token and credentials.service_account_email.endswith(
            "-compute@developer.gserviceaccount.com")
        # the token works against the Compute fake
        client = compute_v1.InstancesClient(credentials=credentials)
        assert client.get(project=mock.gcp.project, zone=zone, instance=name).name == name


def test_gcp_user_data_once_and_serial_port(mock: MockCloud) -> None:
    from google.cloud import compute_v1

    vm = launch("gcp", "gce-boot", user_data=SCRIPT, spot=True)
    zone, name = vm.id.split("/")
    [run] = boots(mock, vm)
    instances = compute_v1.InstancesClient()
    project = mock.gcp.project
    instances.reset(project=project, zone=zone, instance=name).result()
    instances.stop(project=project, zone=zone, instance=name).result()
    instances.start(project=project, zone=zone, instance=name).result()
    with open(f"{run.root}/runs.txt", encoding="utf-8") as handle:
        assert handle.read() == "run\n"
    def serial(start: int) -> compute_v1.SerialPortOutput:
        return instances.get_serial_port_output(
            request=compute_v1.GetSerialPortOutputInstanceRequest(
                project=project, zone=zone, instance=name, port=1, start=start))

    output = serial(0)  # (tests/unit/mocks/gcp/test_fidelity.py parses it strictly)
    assert "hello-from-user-data" in output.contents
    assert output.contents.count("hello-from-user-data") == 1
    rest = serial(output.next_)
    assert rest.contents == "" and rest.next_ == output.next_

    interruption = mock.interrupt(vm)
    mock.gcp.clock.advance(30)
    assert interruption.done
    assert instances.get(project=project, zone=zone, instance=name).status == "TERMINATED"
    # started again, it is no longer preempted
    instances.start(project=project, zone=zone, instance=name).result()
    with mock.inside(vm) as box:
        assert gce(box.endpoint, "instance/preempted").text == "FALSE"
