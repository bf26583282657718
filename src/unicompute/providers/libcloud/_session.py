"""Opening a Libcloud provider: the driver class, config checking, the drivers.

Imported on first use, so that ``import unicompute.providers.libcloud`` does not import
Libcloud.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ... import _config
from ..._errors import InvalidRequest, MissingDependency
from ...driver import Limits, ProviderDrivers
from . import capabilities as caps
from ._context import DEFAULT_POLL_INTERVAL, Context
from .compute import LibcloudCompute
from .ec2 import Ec2Compute
from .errors import make_translator
from .keys import LibcloudKeys
from .volumes import Ec2Volumes, LibcloudVolumes

#: Config keys unicompute reads itself; every other key is a driver constructor argument.
OWN_KEYS = frozenset({"poll_interval", _config.ENDPOINT_URL})
#: The constructor arguments ``endpoint_url`` is mapped to; a driver needs all three for it.
ENDPOINT_ARGS = ("host", "port", "secure")
#: Substrings of argument names whose values are secrets: kept out of every error message.
_SECRET_HINTS = ("key", "secret", "token", "password", "creds", "credential")
#: Arguments an adapter sets unless the caller does. EC2: Signature Version 4, which every
#: region accepts (Libcloud's table still says version 2 for some).
ADAPTER_DEFAULTS: dict[str, dict[str, object]] = {"ec2": {"signature_version": "4"}}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def provider_names() -> list[str]:
    """Every Libcloud compute provider name (``"ec2"``, ``"openstack"``, ``"dummy"``...)."""
    from libcloud.compute.providers import DRIVERS

    return sorted(str(getattr(p, "value", p)) for p in DRIVERS)


def driver_class(name: str) -> type:
    """Libcloud's ``NodeDriver`` class for provider ``name``.

    ``InvalidRequest`` (field ``provider``) for a name Libcloud does not know, listing some it
    does; ``MissingDependency`` when the driver needs a package that is not installed.
    """
    from libcloud.compute.providers import get_driver

    known = provider_names()
    if name not in known:
        raise InvalidRequest(
            f"Libcloud has no compute provider {name!r}; known: {', '.join(known[:20])}, ... "
            f"({len(known)} in all, e.g. libcloud:ec2, libcloud:openstack)",
            field="provider",
        )
    try:
        return get_driver(name)
    except ImportError as exc:
        raise MissingDependency(
            f"Libcloud's {name} driver needs {exc.name or 'a package'}, which is not installed",
            provider=f"libcloud:{name}", original=exc,
        ) from exc


#: Connection settings Libcloud's ``BaseDriver.__init__`` takes out of ``**kwargs`` (so they
#: are in no signature), with the type a URL-form string is converted to.
CONNECTION_KWARGS: dict[str, type] = {
    "timeout": float, "retry_delay": float, "backoff": float, "proxy_url": str,
}


def driver_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """The named constructor parameters of ``cls`` and the bases its ``**kwargs`` reach,
    including the connection settings ``BaseDriver`` reads from ``**kwargs``
    (:data:`CONNECTION_KWARGS`)."""
    from libcloud.common.base import BaseDriver

    found: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters
        for pname, param in params.items():
            if pname != "self" and param.kind in (param.POSITIONAL_OR_KEYWORD,
                                                  param.KEYWORD_ONLY):
                found.setdefault(pname, param)
        if klass is BaseDriver:
            for pname, kind in CONNECTION_KWARGS.items():
                found.setdefault(pname, inspect.Parameter(
                    pname, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=kind))
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            break
    return found


def _coerce(name: str, value: object, param: inspect.Parameter) -> object:
    """URL-form values are strings: turn them into the type the parameter's default has."""
    if not isinstance(value, str):
        return value
    default = param.default
    if isinstance(default, bool) or name == "secure":
        if value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise InvalidRequest("must be true or false", field=name)
    if isinstance(default, int) or name == "port":
        try:
            return int(value)
        except ValueError:
            raise InvalidRequest("must be an integer", field=name) from None
    if param.annotation is float:
        try:
            return float(value)
        except ValueError:
            raise InvalidRequest("must be a number", field=name) from None
    return value


def is_secret(name: str) -> bool:
    return any(hint in name.lower() for hint in _SECRET_HINTS)


