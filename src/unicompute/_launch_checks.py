"""Everything checked about a launch before any call that creates something.

Only reads happen here (the size catalog, image lookup, zones, key pairs); a rejected spec raises
:class:`~unicompute.InvalidRequest` naming the field, and nothing exists afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._context import CloudContext
from ._errors import InvalidRequest, NotFound
from ._models import Image, LaunchPlan, Size, VMSpec
from .driver import MANAGED_TAG, Capability, Limits

if TYPE_CHECKING:
    from ._vms import VMs


def check_id(value: object, field: str) -> str:
    """``value`` if it is a non-empty str (an id or name the cloud will look up)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("must be a non-empty str", field=field)
    return value


def check_zone(ctx: CloudContext, zone: str | None) -> str:
    """``zone`` if it is a zone of the cloud's region; ``None`` means the region's first zone."""
    zones = [z.name for z in ctx.call("zones", ctx.drivers.compute.zones, idempotent=True)]
    if zone is None:
        return zones[0]
    if zone not in zones:
        raise InvalidRequest(f"no zone {zone!r} in {ctx.region}", field="zone")
    return zone


def check_count(count: object, limits: Limits) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidRequest(f"must be an int, not {type(count).__name__}", field="count")
    if not 1 <= count <= limits.max_count:
        raise InvalidRequest(f"{count} is not between 1 and {limits.max_count}", field="count")
    return count


def check_name(name: str, limits: Limits, field: str = "name") -> None:
    problem = limits.names.check(name)
    if problem is not None:
        raise InvalidRequest(problem, field=field)


def check_options(options: object, options_type: type | None, whose: str) -> None:
    """``InvalidRequest`` naming ``options`` unless ``options`` is ``None`` or an instance of
    the provider's ``options_type`` (``whose``: "aws's", for the message)."""
    if options is not None and (options_type is None or not isinstance(options, options_type)):
        expected = options_type.__qualname__ if options_type else "None"
        raise InvalidRequest(
            f"{type(options).__name__} is not {whose} options type ({expected})", field="options")


def check_tags(tags: Mapping[str, str], limits: Limits, field: str = "tags") -> None:
    items = list(tags.items())
    if len(items) > limits.max_tags:
        raise InvalidRequest(f"{len(items)} tags; at most {limits.max_tags}", field=field)
    for key, value in items:
        for prefix in (MANAGED_TAG, *limits.reserved_tag_prefixes):
            if key.casefold().startswith(prefix.casefold()):  # AWS reserves aws: in any case
                raise InvalidRequest(f"tag key {key!r} is reserved ({prefix}...)", field=field)
        if key in limits.reserved_tag_keys:
            raise InvalidRequest(f"tag key {key!r} is reserved", field=field)
        if len(key) > limits.max_tag_key_length:
            raise InvalidRequest(
                f"key {key[:20]!r}... longer than {limits.max_tag_key_length}", field=field
            )
        if len(value) > limits.max_tag_value_length:
            raise InvalidRequest(
                f"value of {key!r} longer than {limits.max_tag_value_length}", field=field
            )
        allowed = limits.tag_characters
        if allowed is not None:
            for part, text in (("key", key), ("value", value)):
                bad = allowed.first_bad(text)
                if bad is not None:
                    where = f"tag key {key!r}" if part == "key" else f"value of tag {key!r}"
                    raise InvalidRequest(
                        f"{where} has {bad!r} (U+{ord(bad):04X}); allowed: "
                        f"{allowed.description}", field=field)


def _resolve_size(vms: VMs, size: Size | str) -> Size:
    name = size.name if isinstance(size, Size) else size
    try:
        return vms.size(name)
    except NotFound as exc:
        raise InvalidRequest(f"unknown size {name!r} in this region", field="size") from exc


def _resolve_image(vms: VMs, image: Image | str, size: Size) -> Image:
    if isinstance(image, Image):
        resolved = image
    else:
        try:
            resolved = vms.image(image, arch=size.arch)
        except NotFound as exc:
            raise InvalidRequest(
                f"{image!r} is neither a portable image alias nor an image here "
                f"({exc.message})", field="image"
            ) from exc
    if resolved.arch != size.arch:
        raise InvalidRequest(
            f"image {resolved.id} is {resolved.arch} but size {size.name} is {size.arch}",
            field="image",
        )
    return resolved


def check_launch(ctx: CloudContext, vms: VMs, spec: object, count: object) -> LaunchPlan:
    """Validate ``spec`` and ``count`` against the cloud's rules; the plan the driver gets."""
    ctx.check_open("vms.launch")
    if not isinstance(spec, VMSpec):
        raise InvalidRequest(f"must be a VMSpec, not {type(spec).__name__}", field="spec")
    limits = ctx.drivers.limits
    checked_count = check_count(count, limits)
    longest = spec.name if checked_count == 1 else f"{spec.name}-{checked_count}"
    check_name(longest, limits)
    check_tags(spec.tags, limits)
    user_data = spec.user_data_bytes
    if user_data is not None:
        ctx.require(Capability.USER_DATA, "vms.launch")
        if len(user_data) > limits.max_user_data_bytes:
            raise InvalidRequest(
                f"{len(user_data)} bytes; {ctx.provider} allows {limits.max_user_data_bytes}",
                field="user_data",
            )
    if spec.disk_gib is not None and spec.disk_gib > limits.max_disk_gib:
        raise InvalidRequest(f"at most {limits.max_disk_gib} GiB", field="disk_gib")
    if spec.spot:
        ctx.require(Capability.SPOT, "vms.launch")
    if spec.open_ports:
        ctx.require(Capability.FIREWALLS, "vms.launch")
    check_options(spec.options, ctx.drivers.options_type, f"{ctx.provider}'s")
    size = _resolve_size(vms, spec.size)
    image = _resolve_image(vms, spec.image, size)
    if spec.zone is not None:
        check_zone(ctx, spec.zone)
    if spec.key_name is not None:
        keys = ctx.drivers.keys
        ctx.require(Capability.KEYS, "vms.launch")
        assert keys is not None
        names = {key.name for key in ctx.call("keys.list", keys.list_keys, idempotent=True)}
        if spec.key_name not in names:
            raise InvalidRequest(f"no key pair {spec.key_name!r}", field="key_name")
    plan = LaunchPlan(spec=spec, size=size, image=image, count=checked_count)
    compute = ctx.drivers.compute
    ctx.call("vms.check", lambda: compute.check_launch(plan), resource=spec.name, idempotent=True)
    return plan
