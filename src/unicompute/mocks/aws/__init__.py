"""The AWS fake: moto, plus the public images real code asks EC2 for.

moto answers boto3 in-process (:meth:`AwsFake.start`) or over HTTP (:meth:`AwsFake.serve`); both
share moto's state. moto ships few of the public AMIs that real AWS has, so the fake adds the
Ubuntu, Debian and Windows images listed in ``images.json`` (Amazon Linux 2023 already comes
with moto) to every region, under their publishers' real owner accounts and name schemes, so that
image look-ups written for real AWS work unchanged. Lambda runs without Docker. The instance-type
catalog, which never changes, is serialized once instead of on every call (see ``_catalog``).
Where moto answers differently from EC2 in ways unicompute relies on (filter wildcards and the
``client-token`` filter, tags on network interfaces), it is patched to answer like EC2 (see
``_fidelity``). While the fake runs, the user's AWS configuration is hidden from this process
(see :data:`HIDDEN_CONFIG`): a profile named in the environment that the fake cannot find would
otherwise break moto, and the fake must not depend on, or read, the user's real setup.
:attr:`AwsFake.faults` injects AWS errors, throttling and latency, in-process and over HTTP, and
logs the calls (see ``_faults``).

This module never imports ``unicompute.providers``.
"""

from __future__ import annotations

import copy
import json
import os
from importlib import resources
from types import TracebackType
from typing import TYPE_CHECKING, Any
from unittest import mock

from .._kernel.clock import FakeClock
from . import _fidelity
from ._catalog import cached_catalog
from ._faults import Call, Faults
from ._function_urls import ROUTE as FUNCTION_URL_ROUTE
from ._function_urls import function_url_app
from ._functions import FunctionsHandle
from ._lambda import LambdaRunner

if TYPE_CHECKING:
    from moto.core.config import DefaultConfig

#: moto configuration for every fake: Lambda functions are recorded, not run in Docker.
MOTO_CONFIG: DefaultConfig = {"lambda": {"use_docker": False}}

