"""Spot interruptions and preemptions triggered from the mock: the notice the VM sees in its
metadata, then (when the fake's clock passes ``not_before``, or on :meth:`complete`) the stop,
deallocation or termination in the control plane."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..._errors import InvalidRequest
from .._kernel.clock import FakeClock
from ._azure import http_date
from ._vms import VmRef, azure_vm, gcp_instance

#: How long before acting each cloud warns (EC2 two minutes, Azure Preempt at least 30 s,
#: GCE 30 s between the preemption notice and the stop).
LEAD = {"aws": 120.0, "azure": 30.0, "gcp": 30.0}
#: The actions each cloud can take on interruption; the first is its default.
ACTIONS = {"aws": ("terminate", "stop"), "azure": ("deallocate", "delete"),
           "gcp": ("stop", "delete")}


@dataclass
class Interruption:
    """A pending (or done, :attr:`done`) interruption of one VM."""

    ref: VmRef
    action: str
    not_before: datetime
    notice: dict[str, Any]
    _act: Callable[[], None] = field(repr=False)
    done: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def provider(self) -> str:
        return self.ref.provider

    @property
    def vm_id(self) -> str:
        return self.ref.vm_id

    def complete(self) -> None:
        """Act now (stop/deallocate/terminate/delete the VM); once only."""
        with self._lock:
            if self.done:
                return
            self.done = True
        self._act()


def check_action(provider: str, action: str | None) -> str:
    allowed = ACTIONS[provider]
    if action is None:
        return allowed[0]
    if action not in allowed:
        raise InvalidRequest(f"a {provider} interruption can {' or '.join(allowed)}, "
                             f"not {action!r}", field="action")
    return action


def check_interruptible(fake: Any, ref: VmRef) -> None:
    """``InvalidRequest`` unless ``ref`` is a running spot VM (EC2 Spot, Azure ``Spot``
    priority, GCE ``SPOT`` or preemptible): the clouds interrupt no other."""
    if ref.provider == "aws":
        from ._aws import find_instance

        instance = find_instance(ref.vm_id)
        spot, running = instance.lifecycle == "spot", instance.state == "running"
    elif ref.provider == "azure":
        vm = azure_vm(fake, ref.vm_id)
        spot = vm.props.get("priority") in ("Spot", "Low")
        running = vm.state.get("power") == "running"
    else:
        with fake.app.lock:
            instance = gcp_instance(fake, ref)
            scheduling = instance.get("scheduling", {})
            spot = bool(scheduling.get("preemptible")) \
                or scheduling.get("provisioningModel") == "SPOT"
            running = instance["status"] == "RUNNING"
    if not spot:
        raise InvalidRequest(f"{ref.vm_id} is not a spot VM; only spot (preemptible) VMs are "
                             "interrupted", field="vm")
    if not running:
        raise InvalidRequest(f"{ref.vm_id} is not running", field="vm")


def make(fake: Any, ref: VmRef, action: str, clock: FakeClock) -> Interruption:
    """The interruption of ``ref`` in ``fake`` (nothing acts before :meth:`complete`)."""
    when = clock.now() + timedelta(seconds=LEAD[ref.provider])
    if ref.provider == "aws":
        notice: dict[str, Any] = {"action": action,
                                  "time": when.strftime("%Y-%m-%dT%H:%M:%SZ")}
        act = lambda: _aws_act(ref, action)  # noqa: E731
    elif ref.provider == "azure":
        vm = azure_vm(fake, ref.vm_id)
        notice = {"EventId": str(uuid.UUID(int=uuid.uuid4().int)), "EventStatus": "Scheduled",
                  "EventType": "Preempt", "ResourceType": "VirtualMachine",
                  "Resources": [vm.name], "NotBefore": http_date(when),
                  "Description": "", "EventSource": "Platform", "DurationInSeconds": -1}
        act = lambda: _azure_act(fake, ref, action)  # noqa: E731
    else:
        notice = {"preempted": "TRUE"}
        act = lambda: _gcp_act(fake, ref, action)  # noqa: E731
    return Interruption(ref, action, when, notice, act)


def _aws_act(ref: VmRef, action: str) -> None:
    from moto.ec2.models.instances import StateReason

    from ._aws import find_instance

    instance = find_instance(ref.vm_id)
    if instance is None:
        return
    backend = instance.ec2_backend
    if action == "stop":
        backend.stop_instances([ref.vm_id])
        instance.state_reason = StateReason("Server.SpotInstanceShutdown: Spot Instance "
                                            "interruption", "Server.SpotInstanceShutdown")
    else:
        backend.terminate_instances([ref.vm_id])
        instance.state_reason = StateReason("Server.SpotInstanceTermination: Spot Instance "
                                            "interruption", "Server.SpotInstanceTermination")


def _azure_act(fake: Any, ref: VmRef, action: str) -> None:
    from ..azure._disks import VM

    app = fake.app
    with app.lock:
        vm = app.lookup(VM, ref.vm_id)
        if vm is None:
            return
        if action == "delete":
            app.drop(VM, vm)
            return
        vm.state["power"] = "deallocated"
        app.dynamic_public_ips(vm, held=False)
        vm.state["changed"] = app.clock.iso()


def _gcp_act(fake: Any, ref: VmRef, action: str) -> None:
    app = fake.app
    zone, _ = ref.zone_name
    with app.lock:
        instance = gcp_instance(fake, ref)
        if instance is None:
            return
        if action == "delete":
            app._discard(ref.project, zone, instance)
            return
        instance["status"] = "TERMINATED"
        instance["lastStopTimestamp"] = app.now()
        instance["cpuPlatform"] = "Unknown CPU Platform"
        app._set_nat(instance, False)
