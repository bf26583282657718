"""Who am I? The instance metadata of the VM this process runs on, on AWS, Azure and GCP.

::

    from unicompute import metadata

    me = metadata.current()          # None off-cloud (answers within about a second)
    if me is not None:
        print(me.provider, me.instance_id, me.zone, me.tags)
        notice = metadata.interruption_notice()
        if notice is not None:       # spot/preemption: checkpoint and leave
            print(notice.action, notice.not_before)

``current()`` probes the three metadata services at once (EC2 IMDS, Azure IMDS, the GCE metadata
server), each with a short timeout, and reads the identity from the one that answers. Its
``instance_id`` is the id ``cloud.vms.get()`` takes: the EC2 instance id, the Azure ARM resource
id, GCP ``<zone>/<name>``. On AWS only IMDSv2 is used (a session token, never a v1 read).

Only the standard library is used (``http.client``: never a proxy; no cloud SDK), so the module
works on a VM with nothing but ``pip install unicompute``. Endpoints follow the variables the
SDKs read: ``AWS_EC2_METADATA_SERVICE_ENDPOINT``, ``AZURE_POD_IDENTITY_AUTHORITY_HOST``,
``GCE_METADATA_HOST`` (``GCE_METADATA_IP``); ``unicompute.mocks`` sets them inside a fake VM.

A service that answered the probe but then answers badly (an unexpected status, a body that is
not what the service documents, a broken connection) raises :class:`MetadataError`, a
:class:`~unicompute.ProviderError`.
"""

from __future__ import annotations

from .._errors import InvalidRequest
from .._waiting import check_timeout
from ._detect import PROBES, Client, detect
from ._records import Action, InstanceIdentity, InterruptionNotice, MetadataError

#: Seconds each probe may take by default; off-cloud ``current()`` returns ``None`` after it.
PROBE_TIMEOUT = 1.0


def _client(timeout: float, provider: str | None) -> Client | None:
    seconds = check_timeout(timeout)
    if seconds <= 0:
        raise InvalidRequest("must be a number of seconds > 0", field="timeout")
    if provider is None:
        return detect(seconds)
    if provider not in PROBES:
        raise InvalidRequest(f"must be one of {', '.join(PROBES)}, not {provider!r}",
                             field="provider")
    return detect(seconds, (provider,))


def cloud(*, timeout: float = PROBE_TIMEOUT) -> str | None:
    """``"aws"``, ``"azure"`` or ``"gcp"``: the cloud whose metadata service answers within
    ``timeout`` seconds; ``None`` off-cloud."""
    found = _client(timeout, None)
    return None if found is None else found.provider


def current(*, timeout: float = PROBE_TIMEOUT,
            provider: str | None = None) -> InstanceIdentity | None:
    """The identity of this VM, or ``None`` when no metadata service answers within
    ``timeout`` seconds (or, with ``provider``, not that cloud's).

    Each call asks again (tags and IPs change); reads after detection wait up to 5 s each.
    Raises :class:`MetadataError` when the service answers badly and
    :class:`~unicompute.InvalidRequest` for a bad ``timeout`` or ``provider``.
    """
    found = _client(timeout, provider)
    return None if found is None else found.identity()


def interruption_notice(*, timeout: float = PROBE_TIMEOUT,
                        provider: str | None = None) -> InterruptionNotice | None:
    """The pending spot/preemption interruption of this VM, or ``None`` (none pending, or not
    on a cloud): AWS ``spot/instance-action``, an Azure Scheduled Event ``Preempt`` naming this
    VM, GCE ``instance/preempted``. Errors as :func:`current`."""
    found = _client(timeout, provider)
    return None if found is None else found.interruption()


__all__ = [
    "PROBE_TIMEOUT",
    "Action",
    "InstanceIdentity",
    "InterruptionNotice",
    "MetadataError",
    "cloud",
    "current",
    "interruption_notice",
]
