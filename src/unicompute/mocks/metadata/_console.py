"""What a fake VM printed on its serial console: a few boot lines, then its user data's output.

One :class:`ConsoleLog` per fake (the console-output endpoints of the three control-plane fakes
read it); keys are the instance ids the cloud uses (EC2 ``i-...``, Azure ``vmId``, GCE numeric
``id``).
"""

from __future__ import annotations

import threading

_KERNELS = {"aws": "6.8.0-1021-aws", "azure": "6.8.0-1021-azure", "gcp": "6.8.0-1021-gcp"}
_SOURCES = {"aws": "DataSourceEc2Local", "azure": "DataSourceAzure [seed=/dev/sr0]",
            "gcp": "DataSourceGCELocal"}


def boot_lines(provider: str, hostname: str) -> str:
    """The kernel and cloud-init lines a fresh Ubuntu VM of ``provider`` prints before the
    user-data stage."""
    kernel = _KERNELS[provider]
    return (f"[    0.000000] Linux version {kernel} (buildd@lcy02-amd64-001) #22-Ubuntu SMP\n"
            f"[    0.000000] Command line: BOOT_IMAGE=/vmlinuz-{kernel} root=LABEL=cloudimg-rootfs "
            "ro console=tty1 console=ttyS0\n"
            "[    2.718281] EXT4-fs (sda1): mounted filesystem with ordered data mode.\n"
            "[    4.123456] cloud-init[512]: Cloud-init v. 24.4 running 'init' at "
            f"boot. Up 4.12 seconds.\n"
            f"[    4.200000] cloud-init[512]: hostname: {hostname}\n"
            "[    6.000000] cloud-init[700]: Cloud-init v. 24.4 running 'modules:final'. "
            "Up 6.00 seconds.\n")


def finish_line(provider: str) -> str:
    return (f"[    7.000000] cloud-init[700]: Cloud-init v. 24.4 finished. Datasource "
            f"{_SOURCES[provider]}.  Up 7.00 seconds\n")


class ConsoleLog:
    """Serial console text per instance id; an instance nothing was recorded for shows the
    plain boot log (what a VM without user data prints)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self._texts: dict[str, str] = {}
        self._lock = threading.Lock()

    def record(self, key: str, text: str) -> None:
        """Append ``text`` to the console of instance ``key``."""
        with self._lock:
            self._texts[key] = self._texts.get(key, "") + text

    def recorded(self, key: str) -> bool:
        with self._lock:
            return key in self._texts

    def text(self, key: str, hostname: str) -> str:
        """The whole console of instance ``key`` (``hostname`` names it in the boot lines)."""
        with self._lock:
            found = self._texts.get(key)
        if found is not None:
            return found
        return boot_lines(self.provider, hostname) + finish_line(self.provider)

    def clear(self) -> None:
        with self._lock:
            self._texts.clear()


def console_of(owner: object, provider: str) -> ConsoleLog:
    """The :class:`ConsoleLog` a control-plane fake ``owner`` keeps (made on first use)."""
    found = owner.__dict__.get("_consoles")
    if found is None:
        found = owner.__dict__["_consoles"] = ConsoleLog(provider)
    return found
