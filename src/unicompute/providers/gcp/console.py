"""Serial console output of GCE instances (``instances.getSerialPortOutput``, port 1).

GCE answers at most 1 MiB per call, from byte ``start``, and says where the next read starts
(``next``); the calls are repeated from there until an answer is empty. GCE keeps only the most
recent output, so a ``start`` older than what it holds is answered from its oldest byte.
"""

from __future__ import annotations

from typing import Any

from google.cloud import compute_v1

#: Calls per console_output at most (each up to 1 MiB; GCE keeps about 1 MiB in all).
MAX_CALLS = 16


def console_output(instances: Any, rpc: dict[str, Any], *, project: str, zone: str,
                   name: str) -> str:
    """Everything GCE holds of serial port 1 of instance ``name``; ``""`` when nothing yet."""
    parts: list[str] = []
    start = 0
    for _ in range(MAX_CALLS):
        request = compute_v1.GetSerialPortOutputInstanceRequest(
            project=project, zone=zone, instance=name, port=1, start=start)
        found = instances.get_serial_port_output(request=request, **rpc)
        if not found.contents:
            break
        parts.append(found.contents)
        following = int(found.next_ or 0)
        if following <= start:
            break
        start = following
    return "".join(parts)
