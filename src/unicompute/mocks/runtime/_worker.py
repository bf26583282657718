"""The worker process of the local function runtime: one sandbox running one function.

Run as a script (``python -I -u _worker.py <read-fd> <write-fd> <init-json>``), never imported by
the caller's process: it imports nothing from ``unicompute`` and only light standard modules, so
a cold start costs little more than the interpreter's own start-up.

Protocol (both directions): frames of ``4-byte big-endian length | 1-byte kind | body`` over two
pipes inherited as file descriptors; stdout and stderr are the function's log (a file the parent
reads per invocation), so anything the handler or a C extension prints is captured.

* worker -> parent, once: ``b"r"`` ready, body JSON ``{"init_ms": float, "error": null | {...}}``.
* parent -> worker: ``b"i"`` invoke, body ``<header JSON>\\n<event bytes>``; the header holds
  ``request_id``, ``deadline_ms`` (epoch ms), ``arn`` and optional ``client_context``/``identity``.
* worker -> parent: ``b"o"`` ok (body: the JSON result) or ``b"e"`` error (body: JSON
  ``{"errorMessage","errorType","stackTrace"}``), each preceded by an 8-byte header of
  ``duration_us (uint32) | max_rss_kb (uint32)``.

A handler that calls ``sys.exit`` or crashes ends the process: the parent sees the pipe close.
A ``MemoryError`` is reported as ``Runtime.OutOfMemory`` and the worker then exits, as Lambda
discards a sandbox that ran out of memory.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import struct
import sys
import time
import traceback

TYPE_CHECKING = False  # not ``typing``'s: the worker does not import it
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_HEAD = struct.Struct(">IB")
_STATS = struct.Struct(">II")


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _send(fd: int, kind: int, body: bytes) -> None:
    data = _HEAD.pack(len(body), kind) + body
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class _Identity:
    def __init__(self, value: dict[str, Any] | None) -> None:
        value = value or {}
        self.cognito_identity_id = value.get("cognitoIdentityId")
        self.cognito_identity_pool_id = value.get("cognitoIdentityPoolId")


class _Client:
    def __init__(self, value: dict[str, Any]) -> None:
        self.installation_id = value.get("installation_id")
        self.app_title = value.get("app_title")
        self.app_version_name = value.get("app_version_name")
        self.app_version_code = value.get("app_version_code")
        self.app_package_name = value.get("app_package_name")


class _ClientContext:
    def __init__(self, value: dict[str, Any]) -> None:
        self.client = _Client(value["client"]) if value.get("client") else None
        self.custom = value.get("custom")
        self.env = value.get("env")


class LambdaContext:
    """The ``context`` a Python Lambda handler receives (the ``awslambdaric`` attributes)."""

    def __init__(self, header: dict[str, Any]) -> None:
        env = os.environ
        self.aws_request_id = header["request_id"]
        self.invoked_function_arn = header.get("arn", "")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = _Identity(header.get("identity"))
        ctx = header.get("client_context")
        self.client_context = _ClientContext(ctx) if ctx else None
        self._deadline_ms = header["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def __repr__(self) -> str:
        return (f"LambdaContext([aws_request_id={self.aws_request_id},"
                f"function_name={self.function_name},"
                f"function_version={self.function_version}])")


def _host(kind: str) -> tuple[Callable[[dict[str, Any]], Any],
                              Callable[[str], tuple[Callable[..., Any] | None,
                                                    dict[str, Any] | None]]]:
    """How the platform ``kind`` makes the context and loads the code: Lambda's here, any
    other's from ``_host_<kind>.py`` beside this script, whose ``make_context(header)`` and
    ``load(entry)`` have the signatures of :class:`LambdaContext` and :func:`_load`."""
    if kind == "aws":
        return LambdaContext, _load
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"_host_{kind}.py")
    spec = importlib.util.spec_from_file_location(f"_unicompute_host_{kind}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_context, module.load


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _install_logging() -> _RequestIdFilter:
    """Lambda's root handler: ``[LEVEL]\\t<time>Z\\t<request id>\\t<message>``."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S"))
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    request_filter = _RequestIdFilter()
    handler.addFilter(request_filter)
    logging.getLogger().addHandler(handler)
    return request_filter


def _error(exc: BaseException, error_type: str | None = None, message: str | None = None,
           with_trace: bool = True) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)[1:] if with_trace else []
    return {
        "errorMessage": str(exc) if message is None else message,
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(frames),
    }


