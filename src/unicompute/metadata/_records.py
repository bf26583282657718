"""What the metadata client returns: :class:`InstanceIdentity`, :class:`InterruptionNotice`,
and the error raised when a metadata service answers badly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .._errors import ProviderError

#: What the cloud will do to an interrupted VM.
Action = Literal["terminate", "stop", "hibernate"]


class MetadataError(ProviderError):
    """A metadata service was found but answered badly: an unexpected status, a body that is
    not what the service documents, or a connection that broke after the cloud was detected.
    ``status`` is the HTTP status when there was one; ``resource`` is the path asked for."""

    def __init__(self, message: str, *, status: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status = status


@dataclass(frozen=True, kw_only=True)
class InstanceIdentity:
    """Who the VM this process runs on is, as its cloud's metadata service says.

    ``instance_id`` is the portable id ``cloud.vms.get()`` takes (AWS instance id, Azure ARM
    resource id, GCP ``<zone>/<name>``); ``native_id`` the cloud's own (AWS instance id, Azure
    ``vmId``, GCE numeric id). ``name``, ``size``, ``image``, ``zone``, IPs, ``tags`` and
    ``spot`` are spelled as :class:`~unicompute.VM` spells them. ``tags`` (and, on AWS, ``name``,
    which is the ``Name`` tag) is ``None`` when the metadata service does not expose them: always
    on GCP (labels are not in its metadata server), on EC2 for an instance launched without
    ``InstanceMetadataTags``. ``user_data`` is the raw user data (``None`` without any).
    """

    provider: str
    instance_id: str
    native_id: str
    name: str | None
    region: str
    zone: str | None
    size: str
    image: str
    private_ip: str | None
    public_ip: str | None
    tags: Mapping[str, str] | None
    spot: bool
    user_data: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class InterruptionNotice:
    """A pending spot/preemption interruption of this VM.

    ``action`` is what happens to the VM; ``not_before`` when it may happen at the earliest
    (``None`` when the service gives no time: a GCE preemption is under way, ~30 s); ``raw`` the
    service's own record (AWS ``instance-action`` JSON, the Azure scheduled event, GCE's
    ``preempted`` value).
    """

    provider: str
    action: Action
    not_before: datetime | None
    raw: Any = field(default=None, repr=False, compare=False)
