"""Putting many resources straight into an ARM fake's store (benchmarks, large-list tests).

The seeded VMs go through the same validation and builders as a PUT (``build_vnet``,
``build_nic``, ``put_vm``), only without HTTP, the SDK or long-running operations, so they look
exactly like VMs created through the API: each has its NIC (private IP from one shared /16
subnet) and its OS disk, and is running.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._base import Resource
from ._ids import SUBSCRIPTION_ID, group_id
from ._network_common import NIC, VNET

if TYPE_CHECKING:
    from ._app import ArmApp

#: The SSH key of every seeded VM: a real Ed25519 public key (its private half was discarded).
SEED_PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF7Dg+L6g5KBdtr/PInR+xyn20ycwUMwunrjge0bG"
                   "49V unicompute-seed")


def seed_vms(app: ArmApp, count: int, *, resource_group: str = "seeded",
             location: str = "eastus", size: str = "Standard_B1s",
             image: tuple[str, str, str, str] = ("Canonical", "ubuntu-24_04-lts", "server",
                                                 "latest"),
             prefix: str = "vm", tags: dict[str, str] | None = None) -> list[str]:
    """Create ``count`` running VMs named ``{prefix}-{i}`` in ``resource_group`` (created if
    missing, with a VNet ``{resource_group}-vnet`` whose subnet ``default`` is 10.0.0.0/16, so
    up to 65,531 VMs). Returns the VM ids. Raises the emulator's ``HttpError`` on bad input."""
    sub = SUBSCRIPTION_ID
    with app.lock:
        rg = app.groups.get(resource_group)
        if rg is None:
            rg = Resource(id=group_id(sub, resource_group), name=resource_group,
                          group=resource_group, body={
                              "id": group_id(sub, resource_group), "name": resource_group,
                              "type": "Microsoft.Resources/resourceGroups",
                              "location": location,
                              "properties": {"provisioningState": "Succeeded"}})
            app.groups.put(resource_group, rg)
        vnet_name = f"{resource_group}-vnet"
        vnet = app.stores[VNET].get(app.rid(sub, rg, VNET, vnet_name))
        if vnet is None:
            vnet = app.build_vnet(sub, rg, vnet_name, {
                "location": location, "properties": {
                    "addressSpace": {"addressPrefixes": ["10.0.0.0/8"]},
                    "subnets": [{"name": "default",
                                 "properties": {"addressPrefix": "10.0.0.0/16"}}]}}, None)
            vnet.props["provisioningState"] = "Succeeded"
            app.stores[VNET].put(vnet.id, vnet)
        subnet_id = f"{vnet.id}/subnets/default"
        publisher, offer, sku, version = image
        ids: list[str] = []
        for index in range(count):
            name = f"{prefix}-{index}"
            nic = app.build_nic(sub, rg, f"{name}-nic", {
                "location": location, "properties": {"ipConfigurations": [
                    {"name": "ipconfig1", "properties": {"subnet": {"id": subnet_id}}}]}}, None)
            nic.props["provisioningState"] = "Succeeded"
            app.stores[NIC].put(nic.id, nic)
            body = {"location": location, "properties": {
                "hardwareProfile": {"vmSize": size},
                "storageProfile": {"imageReference": {"publisher": publisher, "offer": offer,
                                                      "sku": sku, "version": version},
                                   "osDisk": {"createOption": "FromImage",
                                              "deleteOption": "Delete"}},
                "osProfile": {"computerName": name, "adminUsername": "azureuser",
                              "linuxConfiguration": {
                                  "disablePasswordAuthentication": True,
                                  "ssh": {"publicKeys": [{
                                      "path": "/home/azureuser/.ssh/authorized_keys",
                                      "keyData": SEED_PUBLIC_KEY}]}}},
                "networkProfile": {"networkInterfaces": [{"id": nic.id}]}}}
            if tags:
                body["tags"] = dict(tags)
            vm = app.put_vm(sub, rg, name, body, None)
            vm.state["power"] = "running"
            ids.append(vm.id)
        return ids
