"""The Compute Engine :class:`~unicompute.driver.ComputeDriver`.

**VM ids** are ``<zone>/<name>`` (``us-central1-a/web-1``): GCE names instances per zone, and
with the zone in the id ``get_vm`` is one ``instances.get`` call (a numeric id alone would need
a project-wide aggregated search). An id not of that shape names no VM (``NotFound``).

**Launch** puts each VM in a zone of the region that offers the machine type (``VMSpec.zone``,
else the ``zone`` setting, else the first such zone by name), boots it from the image on a
``pd-balanced`` disk that is deleted with it, labels it with the tags (see ``convert.py`` for
the tag → label mapping) plus ``unicompute--managed=true``, passes ``user_data`` as the
``startup-script`` metadata value (``windows-startup-script-ps1`` on Windows images), gives it
an ephemeral external IPv4 address (a ``ONE_TO_ONE_NAT`` access config), puts it on
unicompute's own VPC network ``unicompute`` (created on first use; ``Options.network`` picks
another) and for ``open_ports`` gives it a firewall rule and network tag of its own
(``network.py``): on the ``unicompute`` network nothing else is let in. ``spot=True`` sets
``scheduling.provisioningModel=SPOT`` with ``instanceTerminationAction`` from
``Options.spot_termination_action`` (``STOP`` by default: a preempted Spot VM is stopped, not
deleted). A launch that fails part-way deletes the VMs and the rule it created (not the shared
network).

**States**: PROVISIONING/STAGING/REPAIRING → PENDING, RUNNING, STOPPING/SUSPENDING → STOPPING,
TERMINATED (GCE's word for stopped) and SUSPENDED → STOPPED; a deleted VM is ``NotFound``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import NamedTuple

from google.api_core import exceptions as core
from google.cloud import compute_v1

from ..._errors import InvalidRequest, NotFound, Timeout
from ..._models import (
    Image,
    InboundRule,
    LaunchPlan,
    Page,
    Region,
    Size,
    VMInfo,
    VMState,
    Zone,
)
from . import console, convert, images, keys, network, operations, sizes
from ._clients import Context
from .convert import (
    FIREWALL_TAG,
    IMAGE_METADATA_KEY,
    KEY_NAME_METADATA_KEY,
    PROVIDER,
    ROOT_TAG,
    SSH_KEYS_METADATA_KEY,
    STARTUP_SCRIPT_KEY,
    WINDOWS_STARTUP_SCRIPT_KEY,
    last_segment,
)
from .options import Options

#: Instances per ``aggregatedList`` page.
PAGE_SIZE = 100
#: The scope the SDK and GCE use for full-access service accounts.
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class _Prepared(NamedTuple):
    """What the launch checks found: the options, the zone, the network and the public key
    line of ``key_name``."""

    options: Options
    zone: str
    chosen: network.ChosenNetwork
    key_line: str | None


def parse_vm_id(vm_id: str) -> tuple[str, str]:
    """``(zone, name)`` of a portable VM id; ``NotFound`` if ``vm_id`` has not that shape."""
    zone, _, name = vm_id.partition("/")
    if not zone or not name or "/" in name:
        raise NotFound(f"{vm_id!r} is not a GCE VM id (<zone>/<name>)", provider=PROVIDER,
                       resource=vm_id)
    return zone, name


class GceCompute:
    """GCE instances, machine types, images and locations of one project and region."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._instances = ctx.clients.instances
        self._sizes: list[Size] | None = None
        self._looked_up: dict[str, tuple[Size, str]] = {}
        self._min_disk: dict[str, int | None] = {}
        #: The plan :meth:`check_launch` last accepted, and what it found (used once).
        self._prepared: tuple[LaunchPlan, _Prepared] | None = None

    @property
    def client(self) -> compute_v1.InstancesClient:
        """The ``compute_v1.InstancesClient`` this driver uses (escape hatch)."""
        return self._instances

    # -- locations, catalog, images ---------------------------------------------------------
    def regions(self) -> list[Region]:
        request = compute_v1.ListRegionsRequest(project=self._ctx.project)
        found = self._ctx.clients.regions.list(request=request, **self._ctx.rpc)
        return [Region(name=r.name, provider=PROVIDER) for r in found]

    def zones(self) -> list[Zone]:
        return [Zone(name=z, region=self._ctx.region, provider=PROVIDER)
                for z in self._ctx.zone_names()]

    def list_sizes(self) -> list[Size]:
        """The machine types of the default zone; read once per driver."""
        if self._sizes is None:
            self._sizes = sizes.list_sizes(self._ctx, self._ctx.default_zone())
        return list(self._sizes)

    def get_size(self, name: str) -> Size:
        """One ``machineTypes.get`` in the default zone (then the region's other zones)."""
        return self._size_and_zone(name)[0]

    def _size_and_zone(self, name: str, zone: str | None = None) -> tuple[Size, str]:
        zones = [zone] if zone else self._zone_order()
        key = f"{zones[0]}/{name}" if zone else name
        if key not in self._looked_up:
            self._looked_up[key] = sizes.get_size(self._ctx, zones, name)
        return self._looked_up[key]

    def _zone_order(self) -> list[str]:
        first = self._ctx.default_zone()
        return [first, *(z for z in self._ctx.zone_names() if z != first)]

    def resolve_image(self, ref: str, *, arch: str) -> Image:
        return images.resolve(self._ctx, ref, arch)

    def list_images(self) -> list[Image]:
        return images.list_images(self._ctx)

    # -- lifecycle ---------------------------------------------------------------------------
    def check_launch(self, plan: LaunchPlan) -> None:
        """What only GCE can tell about ``plan``, read-only; ``InvalidRequest`` naming the
        field: ``options`` of another type; tags that cannot be labels; ``user_data`` that is
        not UTF-8 text (metadata values are strings); a zone that does not offer the machine
        type; ``disk_gib`` smaller than the image needs; a network or subnetwork that does not
        exist, or a network called ``unicompute`` that unicompute did not create. What the
        checks found is kept for a ``launch`` of this very plan."""
        self._prepared = (plan, self._prepare(plan))

    def _prepare(self, plan: LaunchPlan) -> _Prepared:
        spec = plan.spec
        options = spec.options if spec.options is not None else Options()
        if not isinstance(options, Options):
            raise InvalidRequest(
                f"must be unicompute.gcp.Options, not {type(options).__name__}", field="options")
        convert.check_labels(spec.tags)
        user_data = spec.user_data_bytes
        if user_data is not None:
            try:
                user_data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidRequest("GCE metadata values are text; user_data must be UTF-8",
                                     field="user_data") from exc
        zone = self._choose_zone(plan)
        if spec.disk_gib is not None:
            if plan.image.id not in self._min_disk:
                self._min_disk[plan.image.id] = images.disk_size_gib(self._ctx, plan.image.id)
            needed = self._min_disk[plan.image.id]
            if needed is not None and spec.disk_gib < needed:
                raise InvalidRequest(
                    f"{spec.disk_gib} GiB is smaller than image {plan.image.id} needs "
                    f"({needed} GiB)", field="disk_gib")
        key = self._key_line(plan) if spec.key_name is not None else None
        chosen = network.check_network(self._ctx, options.network, options.subnetwork)
        return _Prepared(options, zone, chosen, key)

    def _key_line(self, plan: LaunchPlan) -> str:
        """The public key line of ``plan.spec.key_name``; ``InvalidRequest`` naming
        ``key_name`` for a Windows image (GCE's Windows guests do not read ``ssh-keys``) or a
        key the project does not hold."""
        name = plan.spec.key_name
        assert name is not None
        if plan.image.os == "windows":
            raise InvalidRequest("GCE Windows images take no SSH key", field="key_name")
        line = keys.key_line(self._ctx, name)
        if line is None:
            raise InvalidRequest(f"no SSH key {name!r} in project {self._ctx.project}",
                                 field="key_name")
        return line

    def _choose_zone(self, plan: LaunchPlan) -> str:
        """``spec.zone``, else the ``zone`` setting, else the first zone offering the size."""
        wanted = plan.spec.zone or self._ctx.zone
        if wanted is not None:
            if wanted not in self._ctx.zone_names():
                raise InvalidRequest(f"no zone {wanted!r} in {self._ctx.region}", field="zone")
            try:
                self._size_and_zone(plan.size.name, wanted)
            except NotFound as exc:
                raise InvalidRequest(f"zone {wanted} does not offer {plan.size.name}",
                                     field="zone") from exc
            return wanted
        try:
            return self._size_and_zone(plan.size.name)[1]
        except NotFound as exc:
            raise InvalidRequest(f"no zone of {self._ctx.region} offers {plan.size.name}",
                                 field="size") from exc

    def launch(self, plan: LaunchPlan) -> list[VMInfo]:
        """Create ``plan.count`` instances (and the firewall rule for ``open_ports``), or
        nothing.

        The checks of :meth:`check_launch` come first (reused when the portable layer has just
        run them on this plan). Unicompute's network is created if it is missing and no other
        network was asked for; then the rule; then every insert is sent, then every operation
        waited for. On any failure the instances whose insert GCE accepted are deleted, then
        the rule, and the original exception propagates (the network stays: it is shared).
        """
        checked, self._prepared = self._prepared, None
        reuse = checked is not None and checked[0] is plan
        options, zone, chosen, key = checked[1] if checked and reuse else self._prepare(plan)
        spec = plan.spec
        rule = network.rule_name(spec.name) if spec.open_ports else None
        net = chosen.path
        if not chosen.exists:
            network.ensure_managed_network(self._ctx)
        accepted: list[str] = []
        try:
            if rule is not None:
                network.create_rule(self._ctx, name=rule, network=net, ports=spec.open_ports,
                                    vm_name=spec.name)
            ops: list[compute_v1.Operation] = []
            for name in plan.names:
                body = _instance(self._ctx, plan, name, zone=zone, options=options, net=net,
                                 rule=rule, key=key)
                ops.append(self._instances.insert_unary(
                    project=self._ctx.project, zone=zone, instance_resource=body,
                    **self._ctx.rpc))
                accepted.append(name)
            failures = operations.wait_all(self._ctx, ops)
            if failures:
                raise failures[0]
            infos = [convert.vm_info(self._instances.get(
                project=self._ctx.project, zone=zone, instance=name, **self._ctx.rpc))
                for name in plan.names]
        except BaseException as exc:
            self._undo_launch(zone, accepted, rule, exc)
            raise
        return infos

    def _undo_launch(self, zone: str, names: list[str], rule: str | None,
                     exc: BaseException) -> None:
        """Best-effort removal of what a failed launch created; cleanup errors become notes."""
        try:
            ops = []
            for name in names:
                try:
                    ops.append(self._instances.delete_unary(
                        project=self._ctx.project, zone=zone, instance=name, **self._ctx.rpc))
                except core.NotFound:
                    continue
            for failure in operations.wait_all(self._ctx, ops):
                if not isinstance(failure, core.NotFound):
                    raise failure
            if rule is not None:
                network.delete_rule(self._ctx, rule)
        except Exception as cleanup:  # the launch error is the one the caller needs
            exc.add_note(
                f"unicompute: cleanup after the failed launch also failed ({cleanup!r}); "
                f"check instances {', '.join(names) or '-'} in {zone} and firewall rule "
                f"{rule or '-'}")

    def _get(self, vm_id: str) -> compute_v1.Instance:
        zone, name = parse_vm_id(vm_id)
        return self._instances.get(project=self._ctx.project, zone=zone, instance=name,
                                   **self._ctx.rpc)

    def get_vm(self, vm_id: str) -> VMInfo:
        return convert.vm_info(self._get(vm_id))

    def list_vms(
        self,
        *,
        tags: Mapping[str, str],
        states: frozenset[VMState] | None,
        page_token: str | None,
    ) -> Page[VMInfo]:
        """One ``aggregatedList`` page (up to 100 instances) of the project, filtered by labels
        and by the GCE statuses of ``states`` on the server; instances outside the region are
        dropped from the page (so a page may be short, even empty, before the last)."""
        for key, value in tags.items():
            if convert.label_problem(key, value) is not None:
                return Page([])  # no label can carry this tag, so no VM has it
        status = convert.status_filter(states) if states is not None else ""
        if states is not None and not status:
            return Page([])  # no GCE status is one of these states (e.g. terminated)
        request = compute_v1.AggregatedListInstancesRequest(
            project=self._ctx.project, max_results=PAGE_SIZE)
        expression = " AND ".join(e for e in (convert.label_filter(tags), status) if e)
        if expression:
            request.filter = expression
        if page_token:
            request.page_token = page_token
        pager = self._instances.aggregated_list(request=request, **self._ctx.rpc)
        answer = next(iter(pager.pages))
        zones = set(self._ctx.zone_names())
        items: list[VMInfo] = []
        for scope, scoped in sorted(answer.items.items()):
            if last_segment(scope) not in zones:
                continue
            for instance in scoped.instances:
                info = convert.vm_info(instance)
                if states is None or info.state in states:
                    items.append(info)
        return Page(items, answer.next_page_token or None)

    def start_vm(self, vm_id: str) -> None:
        """``start`` (``resume`` for a SUSPENDED VM); returns once GCE accepted it."""
        instance = self._get(vm_id)
        zone, name = parse_vm_id(vm_id)
        call = (self._instances.resume_unary if instance.status == "SUSPENDED"
                else self._instances.start_unary)
        operations.check(call(project=self._ctx.project, zone=zone, instance=name,
                              **self._ctx.rpc))

    def stop_vm(self, vm_id: str) -> None:
        """``stop`` (Spot VMs can be stopped too); returns once GCE accepted it."""
        zone, name = parse_vm_id(vm_id)
        operations.check(self._instances.stop_unary(
            project=self._ctx.project, zone=zone, instance=name, **self._ctx.rpc))

    def reboot_vm(self, vm_id: str) -> None:
        """``reset``: a hard reset, as pressing the reset button (GCE has no soft reboot)."""
        zone, name = parse_vm_id(vm_id)
        operations.check(self._instances.reset_unary(
            project=self._ctx.project, zone=zone, instance=name, **self._ctx.rpc))

    def terminate_vm(self, vm_id: str, *, timeout: float | None = None) -> None:
        """Delete the instance (its boot disk goes with it), delete the launch's firewall rule
        unless another VM of the launch still uses it, then wait until the instance is gone.

        The rule is deleted as soon as GCE has accepted the instance's deletion, so that an
        interrupted or timed-out call leaves no rule behind that a later call could no longer
        find. When another VM of the launch still carried the rule then (it may be being
        deleted by a concurrent terminate), it is looked at again once this instance is gone,
        so the last of concurrent terminates deletes it. Resumable: when GCE refuses a second
        delete of an instance that is already being deleted (``resourceNotReady``), the call
        just waits for it to be gone; when the instance is gone already, the rules its launch
        left that no VM carries any more (a failed rule deletion) are deleted
        (:func:`network.orphaned_rules`) and GCE's ``NotFound`` is raised. ``Timeout`` after
        ``timeout`` seconds (default ``wait_timeout``).
        """
        zone, name = parse_vm_id(vm_id)
        try:
            instance = self._get(vm_id)
        except core.NotFound:
            for orphan in network.orphaned_rules(self._ctx, vm_id):
                network.delete_rule(self._ctx, orphan)
            raise
        rule = network.launch_rule_of(self._ctx, instance)
        op: compute_v1.Operation | None
        try:
            op = self._instances.delete_unary(project=self._ctx.project, zone=zone,
                                              instance=name, **self._ctx.rpc)
            operations.check(op)
        except (core.BadRequest, core.Conflict) as exc:
            if not {"resourceNotReady", "RESOURCE_NOT_READY"} & set(_reasons(exc)):
                raise
            op = None
        released = rule is None or network.release_rule(self._ctx, rule, besides=vm_id)
        limit = self._ctx.wait_timeout if timeout is None else timeout
        if op is not None:
            with contextlib.suppress(core.NotFound):
                operations.wait(self._ctx, op, timeout=limit)
        else:
            self._wait_gone(vm_id, limit)
        if rule is not None and not released:
            network.release_rule(self._ctx, rule, besides=vm_id)

    def _wait_gone(self, vm_id: str, limit: float) -> None:
        """Poll on ``ctx.poller`` until GCE no longer knows ``vm_id``; ``Timeout`` naming it
        after ``limit`` seconds."""

        def gone() -> bool:
            try:
                self._get(vm_id)
            except core.NotFound:
                return True
            return False

        def timed_out(_: object) -> Timeout:
            return Timeout(f"VM {vm_id} is still being deleted after {limit:g} s",
                           provider=PROVIDER, resource=vm_id)

        self._ctx.poller.until(gone, bool, timeout=limit, what=f"VM {vm_id} to be deleted",
                               timed_out=timed_out)

    def set_vm_tags(self, vm_id: str, tags: Mapping[str, str]) -> None:
        """``setLabels`` with the label fingerprint just read; when GCE answers 412
        (``conditionNotMet``: someone changed the labels meanwhile) the labels are read again
        and the change is retried once."""
        convert.check_labels(tags)
        if not tags:
            self._get(vm_id)
            return
        zone, name = parse_vm_id(vm_id)
        for attempt in (1, 2):
            instance = self._get(vm_id)
            request = compute_v1.InstancesSetLabelsRequest(
                labels={**instance.labels, **convert.labels(tags)},
                label_fingerprint=instance.label_fingerprint)
            try:
                op = self._instances.set_labels_unary(
                    project=self._ctx.project, zone=zone, instance=name,
                    instances_set_labels_request_resource=request, **self._ctx.rpc)
                operations.wait(self._ctx, op)
                return
            except core.PreconditionFailed:
                if attempt == 2:
                    raise

    def console_output(self, vm_id: str) -> str:
        """Serial port 1 (see :mod:`.console`)."""
        zone, name = parse_vm_id(vm_id)
        return console.console_output(self._instances, self._ctx.rpc, project=self._ctx.project,
                                      zone=zone, name=name)

    def inbound_rules(self, vm_id: str) -> list[InboundRule]:
        return network.inbound_rules(self._ctx, self._get(vm_id))

    def user_data(self, vm_id: str) -> bytes | None:
        """The startup script the VM was launched with, as UTF-8 bytes; ``None`` if none."""
        instance = self._get(vm_id)
        for key in (STARTUP_SCRIPT_KEY, WINDOWS_STARTUP_SCRIPT_KEY):
            value = convert.metadata_value(instance, key)
            if value is not None:
                return value.encode("utf-8")
        return None


