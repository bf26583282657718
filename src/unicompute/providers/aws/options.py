"""AWS-only knobs, passed as ``VMSpec(options=unicompute.aws.Options(...))`` or
``FunctionSpec(options=unicompute.aws.Options(...))``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..._errors import InvalidRequest

#: EBS volume types RunInstances accepts for a root volume without further parameters. st1 and
#: sc1 (HDD) cannot be boot volumes; io1/io2 need an ``Iops`` value, which Options does not offer.
VOLUME_TYPES = frozenset({"gp2", "gp3", "standard"})
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")


@dataclass(frozen=True, kw_only=True)
class Options:
    """Typed AWS options for a launch; every field has a safe default.

    * ``subnet_id``: launch into this subnet (and its VPC) instead of the default VPC's subnet for
      the requested zone.
    * ``security_group_ids``: groups attached in addition to the per-launch group unicompute
      creates for ``open_ports``.
    * ``instance_profile``: IAM instance profile, by name or ARN.
    * ``volume_type``: EBS type of the root volume: ``gp3`` (default), ``gp2`` or ``standard``.
    * ``require_imdsv2``: require session tokens for the instance metadata service.
    * ``associate_public_ip``: force a public IPv4 address on or off; ``None`` keeps the subnet's
      default.
    * ``role_arn`` (functions): the Lambda execution role. ``None`` (default): a deploy creates
      a role with basic execution rights for the function and its delete removes it.
    """

    subnet_id: str | None = None
    security_group_ids: tuple[str, ...] = ()
    instance_profile: str | None = None
    volume_type: str = "gp3"
    require_imdsv2: bool = True
    associate_public_ip: bool | None = None
    role_arn: str | None = None

    def __post_init__(self) -> None:
        _optional_str(self.subnet_id, "options.subnet_id")
        _optional_str(self.instance_profile, "options.instance_profile")
        _optional_str(self.role_arn, "options.role_arn")
        if self.role_arn is not None and not _ROLE_ARN.fullmatch(self.role_arn):
            raise InvalidRequest("must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
                                 field="options.role_arn")
        groups = self.security_group_ids
        if isinstance(groups, str) or not all(isinstance(g, str) and g for g in groups):
            raise InvalidRequest(
                "must be a sequence of security group ids", field="options.security_group_ids"
            )
        object.__setattr__(self, "security_group_ids", tuple(groups))
        if self.volume_type not in VOLUME_TYPES:
            raise InvalidRequest(
                f"{self.volume_type!r} is not a root volume type; use one of "
                f"{', '.join(sorted(VOLUME_TYPES))}",
                field="options.volume_type",
            )
        if not isinstance(self.require_imdsv2, bool):
            raise InvalidRequest("must be a bool", field="options.require_imdsv2")
        if self.associate_public_ip is not None and not isinstance(self.associate_public_ip, bool):
            raise InvalidRequest("must be a bool or None", field="options.associate_public_ip")


def _optional_str(value: object, field: str) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidRequest("must be a non-empty str or None", field=field)
