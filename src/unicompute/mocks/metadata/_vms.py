"""Finding a fake VM by the id unicompute gives it, and reading what booting needs of it, in
each cloud's fake: its instance key (EC2 id, Azure ``vmId``, GCE numeric id), whether it runs,
its hostname and its user data."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from ..._errors import InvalidRequest, NotFound
from ._aws import find_instance, user_data


@dataclass(frozen=True)
class VmRef:
    """A VM of a fake: ``provider`` and its portable ``vm_id`` (EC2 ``i-...``, ARM resource
    id, GCE ``zone/name``); for GCP also the ``project``."""

    provider: str
    vm_id: str
    project: str = ""

    @property
    def zone_name(self) -> tuple[str, str]:
        zone, _, name = self.vm_id.partition("/")
        return zone, name


def guess_provider(vm_id: str) -> str:
    if vm_id.startswith("i-"):
        return "aws"
    if vm_id.lower().startswith("/subscriptions/"):
        return "azure"
    if vm_id.count("/") == 1 or "/instances/" in vm_id:
        return "gcp"
    raise InvalidRequest(f"cannot tell the cloud of VM id {vm_id!r}; pass provider=",
                         field="provider")


def resolve(fake: Any, provider: str, vm_id: str) -> VmRef:
    """The :class:`VmRef` of an existing VM; ``NotFound`` when the fake has none such."""
    if provider == "gcp" and "/instances/" in vm_id:
        parts = vm_id.rstrip("/").split("/")
        vm_id = f"{parts[parts.index('zones') + 1]}/{parts[-1]}"
        project = parts[parts.index("projects") + 1]
        ref = VmRef("gcp", vm_id, project)
    elif provider == "gcp":
        zone, _, name = vm_id.partition("/")
        project = next((p for p, state in fake.app.projects.items()
                        if state.instances.get(zone) is not None
                        and state.instances[zone].get(name) is not None), fake.project)
        ref = VmRef("gcp", vm_id, project)
    elif provider == "azure":
        found = azure_vm(fake, vm_id)
        ref = VmRef("azure", found.id if found is not None else vm_id)
    else:
        ref = VmRef(provider, vm_id)
    if raw_vm(fake, ref) is None:
        raise NotFound(f"no VM {vm_id!r} in the {provider} fake", provider=provider,
                       resource=vm_id)
    return ref


def azure_vm(fake: Any, vm_id: str) -> Any:
    from ..azure._disks import VM

    with fake.app.lock:
        return fake.app.lookup(VM, vm_id)


def gcp_instance(fake: Any, ref: VmRef) -> Any:
    zone, name = ref.zone_name
    state = fake.app.projects.get(ref.project)
    table = state.instances.get(zone) if state is not None else None
    return table.get(name) if table is not None else None


def raw_vm(fake: Any, ref: VmRef) -> Any:
    if ref.provider == "aws":
        found = find_instance(ref.vm_id)
        return None if found is None or found.state == "terminated" else found
    if ref.provider == "azure":
        return azure_vm(fake, ref.vm_id)
    return gcp_instance(fake, ref)


@dataclass(frozen=True)
class Booting:
    """What the boot runner needs of a running VM."""

    ref: VmRef
    key: str
    hostname: str
    user_data: bytes | None = field(repr=False)  # may hold secrets


def running(fake: Any, provider: str) -> list[Booting]:
    """Every VM of the fake that is running now."""
    if provider == "aws":
        return _aws_running()
    if provider == "azure":
        return _azure_running(fake)
    return _gcp_running(fake)


def _aws_running() -> list[Booting]:
    from moto.ec2.models import ec2_backends

    out = []
    for account in list(dict.values(ec2_backends)):
        for backend in list(dict.values(account)):
            for instance in backend.all_instances():
                if instance.state == "running":
                    out.append(Booting(VmRef("aws", instance.id), instance.id,
                                       instance.private_dns_name, user_data(instance)))
    return out


def _azure_running(fake: Any) -> list[Booting]:
    from ..azure._disks import VM

    out = []
    with fake.app.lock:
        for vm in fake.app.stores[VM].values():
            if vm.state.get("power") != "running":
                continue
            custom = vm.secrets.get("customData")
            data = base64.b64decode(custom) if custom else None
            computer = (vm.props.get("osProfile") or {}).get("computerName") or vm.name
            out.append(Booting(VmRef("azure", vm.id), vm.state["vm_id"], computer, data))
    return out


def _gcp_running(fake: Any) -> list[Booting]:
    out = []
    with fake.app.lock:
        for project, state in fake.app.projects.items():
            for zone, table in state.instances.items():
                for instance in table.values():
                    if instance["status"] != "RUNNING":
                        continue
                    items = {i["key"]: i.get("value", "")
                             for i in instance["metadata"].get("items", [])}
                    script = items.get("startup-script")
                    out.append(Booting(
                        VmRef("gcp", f"{zone}/{instance['name']}", project),
                        str(instance["id"]),
                        instance.get("hostname")
                        or f"{instance['name']}.{zone}.c.{project}.internal",
                        script.encode() if script else None))
    return out
