"""What Cloud Functions v2 accepts in a function: names, runtimes, memory and CPU, timeouts,
environment variables, labels, triggers; and the enum values of the JSON it speaks (requests
from the REST SDK carry enums as numbers, ``$alt=json;enum-encoding=int``).

Every check raises the API's 400 ``INVALID_ARGUMENT`` naming the field (snake_case, as the
``BadRequest`` field violations of Google's APIs do) before anything is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._kernel import HttpError
from ._functions_common import bad_request

#: Python runtimes (the fake runs these; others are known to GCF but cannot be built here).
PYTHON_RUNTIMES = ("python38", "python39", "python310", "python311", "python312", "python313")
#: Runtime ids Cloud Functions v2 knows (``gcloud functions runtimes list``).
RUNTIMES = frozenset((
    *PYTHON_RUNTIMES, "nodejs18", "nodejs20", "nodejs22", "go121", "go122", "go123",
    "java17", "java21",
    "ruby32", "ruby33", "php82", "php83", "dotnet6", "dotnet8"))
PUBSUB_EVENT = "google.cloud.pubsub.topic.v1.messagePublished"
HTTP_TIMEOUT_MAX = 3600
EVENT_TIMEOUT_MAX = 540
DEFAULT_TIMEOUT = 60
DEFAULT_MEMORY = "256M"
DEFAULT_MAX_INSTANCES = 100

_FUNCTION_ID = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
_ENTRY_POINT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_ENV_NAME = re.compile(r"[^=]+")
_RESERVED_ENV = frozenset({"FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE", "K_SERVICE",
                           "K_REVISION", "K_CONFIGURATION", "PORT"})
_LABEL_KEY = re.compile(r"[a-z\u00df-\u00ff][a-z0-9_\-\u00df-\u00ff]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_\-\u00df-\u00ff]{0,63}")
_QUANTITY = re.compile(r"(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?")
_UNITS = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_CPUS = ("0.083", "0.167", "0.333", "0.583", "1", "2", "4", "6", "8")
#: The CPU a memory size gets when ``availableCpu`` is not set (GCF's tiers, bytes → CPU).
_DEFAULT_CPU = ((128 << 20, "0.083"), (256 << 20, "0.167"), (512 << 20, "0.333"),
                (1 << 30, "0.583"), (2 << 30, "1"), (8 << 30, "2"), (16 << 30, "4"),
                (32 << 30, "8"))
_MIN_MEMORY, _MAX_MEMORY = 128 << 20, 32 << 30
#: Cloud Run's memory ceiling per CPU count.
_MEMORY_PER_CPU = {1: 4 << 30, 2: 8 << 30, 4: 16 << 30, 6: 24 << 30, 8: 32 << 30}

#: Short region codes of ``*.a.run.app`` hosts.
REGION_CODES: dict[str, str] = {
    "us-central1": "uc", "us-east1": "ue", "us-east4": "uk", "us-west1": "uw",
    "us-west2": "wl", "europe-west1": "ew", "europe-west2": "nw", "europe-west3": "ey",
    "europe-west4": "ez", "europe-north1": "lz", "asia-east1": "de", "asia-northeast1": "an",
    "asia-south1": "el", "asia-southeast1": "as", "australia-southeast1": "ts",
    "northamerica-northeast1": "nn", "southamerica-east1": "rj",
}

#: Enum fields by dotted JSON path, each with its values in number order.
ENUMS: dict[str, tuple[str, ...]] = {
    "state": ("STATE_UNSPECIFIED", "ACTIVE", "FAILED", "DEPLOYING", "DELETING", "UNKNOWN"),
    "environment": ("ENVIRONMENT_UNSPECIFIED", "GEN_1", "GEN_2"),
    "serviceConfig.ingressSettings": ("INGRESS_SETTINGS_UNSPECIFIED", "ALLOW_ALL",
                                      "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"),
    "serviceConfig.vpcConnectorEgressSettings": (
        "VPC_CONNECTOR_EGRESS_SETTINGS_UNSPECIFIED", "PRIVATE_RANGES_ONLY", "ALL_TRAFFIC"),
    "serviceConfig.securityLevel": ("SECURITY_LEVEL_UNSPECIFIED", "SECURE_ALWAYS",
                                    "SECURE_OPTIONAL"),
    "eventTrigger.retryPolicy": ("RETRY_POLICY_UNSPECIFIED", "RETRY_POLICY_DO_NOT_RETRY",
                                 "RETRY_POLICY_RETRY"),
    "buildConfig.dockerRegistry": ("DOCKER_REGISTRY_UNSPECIFIED", "CONTAINER_REGISTRY",
                                   "ARTIFACT_REGISTRY"),
}


def enum_names(body: dict[str, Any], enums: Mapping[str, tuple[str, ...]] = ENUMS) -> None:
    """Turn numeric enum values of ``body`` (in place) into their names; an unknown number or
    name is 400, as the API's JSON parser answers."""
    for path, names in enums.items():
        *parents, leaf = path.split(".")
        node: Any = body
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            continue
        value = node[leaf]
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            node[leaf] = names[value]
        elif not (isinstance(value, str) and value in names):
            raise bad_request(f"Invalid value at '{_snake(path)}': {value!r}", _snake(path))


