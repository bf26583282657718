"""Where moto answers differently from real EC2, patches that make it answer like EC2.

* ``DescribeInstances`` filter ``client-token`` (moto raises ``NotImplementedError``): EC2 lists
  the instances RunInstances made for that idempotency token.
* Filter values: EC2 reads only ``*`` and ``?`` as wildcards and ``\\`` escapes the next
  character (``\\*``, ``\\?``, ``\\\\``). moto reads them with ``fnmatch``, so ``[...]`` is a
  character class and ``\\\\`` is not understood.
* ``RunInstances`` ``TagSpecifications`` of type ``network-interface``: EC2 tags the instances'
  network interfaces; moto ignores them.
* ``DeleteSecurityGroup`` of a group a network interface or a live instance still uses: EC2
  answers ``DependencyViolation``; moto deletes it.
* EC2 XML namespaces: results carry ``xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"`` (with
  the slash), errors (``<Response><Errors>``) none; moto takes the slash-less namespace from
  botocore's model and puts it on errors too. botocore ignores namespaces; Libcloud reads them.

Each patch is a ``mock.patch`` that :class:`~unicompute.mocks.aws.AwsFake` starts and stops with
its images. A patch whose target this moto version lacks is left out (moto then answers as it
does).
"""

from __future__ import annotations

import re
from typing import Any
from unittest import mock


def ec2_filter_to_re(value: str) -> str:
    """An EC2 filter value as a regular expression matching what EC2 matches."""
    parts: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        elif char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return "(?s:" + "".join(parts) + r")\Z"


def patches() -> list[Any]:
    """The patches (not started) this moto version can take."""
    found: list[Any] = []
    try:
        from moto.ec2 import utils
        from moto.ec2.models import instances, tags
    except ImportError:  # pragma: no cover - a moto without these modules
        return found
    mapping = getattr(utils, "filter_dict_attribute_mapping", None)
    if isinstance(mapping, dict):
        found.append(mock.patch.dict(mapping, {"client-token": "client_token"}))
    for module in (utils, tags):
        if hasattr(module, "simple_aws_filter_to_re"):
            found.append(mock.patch.object(module, "simple_aws_filter_to_re", ec2_filter_to_re))
    backend = getattr(instances, "InstanceBackend", None)
    original = getattr(backend, "run_instances", None)
    if backend is not None and original is not None:

        def run_instances(self: Any, *args: Any, **kwargs: Any) -> Any:
            interface_tags = dict((kwargs.get("tags") or {}).get("network-interface") or {})
            reservation = original(self, *args, **kwargs)
            if interface_tags:
                for instance in reservation.instances:
                    for interface in getattr(instance, "nics", {}).values():
                        interface.add_tags(interface_tags)
            return reservation

        found.append(mock.patch.object(backend, "run_instances", run_instances))
    found.extend(_namespace_patches())
    found.extend(_group_in_use_patches())
    return found


def _group_in_use_patches() -> list[Any]:
    try:
        from moto.ec2.exceptions import DependencyViolationError
        from moto.ec2.models.security_groups import SecurityGroupBackend
    except ImportError:  # pragma: no cover - a moto without these
        return []
    original = getattr(SecurityGroupBackend, "_delete_security_group", None)
    if original is None:  # pragma: no cover
        return []

    def live(eni: Any) -> bool:
        # moto keeps a terminated instance's primary interface; EC2 deletes it with the instance.
        return eni.instance is None or eni.instance.state != "terminated"

    def delete_unless_in_use(self: Any, vpc_id: str | None, group_id: str) -> None:
        in_use = any(live(eni) and group_id in {g.id for g in eni.group_set}
                     for eni in getattr(self, "enis", {}).values())
        in_use = in_use or any(
            instance.state != "terminated"
            and group_id in {g.id for g in instance.security_groups}
            for instance in self.all_instances())
        if in_use:
            raise DependencyViolationError(f"resource {group_id} has a dependent object")
        original(self, vpc_id, group_id)

    return [mock.patch.object(SecurityGroupBackend, "_delete_security_group",
                              delete_unless_in_use)]


def _namespace_patches() -> list[Any]:
    try:
        from moto.core.serialize import EC2Serializer
    except ImportError:  # pragma: no cover - a moto without the serializer
        return []
    original = getattr(EC2Serializer, "_serialize_namespace_attribute", None)
    if original is None:  # pragma: no cover
        return []

    def namespace_like_ec2(self: Any, serialized: Any) -> None:
        if "Errors" in serialized:
            return
        original(self, serialized)
        namespace = serialized.get("@xmlns")
        if isinstance(namespace, str) and not namespace.endswith("/"):
            serialized["@xmlns"] = namespace + "/"

    return [mock.patch.object(EC2Serializer, "_serialize_namespace_attribute",
                              namespace_like_ec2)]
