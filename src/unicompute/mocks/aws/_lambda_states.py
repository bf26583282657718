"""Failed Lambda functions in the AWS fake (moto's functions are always ``Active``).

:meth:`FunctionsHandle.fail <unicompute.mocks.aws._functions.FunctionsHandle.fail>` marks a
function the way Lambda reports the two failures a deploy meets:

* a failed create: ``State: Failed`` with ``StateReason`` and ``StateReasonCode``. Lambda's
  guide says such a function must be deleted and created again; updates do not clear it;
* a failed update: ``State: Active`` with ``LastUpdateStatus: Failed``,
  ``LastUpdateStatusReason`` and ``LastUpdateStatusReasonCode``; the next successful
  ``UpdateFunctionCode`` or ``UpdateFunctionConfiguration`` clears it (``Successful``).

The mark is kept on moto's function object (it goes when the function is deleted or moto is
reset); :func:`state_patches` make ``GetFunction``, ``GetFunctionConfiguration`` and
``ListFunctions`` show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from unittest import mock

_MARK = "_unicompute_failure"


@dataclass(frozen=True)
class Failure:
    kind: Literal["create", "update"]
    reason: str
    code: str


def mark(fn: Any, failure: Failure) -> None:
    """Mark moto's function ``fn`` as failed."""
    setattr(fn, _MARK, failure)


def state_patches() -> list[Any]:
    """The ``mock.patch`` objects (not started) that show and clear the marks."""
    from moto.awslambda.models import LambdaFunction

    get_configuration = LambdaFunction.get_configuration
    update_configuration = LambdaFunction.update_configuration
    update_function_code = LambdaFunction.update_function_code

    def configuration(fn: Any, on_create: bool = False) -> dict[str, Any]:
        config: dict[str, Any] = get_configuration(fn, on_create)
        failure: Failure | None = getattr(fn, _MARK, None)
        if failure is not None and failure.kind == "create":
            config.update(State="Failed", StateReason=failure.reason,
                          StateReasonCode=failure.code)
        elif failure is not None:
            config.update(LastUpdateStatus="Failed", LastUpdateStatusReason=failure.reason,
                          LastUpdateStatusReasonCode=failure.code)
        return config

    def _cleared(fn: Any) -> None:
        failure: Failure | None = getattr(fn, _MARK, None)
        if failure is not None and failure.kind == "update":
            delattr(fn, _MARK)

    def new_configuration(fn: Any, updates: dict[str, Any]) -> dict[str, Any]:
        update_configuration(fn, updates)
        _cleared(fn)
        return configuration(fn)

    def new_code(fn: Any, spec: dict[str, Any]) -> dict[str, Any]:
        update_function_code(fn, spec)
        _cleared(fn)
        return configuration(fn)

    return [mock.patch.object(LambdaFunction, "get_configuration", configuration),
            mock.patch.object(LambdaFunction, "update_configuration", new_configuration),
            mock.patch.object(LambdaFunction, "update_function_code", new_code)]
