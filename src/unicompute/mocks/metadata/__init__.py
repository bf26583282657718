"""Instance metadata servers of the three clouds, user data that runs, and spot interruptions.

Public API (stable; MD-CLIENT and the README rely on it)::

    from unicompute.mocks import mock_cloud

    with mock_cloud(run_user_data=True) as mock:           # run_user_data defaults to False
        vm = cloud.vms.launch(...)                         # or any SDK call that creates a VM
        with mock.inside(vm) as box:                       # or mock.inside(vm_id, provider=...)
            box.provider        # "aws" | "azure" | "gcp"
            box.vm_id           # the portable id: EC2 "i-...", ARM resource id, GCE "zone/name"
            box.endpoint        # "http://127.0.0.1:PORT", this VM's metadata server
            box.root            # the VM's private user-data root dir (None if it never ran)
            unicompute.metadata.current()                  # the VM's identity, as on a VM
        interruption = mock.interrupt(vm)                  # spot / preemption notice, now
        interruption.not_before                            # datetime on the fake's clock
        mock.fake(vm.provider).clock.advance(120)          # past it: the VM stops/terminates
        interruption.complete()                            # ...or act at once

* ``mock.inside(vm_or_id, provider=None, *, aws_tokens="required")``: a context manager. A VM
  is a unicompute ``VM`` (its ``provider`` and ``id`` are used) or an id: ``i-...`` is AWS, an
  ARM id ``/subscriptions/...`` is Azure, ``zone/name`` (or a GCE instance URL) is GCP; pass
  ``provider`` when in doubt. The VM must exist in the running fake (else ``NotFound``).
  Inside, the chosen cloud's variable points at the VM's metadata server and the other two at a
  closed 127.0.0.1 port (so their probes fail at once): ``AWS_EC2_METADATA_SERVICE_ENDPOINT``
  (botocore), ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` (azure-identity, MSAL), ``GCE_METADATA_HOST``
  / ``GCE_METADATA_IP`` (google-auth; its module constants read at import are patched too).
  Everything is restored on exit. ``aws_tokens="optional"`` also accepts IMDSv1 GETs (unless
  the instance has ``HttpTokens=required``; ``HttpEndpoint=disabled`` answers 403).
* Metadata answers are read live from the fake's store at each request: the same id, IPs, size,
  tags, image and power state the control plane reports, following later changes.
* ``mock_cloud(run_user_data=True)``: at a VM's first boot its user data (EC2 ``UserData``,
  Azure ``osProfile.customData``, GCE metadata ``startup-script``), when it starts with ``#!``,
  runs once per instance id (not on reboot or stop/start) in a subprocess: cwd, ``HOME`` and
  ``TMPDIR`` are a private temporary directory (``box.root``), the environment holds only
  ``PATH``, ``LANG`` and the variables pointing the SDKs at this VM's metadata server, and the
  run is bounded by ``user_data_timeout`` seconds (``mock_cloud(..., user_data_timeout=30)``).
  Its stdout and stderr become the VM's console output (EC2 ``GetConsoleOutput``, Azure
  ``retrieveBootDiagnosticsData`` + the serial-log blob, GCE ``getSerialPortOutput``), after
  a few cloud-init style boot lines. Without it, console output is a short boot log.
  ``mock.boots(provider)`` lists the finished runs (:class:`BootRun`: vm key, exit code,
  output, root).
* ``mock.interrupt(vm_or_id, provider=None, *, action=None) -> Interruption`` (a running
  spot VM only: EC2 Spot, Azure ``Spot`` priority, GCE ``SPOT``/preemptible; else
  ``InvalidRequest``): AWS
  ``meta-data/spot/instance-action`` ``{"action": "terminate"|"stop", "time": ...}`` two
  minutes ahead (action defaults to ``terminate``); Azure a ``Preempt`` scheduled event with
  ``NotBefore`` 30 s ahead (then deallocated; ``action="delete"`` deletes); GCE
  ``instance/preempted`` ``TRUE`` at once and the instance goes to ``TERMINATED`` (stopped)
  30 s later (``action="delete"`` deletes). When the fake's clock passes ``not_before`` (or on
  ``Interruption.complete()``) the VM is stopped/terminated in the control plane, and the notice
  is gone (a VM started again is not being interrupted).

Servers bind 127.0.0.1 only and stop when the mock ends. This package never imports
``unicompute.providers``.
"""