def _reasons(exc: BaseException) -> list[str]:
    from .errors import reasons

    return reasons(exc)


def _instance(ctx: Context, plan: LaunchPlan, name: str, *, zone: str, options: Options,
              net: str, rule: str | None, key: str | None) -> compute_v1.Instance:
    """The ``instances.insert`` body of VM ``name`` of ``plan``; ``key`` is the public key
    line of ``plan.spec.key_name``."""
    spec = plan.spec
    tags = dict(spec.tags)
    labels = convert.managed_labels({**tags, FIREWALL_TAG: rule} if rule else tags)
    items = [compute_v1.Items(key=IMAGE_METADATA_KEY, value=plan.image.id)]
    user_data = spec.user_data_bytes
    if user_data is not None:
        script = WINDOWS_STARTUP_SCRIPT_KEY if plan.image.os == "windows" \
            else STARTUP_SCRIPT_KEY
        items.append(compute_v1.Items(key=script, value=user_data.decode("utf-8")))
    if key is not None and spec.key_name is not None:
        items.append(compute_v1.Items(key=SSH_KEYS_METADATA_KEY,
                                      value=f"{options.ssh_user}:{key}"))
        items.append(compute_v1.Items(key=KEY_NAME_METADATA_KEY, value=spec.key_name))
    boot = compute_v1.AttachedDiskInitializeParams(
        source_image=plan.image.id,
        disk_type=f"zones/{zone}/diskTypes/{options.disk_type}",
        labels=convert.managed_labels({**tags, ROOT_TAG: "true"}),
    )
    if spec.disk_gib is not None:
        boot.disk_size_gb = spec.disk_gib
    nic = compute_v1.NetworkInterface(network=net)
    if options.subnetwork is not None:
        nic.subnetwork = network.subnetwork_path(ctx, options.subnetwork)
    if options.external_ip:
        nic.access_configs = [compute_v1.AccessConfig(name="External NAT",
                                                      type_="ONE_TO_ONE_NAT")]
    body = compute_v1.Instance(
        name=name,
        machine_type=f"zones/{zone}/machineTypes/{plan.size.name}",
        labels=labels,
        metadata=compute_v1.Metadata(items=items),
        disks=[compute_v1.AttachedDisk(boot=True, auto_delete=True, type_="PERSISTENT",
                                       initialize_params=boot)],
        network_interfaces=[nic],
    )
    if rule is not None:
        body.tags = compute_v1.Tags(items=[rule])
    if spec.spot:
        body.scheduling = compute_v1.Scheduling(
            provisioning_model="SPOT",
            instance_termination_action=options.spot_termination_action,
            automatic_restart=False,
            on_host_maintenance="TERMINATE",
        )
    if options.service_account is not None:
        body.service_accounts = [compute_v1.ServiceAccount(email=options.service_account,
                                                           scopes=[CLOUD_PLATFORM_SCOPE])]
    return body