def endpoint_arguments(
    name: str, params: Mapping[str, inspect.Parameter], config: Mapping[str, object]
) -> dict[str, object]:
    """``host``, ``port`` and ``secure`` from the ``endpoint_url`` setting (none if unset).

    ``http://h`` is port 80, ``https://h`` port 443 and ``secure``. ``InvalidRequest`` (field
    ``endpoint_url``, the URL never echoed) when the driver does not take all three arguments,
    when any of them is also given, or when the URL has a path, query or fragment (a driver
    given only a host and port cannot honour them).
    """
    provider = f"libcloud:{name}"
    url = _config.endpoint_url(config, provider=provider)
    if url is None:
        return {}
    field = _config.ENDPOINT_URL
    missing = [arg for arg in ENDPOINT_ARGS if arg not in params]
    if missing:
        raise InvalidRequest(
            f"Libcloud's {name} driver takes no {', '.join(missing)}, so it cannot be pointed "
            "at another endpoint", field=field, provider=provider)
    given = [arg for arg in ENDPOINT_ARGS if arg in config]
    if given:
        raise InvalidRequest(
            f"give either endpoint_url or {', '.join(given)}, not both", field=field,
            provider=provider)
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidRequest(
            f"must be scheme://host[:port] only: Libcloud's {name} driver takes a host and port, "
            "not a path, query or fragment", field=field, provider=provider)
    secure = parts.scheme == "https"
    assert parts.hostname is not None  # checked by _config.endpoint_url
    return {"host": parts.hostname, "port": parts.port or (443 if secure else 80),
            "secure": secure}


def driver_arguments(
    name: str, cls: type, region: str | None, config: Mapping[str, object]
) -> dict[str, object]:
    """The constructor arguments for ``cls``: ``config`` checked against its signature,
    ``endpoint_url`` mapped to ``host``/``port``/``secure`` (:func:`endpoint_arguments`), the
    region added where the driver takes one, adapter defaults filled in."""
    params = driver_parameters(cls)
    accepted = sorted(set(params) - {"region"})
    args: dict[str, object] = endpoint_arguments(name, params, config)
    own = "poll_interval" + (", endpoint_url" if set(ENDPOINT_ARGS) <= set(params) else "")
    for key, value in config.items():
        if key in OWN_KEYS:
            continue
        if key not in params or key == "region":
            raise InvalidRequest(
                f"not an argument of Libcloud's {name} driver; it takes "
                f"{', '.join(accepted) or 'nothing'} (and {own})",
                field=str(key),
            )
        args[key] = _coerce(key, value, params[key])
    if region is not None:
        if "region" not in params:
            raise InvalidRequest(f"Libcloud's {name} driver has no regions; leave region unset",
                                 field="region")
        args["region"] = region
    for key, value in ADAPTER_DEFAULTS.get(name, {}).items():
        args.setdefault(key, value)
    for pname, param in params.items():
        if param.default is param.empty and pname not in args:
            raise InvalidRequest(f"Libcloud's {name} driver needs this argument", field=pname)
    return args


def open_provider(
    name: str, cls: type, region: str | None, config: Mapping[str, object], *, limits: Limits
) -> ProviderDrivers:
    """The drivers of Libcloud provider ``name`` (driver class ``cls``)."""
    provider = f"libcloud:{name}"
    poll_interval = _config.seconds(config, "poll_interval", DEFAULT_POLL_INTERVAL,
                                    provider=provider)
    args = driver_arguments(name, cls, region, config)
    secrets = [str(v) for k, v in args.items() if is_secret(k) and v is not None]
    translate = make_translator(provider, secrets, ec2_messages=name in caps.ADAPTED)
    try:
        driver: Any = cls(**args)
    except (ValueError, TypeError, AttributeError) as exc:
        field = "region" if "region" in str(exc).lower() else "config"
        message = str(exc)
        for secret in secrets:
            message = message.replace(secret, "***")
        raise InvalidRequest(f"Libcloud's {name} driver refused its settings: {message}",
                             field=field, provider=provider, operation="connect") from exc
    except Exception as exc:
        raise translate(exc, "connect") or exc from exc
    region_name = region or str(getattr(driver, "region_name", "") or
                                getattr(driver, "region", "") or "default")
    ctx = Context(
        provider=provider,
        name=name,
        region=region_name,
        driver=driver,
        operations=caps.operations(cls),
        capabilities=caps.capabilities(name, cls),
        poll_interval=poll_interval,
    )
    compute: LibcloudCompute = Ec2Compute(ctx) if name == "ec2" else LibcloudCompute(ctx)
    volumes_class = Ec2Volumes if name == "ec2" else LibcloudVolumes
    return ProviderDrivers(
        provider=provider,
        region=region_name,
        compute=compute,
        limits=limits,
        translate_error=translate,
        capabilities=ctx.capabilities,
        keys=LibcloudKeys(ctx) if "keys" in ctx.operations else None,
        volumes=volumes_class(ctx, compute) if "volumes" in ctx.operations else None,
        thread_safe=False,  # Libcloud: one driver instance per thread
    )
