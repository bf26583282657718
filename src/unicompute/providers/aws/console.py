"""Serial console output of EC2 instances (``GetConsoleOutput``).

``Latest=True`` asks for the most recent output (up to 64 KiB) rather than what EC2 buffered at
boot; only instances built on Nitro support it, so on the others EC2 refuses it and the call is
repeated without it. EC2 sends the output base64-encoded; botocore decodes it (UTF-8, undecodable
bytes replaced) before the client returns.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from ._context import Context, error_code

#: EC2's answers to ``Latest=True`` on an instance type that does not support it.
LATEST_REFUSED = frozenset({"UnsupportedOperation", "InvalidParameterCombination"})


def console_output(ctx: Context, vm_id: str) -> str:
    """The console output of instance ``vm_id`` as text; ``""`` when EC2 has none yet.
    ``NotFound`` for an unknown or terminated instance."""
    ctx.live_instance(vm_id)
    try:
        answer = ctx.client.get_console_output(InstanceId=vm_id, Latest=True)
    except ClientError as exc:
        if error_code(exc) not in LATEST_REFUSED:
            raise
        answer = ctx.client.get_console_output(InstanceId=vm_id)
    return answer.get("Output") or ""
