"""The README's library example, runnable: launch, stop, list and terminate a VM on the AWS fake.

    .venv/bin/python examples/quickstart.py
"""

import unicompute as uc
from unicompute.mocks import mock_cloud

with mock_cloud():  # noqa: SIM117 - drop this line (and dedent) to use your real account
    with uc.connect("aws", region="us-east-1") as cloud:  # or uc.connect("aws://us-east-1")
        size = cloud.vms.cheapest_size(vcpus=2, memory_gib=4)  # from the catalog, priced
        vm = cloud.vms.launch(uc.VMSpec(
            name="web-1", size=size, image="ubuntu-24.04",  # portable image alias
            user_data="#!/bin/sh\necho hi", tags={"app": "web"},
            open_ports=[80, 443], disk_gib=20))
        vm.wait_until(uc.VMState.RUNNING, timeout=300)
        print(vm.id, vm.private_ip, vm.inbound_rules())
        vm.stop().wait_until(uc.VMState.STOPPED, timeout=300)
        for v in cloud.vms.list(tags={"app": "web"}):  # lazy, paged
            print(v)
        vm.terminate()  # also deletes its firewall
        print(f"{size.name} at ${size.hourly_price}/h; left running: {list(cloud.vms.list())}")
