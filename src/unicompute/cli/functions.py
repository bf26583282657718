"""``unicompute functions ...``: deploy a directory as a serverless function, invoke it, list
functions, read their logs and delete them, on one cloud or on all of them at once.

``--cloud all`` works on every first-party cloud (:func:`~unicompute.workloads.placement.
clouds_for`: aws, azure and gcp), each in its own thread (:func:`~unicompute.workloads.deploy.
in_parallel`), in its default region, and shows one row per cloud. When some clouds fail, the
rows of the others are shown, then the failures as one ``error:`` line (exit status 1).

``deploy DIR`` reads ``DIR/function.yaml`` when there is one (the keys of a workload file's
``functions:`` entry, all optional); the command's options win over the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal

import click

import unicompute as uc

from .._function_models import check_spec_on
from ..workloads.deploy import CloudsIncomplete, in_parallel
from ..workloads.placement import DEFAULT_REGIONS, clouds_for
from ..workloads.spec import ALL_CLOUDS, CHEAPEST, read_function_file
from .exits import on_interrupt
from .output import Column, Record, note, show
from .params import json_option, key_values, tag_option
from .session import cloud_opener, connection_options_with, open_cloud, redact, settings

#: The file ``deploy DIR`` reads its settings from, when ``DIR`` has one.
FUNCTION_FILE = "function.yaml"
DEFAULT_HANDLER = "app.handler"
DEFAULT_RUNTIME = "python3.12"
#: ``--mode`` as typed → the portable :data:`~unicompute.InvokeMode`.
_MODES: dict[str, Literal["sync", "async", "dry_run"]] = {
    "sync": "sync", "async": "async", "dry-run": "dry_run"}


def _compact(value: object) -> str:
    return "-" if value is None else json.dumps(value, separators=(",", ":"))


def _ms(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else "-"


def _flag(value: object) -> str:
    return "-" if value is None else "yes" if value else "no"


CLOUD_COLUMNS = (Column("cloud", "cloud"), Column("region", "region"))
ERROR_COLUMN = Column("error", "error")
FUNCTION_COLUMNS = (
    *CLOUD_COLUMNS,
    Column("name", "name"),
    Column("state", "state"),
    Column("runtime", "runtime"),
    Column("memory_mb", "MB", "right"),
    Column("timeout_s", "timeout s", "right"),
    Column("triggers", "triggers"),
    Column("url", "url"),
)
INVOKE_COLUMNS = (
    *CLOUD_COLUMNS,
    Column("name", "name"),
    Column("mode", "mode"),
    Column("status_code", "status", "right"),
    Column("duration_ms", "ms", "right", _ms),
    Column("cold_start", "cold", format=_flag),
    Column("result", "result", format=_compact),
)
LOG_COLUMNS = (*CLOUD_COLUMNS, Column("time", "time"), Column("message", "message"))
DELETE_COLUMNS = (*CLOUD_COLUMNS, Column("name", "name"), Column("deleted", "deleted"))


# -- records --------------------------------------------------------------------------------
def _trigger_text(trigger: uc.HttpTrigger | uc.ScheduleTrigger | uc.QueueTrigger) -> str:
    if isinstance(trigger, uc.HttpTrigger):
        return f"http(auth={trigger.auth})"
    if isinstance(trigger, uc.ScheduleTrigger):
        return f"schedule({trigger.expression})"
    return f"queue({trigger.queue}, batch={trigger.batch_size})"


def function_record(fn: uc.Function) -> Record:
    """The JSON form of a function (its environment's values are secrets: names only)."""
    triggers = fn.triggers
    return {
        "name": fn.name,
        "state": fn.state.value,
        "runtime": fn.runtime,
        "handler": fn.handler,
        "memory_mb": fn.memory_mb,
        "timeout_s": fn.timeout_s,
        "concurrency": fn.concurrency,
        "triggers": None if triggers is None else ", ".join(map(_trigger_text, triggers)),
        "url": fn.url,
        "version": fn.version,
        "env": sorted(fn.env),
        "tags": dict(fn.tags),
    }


def invocation_record(name: str, mode: str, invocation: uc.Invocation) -> Record:
    return {
        "name": name,
        "mode": mode,
        "status_code": invocation.status_code,
        "result": invocation.result,
        "duration_ms": invocation.duration_ms,
        "billed_ms": invocation.billed_ms,
        "cold_start": invocation.cold_start,
        "request_id": invocation.request_id,
        "logs": invocation.logs,
    }


# -- on one cloud or on all -----------------------------------------------------------------
def _targets(ctx: click.Context) -> list[str]:
    """The clouds ``--cloud`` names (``all``: each first-party cloud); ``aws`` by default."""
    current = settings(ctx)
    name = current.cloud or "aws"
    if name == CHEAPEST:
        raise click.UsageError("--cloud cheapest is for workloads; name a cloud, or all")
    if name != ALL_CLOUDS:
        return [name]
    if current.region:
        raise click.UsageError("--region names one cloud's region; with --cloud all each cloud "
                               "uses its default region")
    return list(clouds_for(ALL_CLOUDS))


def on_clouds(ctx: click.Context, work: Callable[[uc.Cloud], list[Record]],
              columns: Sequence[Column], *, as_json: bool, empty: str,
              check: Callable[[uc.Cloud], None] | None = None,
              announce: str | None = None, name: str | None = None) -> list[Record]:
    """Run ``work`` on each cloud ``--cloud`` names (in parallel for several), show the records
    it returns, each with ``cloud`` and ``region``, and return them. ``check`` runs first on
    every cloud (no API calls: the cloud's own rules), so that input one cloud refuses changes
    nothing anywhere; then ``announce`` is shown. A failure of ``work`` on one cloud of several
    is shown as a row with ``error`` (and ``name``, the function worked on, if given), after
    which the failures are raised."""
    targets = _targets(ctx)
    if len(targets) == 1:
        cloud = open_cloud(ctx, targets[0])
        if check is not None:
            check(cloud)
        if announce:
            note(announce)
        records = [_located(cloud, record) for record in work(cloud)]
        show(records, columns, as_json=as_json, empty=empty)
        return records
    clouds = _open_all(ctx, targets, check)
    if announce:
        note(announce)

    def run(provider: str) -> list[Record]:
        return [_located(clouds[provider], record) for record in work(clouds[provider])]

    try:
        done = in_parallel(targets, run, key=lambda provider: provider)
    except CloudsIncomplete as exc:
        secrets = settings(ctx).secrets()
        records = [record for provider in targets for record in (
            _done(exc.done[provider]) if provider in exc.done
            else _failed(provider, name, exc, secrets))]
        show(records, [*columns, ERROR_COLUMN], as_json=as_json, empty=empty)
        raise
    records = [record for provider in targets for record in done[provider]]
    show(records, columns, as_json=as_json, empty=empty)
    return records


def _open_all(ctx: click.Context, targets: list[str],
              check: Callable[[uc.Cloud], None] | None) -> dict[str, uc.Cloud]:
    """Each target cloud, open (in parallel) and checked; they close when the command ends.
    Input refused by several clouds is one :class:`~unicompute.InvalidRequest` naming each."""
    opener = cloud_opener(ctx)
    opened: dict[str, uc.Cloud] = {}

    def close_all() -> None:
        for cloud in opened.values():
            cloud.close()

    ctx.call_on_close(close_all)

    def open_one(provider: str) -> uc.Cloud:
        cloud = opened[provider] = opener(provider, DEFAULT_REGIONS[provider])
        if check is not None:
            check(cloud)
        return cloud

    try:
        return in_parallel(targets, open_one, key=lambda provider: provider)
    except CloudsIncomplete as exc:
        if all(isinstance(error, uc.InvalidRequest) for error in exc.errors.values()):
            raise uc.InvalidRequest("; ".join(
                f"{provider}: {_reason(error)}" for provider, error in exc.errors.items())
            ) from None
        raise


def _reason(error: BaseException) -> str:
    """``field: reason`` of an :class:`~unicompute.InvalidRequest` (without the provider)."""
    if isinstance(error, uc.InvalidRequest):
        return f"{error.field}: {error.reason}" if error.field else error.reason
    return str(error)


def _located(cloud: uc.Cloud, record: Record) -> Record:
    return {"cloud": cloud.provider, "region": cloud.region, **record}


def _done(result: object) -> list[Record]:
    """What ``run`` returned for a cloud, as :class:`CloudsIncomplete` keeps it."""
    return list(result) if isinstance(result, list) else []


def _failed(provider: str, name: str | None, exc: CloudsIncomplete, secrets: list[str]
            ) -> list[Record]:
    error = exc.errors[provider]
    return [{"cloud": provider, "region": DEFAULT_REGIONS.get(provider), "name": name,
             "error": redact(" ".join(str(error).split()), secrets),
             "error_type": getattr(error, "error_type", type(error).__name__)}]


# -- the commands ---------------------------------------------------------------------------
#: ``--cloud`` and ``--region`` of the functions commands.
functions_connection_options = connection_options_with(
    cloud_help="aws, azure, gcp, or all: each of them at once (default: aws).",
    region_help="Region (default: the provider's default region; not with --cloud all, where "
    "each cloud uses its default).")


@click.group("functions")
def functions() -> None:
    """Deploy, invoke, list, read the logs of and delete serverless functions (--cloud all:
    on every cloud at once)."""


def _triggers(http: str | None, schedules: tuple[str, ...], queues: tuple[str, ...]
              ) -> tuple[uc.HttpTrigger | uc.ScheduleTrigger | uc.QueueTrigger, ...]:
    found: list[uc.HttpTrigger | uc.ScheduleTrigger | uc.QueueTrigger] = []
    if http is not None:
        found.append(uc.HttpTrigger(auth="key" if http == "key" else "none"))
    found += [uc.ScheduleTrigger(expression) for expression in schedules]
    found += [uc.QueueTrigger(queue) for queue in queues]
    return tuple(found)


def build_spec(directory: Path, overrides: dict[str, Any]) -> uc.FunctionSpec:
    """The spec ``deploy DIR`` deploys: ``DIR/function.yaml`` (if any) under ``overrides``, with
    the name defaulting to the directory's, the handler to ``app.handler`` and the runtime to
    ``python3.12``. Checked before any cloud is called."""
    defaults: dict[str, Any] = {"name": directory.resolve().name, "handler": DEFAULT_HANDLER,
                                "runtime": DEFAULT_RUNTIME, "source": directory}
    path = directory / FUNCTION_FILE
    if path.is_file():
        return read_function_file(path, defaults=defaults, overrides=overrides)
    return uc.FunctionSpec(**{**defaults, **overrides})


@functions.command("deploy")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", help="Function name (default: function.yaml's, else the directory's).")
@click.option("--handler", help=f"module.function (default: {DEFAULT_HANDLER}).")
@click.option("--runtime", help=f"Runtime (default: {DEFAULT_RUNTIME}).")
@click.option("--memory", "memory_mb", type=int, metavar="MB", help="Memory in MB.")
@click.option("--timeout", "timeout_s", type=int, metavar="SECONDS", help="Timeout in seconds.")
@click.option("--concurrency", type=int, metavar="N",
              help="Most executions at once: reserved concurrency on AWS, maximum instances on "
              "Azure and GCP (default: function.yaml's, else the cloud's).")
@click.option("--env", "env", callback=key_values, multiple=True, metavar="KEY=VALUE",
              help="Environment variable (repeatable; merged over function.yaml's env).")
@click.option("--http", type=click.Choice(["none", "key"]), is_flag=False, flag_value="none",
              help="An HTTP URL, public (none, the default) or needing a function key.")
@click.option("--schedule", "schedules", multiple=True, metavar="EXPR",
              help="Run on a schedule: rate(5 minutes) or cron(...) (repeatable).")
@click.option("--queue", "queues", multiple=True, metavar="NAME",
              help="Run for messages of this queue (repeatable).")
@tag_option("Tag to set (repeatable).")
@json_option
@functions_connection_options
@click.pass_context
def deploy_command(ctx: click.Context, directory: Path, name: str | None, handler: str | None,
                   runtime: str | None, memory_mb: int | None, timeout_s: int | None,
                   concurrency: int | None, env: dict[str, str], http: str | None,
                   schedules: tuple[str, ...], queues: tuple[str, ...], tags: dict[str, str],
                   as_json: bool) -> None:
    """Deploy DIR (its app.py and requirements.txt) as a function, or update it.

    Any trigger option replaces the triggers of function.yaml.

    \b
    Example:
      unicompute functions deploy examples/functions/hello --cloud all --mock
    """
    given = {"name": name, "handler": handler, "runtime": runtime, "memory_mb": memory_mb,
             "timeout_s": timeout_s, "concurrency": concurrency, "env": env or None,
             "tags": tags or None, "triggers": _triggers(http, schedules, queues) or None}
    spec = build_spec(directory, {key: value for key, value in given.items()
                                  if value is not None})

    def check(cloud: uc.Cloud) -> None:
        check_spec_on(spec, cloud)  # names the cloud that refuses it

    on_interrupt(ctx, "deploy again to finish (it updates what exists); `unicompute functions "
                 "list` shows what was deployed")

    def deploy(cloud: uc.Cloud) -> list[Record]:
        return [function_record(cloud.functions.deploy(spec))]

    on_clouds(ctx, deploy, FUNCTION_COLUMNS, as_json=as_json, empty="Nothing deployed.",
              check=check, announce=f"Deploying {spec.name} to {', '.join(_targets(ctx))}...",
              name=spec.name)


def _payload(text: str | None, file: BinaryIO | None) -> Any:
    if text is not None and file is not None:
        raise click.UsageError("give --payload or --payload-file, not both")
    raw: str | bytes | None = file.read() if file is not None else text
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        option = "--payload-file" if file is not None else "--payload"
        raise click.BadParameter(f"not JSON: {exc}", param_hint=f"'{option}'") from None


@functions.command("invoke")
@click.argument("name")
@click.option("--payload", metavar="JSON", help="The event, as JSON (default: null).")
@click.option("--payload-file", type=click.File("rb"), metavar="FILE",
              help="Read the event from FILE ('-' for stdin).")
@click.option("--mode", type=click.Choice(list(_MODES)), default="sync", show_default=True,
              help="sync waits for the result; async queues the event; dry-run only checks.")
@json_option
@functions_connection_options
@click.pass_context
def invoke_command(ctx: click.Context, name: str, payload: str | None,
                   payload_file: BinaryIO | None, mode: str, as_json: bool) -> None:
    """Run function NAME with an event; shows its result. A handler that fails is an error
    (exit status 1) naming the exception.

    \b
    Example:
      unicompute functions invoke hello --cloud azure --mock --payload '{"name": "ada"}'
    """
    event = _payload(payload, payload_file)

    def invoke(cloud: uc.Cloud) -> list[Record]:
        fn = cloud.functions.get(name)
        return [invocation_record(name, mode, fn.invoke(event, mode=_MODES[mode]))]

    on_clouds(ctx, invoke, INVOKE_COLUMNS, as_json=as_json, empty="Nothing invoked.",
              name=name)


#: What a listing does not read on every cloud (Lambda's ListFunctions has no URL; no cloud's
#: listing has the triggers): ``list --no-details`` leaves these out rather than show them empty.
DETAIL_KEYS = ("triggers", "url")


@functions.command("list")
@tag_option("Only functions with this tag (repeatable; all must match).")
@click.option("--details/--no-details", default=True, show_default=True,
              help="Read each function's triggers and URL, which listings do not return: one "
              "more lookup per function, a few API calls each (on AWS GetFunction, "
              "GetFunctionUrlConfig, ListRuleNamesByTarget, ListEventSourceMappings). "
              "--no-details makes only the listing calls and leaves the triggers and url "
              "columns (JSON keys) out.")
@json_option
@functions_connection_options
@click.pass_context
def list_command(ctx: click.Context, tags: dict[str, str], details: bool, as_json: bool
                 ) -> None:
    """List the functions, with their triggers and URL (see --details)."""

    def listed(cloud: uc.Cloud) -> list[Record]:
        try:
            found = list(cloud.functions.list(tags=tags or None))
        except uc.NotFound:  # the container of all functions (Azure's resource group) is absent
            return []
        if not details:
            return [{key: value for key, value in function_record(fn).items()
                     if key not in DETAIL_KEYS} for fn in found]
        records = []
        for fn in found:
            try:
                records.append(function_record(cloud.functions.get(fn.name)))
            except uc.NotFound:  # deleted since the listing
                continue
        return records

    columns = FUNCTION_COLUMNS if details else [
        column for column in FUNCTION_COLUMNS if column.key not in DETAIL_KEYS]
    on_clouds(ctx, listed, columns, as_json=as_json, empty="No functions.")


@functions.command("logs")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="At most this many of the latest lines (per cloud).")
@json_option
@functions_connection_options
@click.pass_context
def logs_command(ctx: click.Context, name: str, limit: int, as_json: bool) -> None:
    """The latest log lines of function NAME, oldest first."""

    def logs(cloud: uc.Cloud) -> list[Record]:
        from datetime import UTC, datetime

        lines = cloud.functions.get(name).logs(limit=limit)
        return [{"name": name, "timestamp_ms": line.timestamp_ms,
                 "time": datetime.fromtimestamp(line.timestamp_ms / 1000, UTC).isoformat(
                     timespec="milliseconds"),
                 "message": line.message.rstrip("\n")} for line in lines]

    on_clouds(ctx, logs, LOG_COLUMNS, as_json=as_json, empty="No log lines.", name=name)


@functions.command("delete")
@click.argument("name")
@json_option
@functions_connection_options
@click.pass_context
def delete_command(ctx: click.Context, name: str, as_json: bool) -> None:
    """Delete function NAME and everything deployed for it. With --cloud all, a cloud where it
    does not exist is shown as such; it is an error only when it exists on none."""
    several = len(_targets(ctx)) > 1

    def delete(cloud: uc.Cloud) -> list[Record]:
        try:
            cloud.functions.delete(name)
        except uc.NotFound:
            if not several:
                raise
            return [{"name": name, "deleted": False}]
        return [{"name": name, "deleted": True}]

    records = on_clouds(ctx, delete, DELETE_COLUMNS, as_json=as_json, empty="Nothing deleted.",
                        name=name)
    if not any(record["deleted"] for record in records):
        raise uc.NotFound(f"function {name!r} exists on none of "
                          f"{', '.join(record['cloud'] for record in records)}",
                          resource=name)