#: Environment variables set (``None``: removed) while a fake runs, so that neither moto nor the
#: clients it answers read the user's AWS profile, config file or shared credentials file.
HIDDEN_CONFIG: dict[str, str | None] = {
    "AWS_PROFILE": None,
    "AWS_DEFAULT_PROFILE": None,
    "AWS_CONFIG_FILE": os.devnull,  # not a regular file: botocore reads no config at all
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def seed_images() -> list[dict[str, Any]]:
    """Fresh copies of the public AMIs the fake adds (moto's ``amis.json`` entry shape)."""
    text = resources.files(__name__).joinpath("images.json").read_text(encoding="utf-8")
    images: list[dict[str, Any]] = json.loads(text)["images"]
    return copy.deepcopy(images)


class AwsFake:
    """moto with the public images added; in-process, served over HTTP, or both.

    ``start()``/``stop()`` patch boto3 in this process (``moto.mock_aws``) starting from empty
    state; ``serve()``/``shutdown_server()`` run a moto server for other processes. ``reset()``
    forgets every resource. The added images exist, and the user's AWS configuration is hidden
(:data:`HIDDEN_CONFIG`; the variables get their exact values back afterwards), while either
mode runs. Not re-entrant.

    :attr:`faults` (:class:`~unicompute.mocks.aws._faults.Faults`) fails, throttles or delays
    the calls of clients answered in-process or by the server, and logs every call; it is
    emptied by ``stop()`` and ``reset()``.
    """

    def __init__(self) -> None:
        self._mock: Any = None
        self._server: Any = None
        self._server_config: Any = None
        self._seeded: list[dict[str, Any]] = []
        self._catalog_patch: Any = None
        self._fidelity_patches: list[Any] = []
        #: Failures, throttling and latency for the fake's clients, and their call log.
        self.faults = Faults()
        self._faults_patch: Any = None
        #: The values :data:`HIDDEN_CONFIG` replaced (``None``: unset), while the fake runs.
        self._saved_env: dict[str, str | None] | None = None
        self.endpoint_url: str | None = None
        #: The fake's time: EventBridge schedules fire, and SQS messages a function failed on
        #: become visible again, as it advances; idle function workers are reaped by it.
        self.clock = FakeClock()
        self._runner = LambdaRunner(self.clock)
        #: Lambda functions run locally: ``poll()`` SQS event sources, ``drain()`` async runs.
        self.functions = FunctionsHandle(self._runner, self.clock)

    # -- in-process ------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Whether boto3 clients in this process are answered by the fake."""
        return self._mock is not None

    def start(self) -> AwsFake:
        """Answer boto3 clients created from now on in-process, from empty state (unless
        :meth:`serve` already runs: then both share the server's state)."""
        if self._mock is not None:
            raise RuntimeError("this AwsFake is already started")
        try:
            self._acquire()
            from moto import mock_aws

            faults_patch = self.faults.patch()
            faults_patch.start()
            self._faults_patch = faults_patch
            self._mock = mock_aws(config=MOTO_CONFIG)
            self._mock.start(reset=self._server is None)
        except BaseException:
            self._mock = None
            if self._faults_patch is not None:
                self._faults_patch.stop()
                self._faults_patch = None
            self._release()
            raise
        return self

    def stop(self) -> None:
        """Stop answering in-process and drop the state (unless a server still runs)."""
        if self._mock is None:
            return
        mock_ = self._mock
        self._mock = None
        try:
            if self._faults_patch is not None:
                patch, self._faults_patch = self._faults_patch, None
                patch.stop()
            self.faults.clear()
            mock_.stop(remove_data=self._server is None)
        finally:
            self._release()

    def reset(self) -> None:
        """Forget every resource in every region and account, and every fault and logged
        call; the added images come back."""
        self.faults.clear()
        self.functions.reset()
        from moto.core.base_backend import BackendDict
        from moto.core.model_instances import reset_model_data

        BackendDict.reset()
        reset_model_data()

    def routes(self) -> dict[str, Any]:
        """URL prefixes answered in-process besides boto3's (moto patches botocore itself):
        Lambda function URLs."""
        return {FUNCTION_URL_ROUTE: function_url_app(self._runner)}

    # -- over HTTP -------------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start a moto server on ``host``:``port`` (0: any free port); its endpoint URL.

        Without a running in-process fake the server starts from empty state.
        """
        if self._server is not None:
            raise RuntimeError(f"this AwsFake already serves {self.endpoint_url}")
        try:
            self._acquire()
            from moto.core.config import default_user_config
            from moto.server import ThreadedMotoServer

            if self._mock is None:
                self.reset()
            self._server_config = mock.patch.dict(default_user_config, MOTO_CONFIG)
            self._server_config.start()
            server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
            server.start()
            try:
                self.faults.serve_through(server)
            except BaseException:
                server.stop()
                raise
        except BaseException:
            if self._server_config is not None:
                self._server_config.stop()
                self._server_config = None
            self._release()
            raise
        self._server = server
        bound_host, bound_port = server.get_host_and_port()
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.endpoint_url = f"http://{url_host}:{bound_port}"
        return self.endpoint_url

    def shutdown_server(self) -> None:
        """Stop the server started by :meth:`serve`, if any."""
        if self._server is None:
            return
        server, self._server = self._server, None
        self.endpoint_url = None
        try:
            server.stop()
        finally:
            if self._server_config is not None:
                self._server_config.stop()
                self._server_config = None
            if self._mock is None:
                self.reset()
            self._release()

    # -- what both modes share -----------------------------------------------------------
    def _acquire(self) -> None:
        """Hide the user's AWS configuration, add the public images and the catalog cache,
        unless the other mode already did."""
        if self._saved_env is None:
            self._saved_env = {name: os.environ.get(name) for name in HIDDEN_CONFIG}
            _set_env(HIDDEN_CONFIG)
        if self._seeded:
            return
        from moto.ec2.models import amis  # reads the AWS configuration on first import

        # moto creates each region's AMIs from this list when the region is first used.
        self._seeded = seed_images()
        amis.AMIS.extend(self._seeded)
        self._catalog_patch = cached_catalog()
        if self._catalog_patch is not None:
            self._catalog_patch.start()
        self._fidelity_patches = _fidelity.patches()
        for patch in self._fidelity_patches:
            patch.start()
        self.functions.start()

    def _release(self) -> None:
        """Undo :meth:`_acquire` once neither mode runs; the environment variables get back
        exactly the values they had before."""
        if self._mock is not None or self._server is not None:
            return
        try:
            if self._seeded:
                from moto.ec2.models import amis

                mine = {id(entry) for entry in self._seeded}
                amis.AMIS[:] = [entry for entry in amis.AMIS if id(entry) not in mine]
                self._seeded = []
            if self._catalog_patch is not None:
                self._catalog_patch.stop()
                self._catalog_patch = None
            for patch in reversed(self._fidelity_patches):
                patch.stop()
            self._fidelity_patches = []
            self.functions.stop()
        finally:
            if self._saved_env is not None:
                saved, self._saved_env = self._saved_env, None
                _set_env(saved)

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> AwsFake:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _set_env(values: dict[str, str | None]) -> None:
    """Set each variable to its value; remove those whose value is ``None``."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


__all__ = ["HIDDEN_CONFIG", "MOTO_CONFIG", "AwsFake", "Call", "Faults", "seed_images"]
