"""Cloud Functions v2 "builds" in the fake: the stored record of a function, the defaults GCF
fills in, and the build that unpacks an uploaded source (``GOOGLE_FUNCTION_SOURCE``, default
``main.py``), starts one instance to check that it imports and defines the entry point, and
registers the revision with the local runtime.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._kernel import IdFactory
from ..runtime import LocalRuntime, WorkerConfig
from ._functions_rules import (
    DEFAULT_MAX_INSTANCES,
    DEFAULT_MEMORY,
    DEFAULT_TIMEOUT,
    REGION_CODES,
    default_cpu,
    memory_bytes,
)
from ._functions_source import BuildError, SourceStore, unpack

_LOCAL_RUNTIMES = {"python311": "python3.11", "python312": "python3.12",
                   "python313": "python3.13"}


@dataclass
class FunctionRecord:
    """One function: its ``Function`` JSON (enum names) and what serves it."""

    body: dict[str, Any]
    project: str
    location: str
    function_id: str
    revisions: int = 0
    code_dir: str | None = None
    #: The runtime key of the serving revision (``None``: nothing serves).
    serving: WorkerConfig | None = None
    #: The Cloud Run service's IAM policy (``roles/run.invoker`` ``allUsers`` = public).
    policy: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.body["name"])

    @property
    def public(self) -> bool:
        return any(b.get("role") == "roles/run.invoker" and "allUsers" in b.get("members", ())
                   for b in self.policy.get("bindings", ()))


def project_number(project: str) -> str:
    """A stable 12-digit project number for ``project``."""
    return str(int(hashlib.sha256(project.encode()).hexdigest()[:12], 16) % 10**12).zfill(12)


def run_host(function_id: str, project: str, location: str) -> str:
    """The ``*.a.run.app`` host of a function: ``{fn}-{hash}-{region code}.a.run.app``."""
    digest = hashlib.sha256(f"{project}/{location}".encode()).hexdigest()
    letters = "".join(chr(ord("a") + int(c, 16) % 26) for c in digest[:10])
    code = REGION_CODES.get(location, location[:2])
    return f"{function_id}-{letters}-{code}.a.run.app"


def fill_defaults(record: FunctionRecord, ids: IdFactory) -> None:
    """Fill what GCF fills in a created or updated ``Function`` (build and service
    defaults, the service name, the event trigger's topic and Eventarc trigger)."""
    body, project, location = record.body, record.project, record.location
    number = project_number(project)
    build = body["buildConfig"]
    build.setdefault("entryPoint", record.function_id)
    build.setdefault("dockerRegistry", "ARTIFACT_REGISTRY")
    build.setdefault("dockerRepository",
                     f"projects/{project}/locations/{location}/repositories/gcf-artifacts")
    build.setdefault("serviceAccount", f"projects/{project}/serviceAccounts/"
                                       f"{number}-compute@developer.gserviceaccount.com")
    if "automaticUpdatePolicy" not in build and "onDeployUpdatePolicy" not in build:
        build["automaticUpdatePolicy"] = {}
    service = body["serviceConfig"]
    service.setdefault("availableMemory", DEFAULT_MEMORY)
    service.setdefault("availableCpu",
                       default_cpu(memory_bytes(str(service["availableMemory"]))))
    service.setdefault("timeoutSeconds", DEFAULT_TIMEOUT)
    service.setdefault("maxInstanceCount", DEFAULT_MAX_INSTANCES)
    service.setdefault("ingressSettings", "ALLOW_ALL")
    service.setdefault("serviceAccountEmail",
                       f"{number}-compute@developer.gserviceaccount.com")
    service.setdefault("allTrafficOnLatestRevision", True)
    service.setdefault("maxInstanceRequestConcurrency", 1)
    service["service"] = f"projects/{project}/locations/{location}/services/" \
                         f"{record.function_id}"
    service.setdefault("securityLevel", "SECURE_ALWAYS")
    trigger = body.get("eventTrigger")
    if trigger:
        trigger.setdefault("pubsubTopic", f"projects/{project}/topics/eventarc-{location}-"
                                          f"{record.function_id}-{ids.number(3)}")
        trigger.setdefault("retryPolicy", "RETRY_POLICY_DO_NOT_RETRY")
        trigger.setdefault("triggerRegion", location)
        trigger.setdefault("serviceAccountEmail", service["serviceAccountEmail"])
        trigger.setdefault("trigger", f"projects/{project}/locations/{location}/triggers/"
                                      f"{record.function_id}-{ids.number(6)}")


class Builds:
    """Builds of one fake's functions: each revision's source unpacked under ``root``."""

    def __init__(self, *, sources: SourceStore, ids: IdFactory,
                 runtime: Callable[[], LocalRuntime]) -> None:
        self.sources = sources
        self.ids = ids
        self.runtime = runtime
        self.root = tempfile.mkdtemp(prefix="unicompute-gcf-")

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def build(self, record: FunctionRecord) -> WorkerConfig:
        """Unpack the record's source, start one instance to check it and register the new
        revision with the runtime; :class:`BuildError` with GCF's words when it fails."""
        body = record.body
        build, service = body["buildConfig"], body["serviceConfig"]
        runtime = _LOCAL_RUNTIMES.get(build["runtime"])
        if runtime is None:
            raise BuildError(f"Build failed: runtime {build['runtime']} cannot be built by the "
                             "unicompute fake (it runs python311, python312 and python313).")
        storage = build["source"].get("storageSource")
        if storage is None:
            raise BuildError("Build failed: only storage_source is served by this fake.")
        found = self.sources.get(storage["bucket"], storage["object"])
        if found is None:
            raise BuildError(f"Build failed: could not fetch the function source from "
                             f"gs://{storage['bucket']}/{storage['object']}: "
                             "the object does not exist.")
        data, generation = found
        storage["generation"] = str(generation)
        build["sourceProvenance"] = {"resolvedStorageSource": dict(storage)}
        source_file = build.get("environmentVariables", {}).get("GOOGLE_FUNCTION_SOURCE",
                                                                "main.py")
        record.revisions += 1
        revision = f"{record.function_id}-{record.revisions:05d}-{self.ids.hex(3)[:3]}"
        target = os.path.join(self.root, record.function_id + "-" + self.ids.hex(8))
        os.makedirs(target)
        try:
            unpack(data, target, source_file)
        except BuildError:
            shutil.rmtree(target, ignore_errors=True)
            raise
        build["build"] = (f"projects/{project_number(record.project)}/locations/"
                          f"{record.location}/builds/{self.ids.uuid()}")
        module = os.path.splitext(source_file)[0].replace("/", ".")
        trigger = body.get("eventTrigger")
        config = WorkerConfig(
            code_dir=target, entry=f"{module}.{build['entryPoint']}",
            function_name=record.function_id, runtime=runtime,
            memory_mb=max(1, memory_bytes(str(service["availableMemory"])) >> 20),
            timeout_s=float(service["timeoutSeconds"]),
            env={**service.get("environmentVariables", {}), "LOG_EXECUTION_ID": "true"},
            concurrency=int(service.get("maxInstanceCount") or DEFAULT_MAX_INSTANCES),
            context_kind="gcp", region=record.location, function_version=revision,
            platform_env={"FUNCTION_SIGNATURE_TYPE": "cloudevent" if trigger else "http"})
        runtime_ = self.runtime()
        probe_key = f"{record.name}#probe"
        runtime_.register(probe_key, config)
        try:
            result = runtime_.invoke(probe_key, b'{"probe": true}')
        finally:
            runtime_.unregister(probe_key)
        if not result.ok:
            shutil.rmtree(target, ignore_errors=True)
            raise BuildError(
                f"Could not create or update Cloud Run service {record.function_id}, Container "
                f"Healthcheck failed. Revision '{revision}' is not ready and cannot serve "
                "traffic. The user-provided container failed to start and listen on the port "
                "defined provided by the PORT=8080 environment variable within the allocated "
                f"timeout. {result.error_type}: {result.error_message}")
        old = record.code_dir
        record.code_dir = target
        runtime_.register(record.name, config)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return config

    def retire(self, record: FunctionRecord) -> None:
        """Stop serving ``record`` and drop its unpacked source."""
        record.serving = None
        with contextlib.suppress(RuntimeError):
            self.runtime().unregister(record.name)
        if record.code_dir is not None:
            shutil.rmtree(record.code_dir, ignore_errors=True)
            record.code_dir = None
