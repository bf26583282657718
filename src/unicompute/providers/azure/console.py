"""Serial console output of Azure VMs, from boot diagnostics.

``launch`` enables *managed* boot diagnostics (``diagnosticsProfile.bootDiagnostics.enabled``
without a storage account: Azure keeps the log in storage of its own). The log is read the way
the portal reads it: ``retrieveBootDiagnosticsData`` gives a short-lived SAS URL of the serial
log blob, fetched with a plain GET. The SAS URL is a secret: it is never logged nor put in an
error message, and the GET carries no ARM token.
"""

from __future__ import annotations

from typing import Any

import requests

from ..._errors import ProviderError
from .convert import PROVIDER

#: Minutes the SAS URL lives; it is used once, at once (Azure allows 1-1440).
SAS_MINUTES = 5
#: Seconds for the blob GET.
BLOB_TIMEOUT = 60


def console_output(virtual_machines: Any, group: str, name: str, vm_id: str) -> str:
    """The serial log of VM ``name`` in ``group`` as text; ``""`` before Azure wrote any."""
    found = virtual_machines.retrieve_boot_diagnostics_data(
        group, name, sas_uri_expiration_time_in_minutes=SAS_MINUTES)
    uri = getattr(found, "serial_console_log_blob_uri", None)
    if not uri:
        return ""
    return _read_blob(str(uri), vm_id)


def _read_blob(uri: str, vm_id: str) -> str:
    def failed(why: str) -> ProviderError:
        return ProviderError(f"reading the serial log blob of boot diagnostics failed: {why}",
                             provider=PROVIDER, operation="vms.console_output",
                             resource=vm_id)

    reply: requests.Response | None = None
    broken = ""
    try:
        with requests.Session() as session:
            reply = session.get(uri, timeout=BLOB_TIMEOUT)
    except requests.RequestException as exc:
        broken = type(exc).__name__
    if reply is None:
        # Raised outside the except block: the requests exception (its text holds the SAS URL)
        # must not even be the error's __context__.
        raise failed(broken)
    if reply.status_code == 404:  # the blob appears once the VM has written to its console
        return ""
    if reply.status_code != 200:
        code = reply.headers.get("x-ms-error-code", "")
        raise failed(f"HTTP {reply.status_code} {code}".strip())
    return reply.content.decode("utf-8", errors="replace")
