"""The README's library example, runnable: the same code launches, stops, lists and terminates a
VM on AWS, Azure and GCP — here on the built-in fakes.

    .venv/bin/python examples/quickstart.py
"""

import unicompute as uc
from unicompute.mocks import mock_cloud

CLOUDS = [("aws", "us-east-1"), ("azure", "eastus"), ("gcp", "us-central1")]

with mock_cloud():  # drop this line (and dedent) to use your real accounts
    for provider, region in CLOUDS:
        with uc.connect(provider, region=region) as cloud:  # or uc.connect("gcp://us-central1")
            size = cloud.vms.cheapest_size(vcpus=2, memory_gib=4)  # from the catalog, priced
            vm = cloud.vms.launch(uc.VMSpec(
                name="web-1", size=size, image="ubuntu-24.04",  # portable image alias
                user_data="#!/bin/sh\necho hi", tags={"app": "web"},
                open_ports=[80, 443], disk_gib=30))
            vm.wait_until(uc.VMState.RUNNING, timeout=300)
            print(provider, vm.id, vm.private_ip, [(r.port_from, r.source) for r in
                                                   vm.inbound_rules()])
            vm.stop().wait_until(uc.VMState.STOPPED, timeout=300)  # Azure: deallocated
            for v in cloud.vms.list(tags={"app": "web"}):  # lazy, paged
                print(provider, v.name, v.state.value)
            vm.terminate()  # also deletes its firewall, disk and addresses
            print(f"{provider}: {size.name} at ${size.hourly_price}/h ({size.price_source}); "
                  f"left running: {list(cloud.vms.list())}")
