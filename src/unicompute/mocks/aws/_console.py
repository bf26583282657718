"""EC2 console output and first-boot notice on moto.

:func:`patches` gives (not started) ``mock.patch`` objects: moto's ``GetConsoleOutput``
answers the instance's console from a :class:`~unicompute.mocks.metadata._console.ConsoleLog`
(base64 ``Output``, as EC2 sends it, the latest 64 KiB) instead of moto's fixed sample; and,
when ``after_ec2`` is given, it is called after every EC2 request moto answers in-process
(the metadata plane boots newly running instances there).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, cast
from unittest import mock

from ..metadata._console import ConsoleLog

#: EC2 returns at most the latest 64 KiB of console output.
MAX_OUTPUT = 64 * 1024


def patches(console: ConsoleLog, after_ec2: Callable[[], None] | None = None) -> list[Any]:
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.ec2.responses.general import General

    def get_console_output(self: Any) -> Any:
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        raw = console.text(instance.id, instance.private_dns_name).encode()[-MAX_OUTPUT:]
        return ActionResult({"InstanceId": instance.id, "Timestamp": utcnow(),
                             "Output": _Encoded(base64.b64encode(raw).decode())})

    found = [mock.patch.object(General, "get_console_output", get_console_output)]
    if after_ec2 is not None:
        original = BotocoreStubber.__call__

        def __call__(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            response = original(stubber, event_name, request, **kwargs)
            if response is not None and event_name.startswith("before-send.ec2."):
                after_ec2()
            return response

        found.append(mock.patch.object(BotocoreStubber, "__call__", cast(Any, __call__)))
    return found


def _Encoded(value: str) -> Any:
    from moto.core.types import Base64EncodedString

    return Base64EncodedString(value)