def _snake(path: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), path)


def check_function_id(function_id: str) -> None:
    if not _FUNCTION_ID.fullmatch(function_id):
        raise bad_request(
            f'Invalid function_id: "{function_id}". Function ID must contain only lower case '
            "Latin letters, digits and hyphens (-), must start with a letter, must not end with "
            "a hyphen, and must be at most 63 characters long.", "function_id")


def memory_bytes(value: str) -> int:
    """``availableMemory`` (a Kubernetes quantity: ``256M``, ``1Gi``...) in bytes, or 400."""
    match = _QUANTITY.fullmatch(value)
    if match is None:
        raise bad_request(f"Invalid value specified for container memory: {value!r}.",
                          "service_config.available_memory")
    size = int(float(match[1]) * _UNITS[match[2]])
    if not _MIN_MEMORY <= size <= _MAX_MEMORY:
        raise bad_request(
            f"Invalid value specified for container memory: {value}. Memory must be between "
            "128Mi and 32Gi.", "service_config.available_memory")
    return size


def default_cpu(size: int) -> str:
    for limit, cpu in _DEFAULT_CPU:
        if size <= limit:
            return cpu
    return "8"


def check_cpu(cpu: str, size: int) -> None:
    if cpu not in _CPUS:
        try:
            number = float(cpu)
        except ValueError:
            number = -1.0
        if not 0.08 <= number < 1:
            raise bad_request(f"Invalid value specified for CPU: {cpu!r}.",
                              "service_config.available_cpu")
    number = float(cpu)
    if number < 1 and size > 1 << 30:
        raise bad_request("Invalid value specified for container memory: less than 1 CPU "
                          "supports at most 1Gi of memory.", "service_config.available_memory")
    ceiling = _MEMORY_PER_CPU.get(int(number)) if number >= 1 else None
    if ceiling is not None and size > ceiling:
        raise bad_request(f"Invalid value specified for container memory. For {cpu} CPU, "
                          f"memory must be at most {ceiling >> 30}Gi.",
                          "service_config.available_memory")


def check_environment(variables: Any, field: str) -> None:
    if not isinstance(variables, dict):
        raise bad_request(f"{field} must be a map of strings", field)
    total = 0
    for name, value in variables.items():
        if not _ENV_NAME.fullmatch(name) or name.startswith("X_GOOGLE_") \
                or name in _RESERVED_ENV:
            raise bad_request(f"Environment variable name '{name}' is reserved or invalid: "
                              "names must not be empty, contain '=', start with X_GOOGLE_ or "
                              f"be one of {', '.join(sorted(_RESERVED_ENV))}.", field)
        if not isinstance(value, str):
            raise bad_request(f"Environment variable '{name}' must have a string value", field)
        total += len(name.encode()) + len(value.encode())
    if total > 32 * 1024:
        raise bad_request("Environment variables exceed the 32 KiB limit (bytes of names and "
                          "values)", field)


def check_labels(labels: Any) -> None:
    if not isinstance(labels, dict):
        raise bad_request("labels must be a map of strings", "labels")
    if len(labels) > 64:
        raise bad_request("A function can have at most 64 labels", "labels")
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(key) or not isinstance(value, str) \
                or not _LABEL_VALUE.fullmatch(value):
            raise bad_request(
                f"Label key '{key}' or its value is invalid: keys must start with a lowercase "
                "letter, and keys and values may hold only lowercase letters, digits, '_' and "
                "'-', at most 63 characters.", "labels")


def check_entry_point(entry_point: str) -> None:
    if not _ENTRY_POINT.fullmatch(entry_point) or len(entry_point) > 128:
        raise bad_request(f"Invalid entry point: {entry_point!r}", "build_config.entry_point")