def _load(entry: str) -> tuple[Callable[..., Any] | None, dict[str, Any] | None]:
    """The handler named ``module.attr``, or Lambda's init error payload."""
    module_name, dot, attr = entry.rpartition(".")
    if not dot or not module_name or not attr:
        return None, {"errorMessage": f"Bad handler '{entry}': not enough values to unpack "
                                      "(expected 2, got 1)",
                      "errorType": "Runtime.MalformedHandlerName", "stackTrace": []}
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        return None, {"errorMessage": f"Unable to import module '{module_name}': {exc}",
                      "errorType": "Runtime.ImportModuleError", "stackTrace": []}
    except SyntaxError as exc:
        return None, {"errorMessage": f"Syntax error in module '{module_name}': {exc}",
                      "errorType": "Runtime.UserCodeSyntaxError", "stackTrace": []}
    except MemoryError as exc:
        return None, _error(exc, "Runtime.OutOfMemory", "Runtime exited: out of memory")
    except Exception as exc:
        return None, _error(exc)
    handler = getattr(module, attr, None)
    if handler is None:
        return None, {"errorMessage": f"Handler '{attr}' missing on module '{module_name}'",
                      "errorType": "Runtime.HandlerNotFound", "stackTrace": []}
    return handler, None


def _open_status() -> int:
    """``/proc/self/status`` kept open (re-read with ``pread``), or -1 where there is none."""
    try:
        return os.open("/proc/self/status", os.O_RDONLY)
    except OSError:
        return -1


def _status_kb(fd: int, field: bytes) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmHWM`` is the peak resident set of this
    process; ``ru_maxrss`` would include the parent's when the child was vforked)."""
    if fd < 0:
        return 0
    data = os.pread(fd, 4096, 0)
    at = data.find(field)
    if at < 0:
        return 0
    return int(data[at + len(field):data.index(b"kB", at)])


def _unreachable(*_: Any) -> None:  # pragma: no cover - init errors are answered instead
    raise AssertionError("no handler")


def main() -> None:
    rfd, wfd = int(sys.argv[1]), int(sys.argv[2])
    init = json.loads(sys.argv[3])
    keep = set(init["env_names"])
    for name in [name for name in os.environ if name not in keep]:
        del os.environ[name]  # e.g. LC_CTYPE, set by the interpreter's locale coercion
    started = time.perf_counter()
    status_fd = _open_status()
    memory = init.get("memory_bytes")
    if memory:
        # Resident memory is what Lambda limits; the kernel can only cap address space. Allow
        # the memory size plus what the interpreter has mapped but does not keep resident.
        size, resident = _status_kb(status_fd, b"VmSize:"), _status_kb(status_fd, b"VmRSS:")
        limit = memory + max(size - resident, 0) * 1024 + init.get("slack_bytes", 0)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.path.insert(0, init["code_dir"])
    os.chdir(init["code_dir"])
    request_filter = _install_logging()
    make_context, load = _host(init.get("context_kind", "aws"))
    handler, init_error = load(init["entry"])
    call: Callable[..., Any] = handler if handler is not None else _unreachable
    sys.stdout.flush()
    sys.stderr.flush()
    _send(wfd, ord("r"), json.dumps({
        "init_ms": (time.perf_counter() - started) * 1000.0, "error": init_error,
    }).encode())

    dumps, loads, perf = json.dumps, json.loads, time.perf_counter
    getrusage, self_usage = resource.getrusage, resource.RUSAGE_SELF
    while True:
        try:
            length, kind = _HEAD.unpack(_read_exact(rfd, 5))
            body = _read_exact(rfd, length)
        except EOFError:
            return
        if kind != ord("i"):
            return
        head, _, event = body.partition(b"\n")
        header = loads(head)
        request_filter.request_id = header["request_id"]
        fatal = False
        begin = perf()
        if init_error is not None:
            out_kind, out = ord("e"), dumps(init_error).encode()
        else:
            try:
                result = call(loads(event) if event else {}, make_context(header))
                try:
                    out_kind, out = ord("o"), dumps(result).encode()
                except (TypeError, ValueError) as exc:
                    out_kind, out = ord("e"), dumps({
                        "errorMessage": f"Unable to marshal response: {exc}",
                        "errorType": "Runtime.MarshalError", "stackTrace": []}).encode()
            except MemoryError as exc:
                fatal = True
                out_kind, out = ord("e"), dumps(_error(
                    exc, "Runtime.OutOfMemory",
                    f"RequestId: {header['request_id']} Error: Runtime exited with error: "
                    "out of memory")).encode()
            except Exception as exc:
                error = _error(exc)
                sys.stdout.write(f"[ERROR] {error['errorType']}: {error['errorMessage']}\n"
                                 "Traceback (most recent call last):\n"
                                 + "".join(error["stackTrace"]))
                out_kind, out = ord("e"), dumps(error).encode()
        duration_us = min(int((perf() - begin) * 1e6), 0xFFFFFFFF)
        sys.stdout.flush()
        sys.stderr.flush()
        rss = _status_kb(status_fd, b"VmHWM:") if status_fd >= 0 else \
            getrusage(self_usage).ru_maxrss
        _send(wfd, out_kind, _STATS.pack(duration_us, rss) + out)
        if fatal:
            os._exit(137)


if __name__ == "__main__":
    main()