def check_function(body: dict[str, Any], *, project: str, function_id: str) -> None:
    """Validate a whole ``Function`` as create (or update, on the merged result) sees it."""
    build = body.get("buildConfig")
    if not isinstance(build, dict):
        raise bad_request("Function.build_config is required", "build_config")
    runtime = build.get("runtime")
    if not runtime:
        raise bad_request("Function.build_config.runtime is required",
                          "build_config.runtime")
    if runtime not in RUNTIMES:
        raise bad_request(f"Invalid runtime: {runtime!r}. Supported runtimes: "
                          f"{', '.join(sorted(RUNTIMES))}.", "build_config.runtime")
    check_entry_point(build.get("entryPoint") or function_id)
    source = build.get("source")
    if not isinstance(source, dict) or not any(
            source.get(k) for k in ("storageSource", "repoSource", "gitUri")):
        raise bad_request("Function.build_config.source is required", "build_config.source")
    storage = source.get("storageSource")
    if storage is not None and not (isinstance(storage, dict) and storage.get("bucket")
                                    and storage.get("object")):
        raise bad_request("storage_source must name a bucket and an object",
                          "build_config.source.storage_source")
    if "environmentVariables" in build:
        check_environment(build["environmentVariables"], "build_config.environment_variables")
    service = body.setdefault("serviceConfig", {})
    if not isinstance(service, dict):
        raise bad_request("service_config must be an object", "service_config")
    size = memory_bytes(str(service.get("availableMemory") or DEFAULT_MEMORY))
    if service.get("availableCpu"):
        check_cpu(str(service["availableCpu"]), size)
    trigger = body.get("eventTrigger")
    timeout = service.get("timeoutSeconds", DEFAULT_TIMEOUT)
    ceiling = EVENT_TIMEOUT_MAX if trigger else HTTP_TIMEOUT_MAX
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= ceiling:
        kind = "event-driven" if trigger else "HTTP"
        raise bad_request(f"The timeout for {kind} functions must be between 1 and {ceiling} "
                          f"seconds: {timeout!r}", "service_config.timeout_seconds")
    maximum = service.get("maxInstanceCount", 0)
    minimum = service.get("minInstanceCount", 0)
    for name, value in (("max_instance_count", maximum), ("min_instance_count", minimum)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise bad_request(f"{name} must be a non-negative integer",
                              f"service_config.{name}")
    if maximum and minimum > maximum:
        raise bad_request("min_instance_count must not exceed max_instance_count",
                          "service_config.min_instance_count")
    concurrency = service.get("maxInstanceRequestConcurrency", 1)
    if not isinstance(concurrency, int) or not 1 <= concurrency <= 1000:
        raise bad_request("max_instance_request_concurrency must be between 1 and 1000",
                          "service_config.max_instance_request_concurrency")
    if concurrency > 1 and float(service.get("availableCpu") or default_cpu(size)) < 1:
        raise bad_request("max_instance_request_concurrency greater than 1 requires at least "
                          "1 CPU", "service_config.max_instance_request_concurrency")
    if "environmentVariables" in service:
        check_environment(service["environmentVariables"],
                          "service_config.environment_variables")
    if "labels" in body:
        check_labels(body["labels"])
    if trigger is not None:
        check_trigger(trigger, project)
    if body.get("environment", "GEN_2") not in ("GEN_2", "ENVIRONMENT_UNSPECIFIED"):
        raise bad_request("Only GEN_2 functions are served by the v2 API here",
                          "environment")


def check_trigger(trigger: Any, project: str) -> None:
    if not isinstance(trigger, dict) or not trigger.get("eventType"):
        raise bad_request("event_trigger.event_type is required", "event_trigger.event_type")
    topic = trigger.get("pubsubTopic")
    if topic is not None and not re.fullmatch(
            r"projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/topics/[A-Za-z][-A-Za-z0-9_.~+%]{2,254}",
            str(topic)):
        raise bad_request(f"Invalid Pub/Sub topic name: {topic!r}",
                          "event_trigger.pubsub_topic")
    if trigger["eventType"] == PUBSUB_EVENT:
        return
    raise bad_request(f"Event type {trigger['eventType']!r} is not served by this fake "
                      f"(it delivers {PUBSUB_EVENT})", "event_trigger.event_type")


def http_error_field(error: HttpError) -> str | None:
    """The field a 400 names (for tests)."""
    for detail in error.details.get("details", []):
        for violation in detail.get("fieldViolations", []):
            return str(violation["field"])
    return None
