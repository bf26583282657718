"""Which providers exist, and loading one lazily.

``import unicompute`` imports no cloud SDK: a provider's module is imported the first time a cloud
of that provider is opened. A missing SDK gives :class:`~unicompute.MissingDependency` naming the
``pip install`` to run. Third-party providers register through the ``unicompute.providers`` entry
point group (value ``"package.module:open_provider"``) or :func:`register`.

A name with a prefix, ``"libcloud:ec2"``, names a provider family: the family's module has
``provider_factory(name)``, which returns the factory for member ``name`` (``"ec2"``) or raises
``InvalidRequest`` (field ``provider``) naming some members it knows.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import cast

from ._errors import InvalidRequest, MissingDependency, ProviderError, UnicomputeError
from .driver import ProviderDrivers, ProviderFactory


@dataclass(frozen=True)
class ProviderEntry:
    """``target`` is ``"module:function"``; ``extra`` the pip extra that installs its SDK."""

    target: str
    extra: str


_BUILTIN: dict[str, ProviderEntry] = {
    "aws": ProviderEntry("unicompute.providers.aws:open_provider", "aws"),
    "azure": ProviderEntry("unicompute.providers.azure:open_provider", "azure"),
    "gcp": ProviderEntry("unicompute.providers.gcp:open_provider", "gcp"),
}
#: Provider families, by the prefix of their names: ``target`` is ``"module:provider_factory"``.
_FAMILIES: dict[str, ProviderEntry] = {
    "libcloud": ProviderEntry("unicompute.providers.libcloud:provider_factory", "libcloud"),
}
_REGISTERED: dict[str, ProviderFactory] = {}


def register(name: str, factory: ProviderFactory) -> None:
    """Make ``connect(name, ...)`` use ``factory``; replaces an earlier registration."""
    _REGISTERED[name] = factory


def available() -> list[str]:
    """Names of every known provider, installed or not."""
    plugins = {ep.name for ep in entry_points(group="unicompute.providers")}
    families = {f"{prefix}:<name>" for prefix in _FAMILIES}
    return sorted(set(_BUILTIN) | set(_REGISTERED) | plugins | families)


def _load_member(name: str) -> ProviderFactory:
    """The factory of ``"family:member"`` (``"libcloud:ec2"``)."""
    prefix, _, member = name.partition(":")
    entry = _FAMILIES.get(prefix)
    if entry is None or not member:
        raise InvalidRequest(
            f"unknown provider {name!r}; known: {', '.join(available())}", field="provider"
        )
    module_name, _, attr = entry.target.partition(":")
    try:
        module = importlib.import_module(module_name)
        return cast(ProviderFactory, getattr(module, attr)(member))
    except ImportError as exc:
        raise _missing(name, exc) from exc


def _load(name: str) -> ProviderFactory:
    if name in _REGISTERED:
        return _REGISTERED[name]
    entry = _BUILTIN.get(name)
    if entry is None and ":" in name:
        return _load_member(name)
    if entry is None:
        for ep in entry_points(group="unicompute.providers", name=name):
            return cast(ProviderFactory, ep.load())
        raise InvalidRequest(
            f"unknown provider {name!r}; known: {', '.join(available())}", field="provider"
        )
    module_name, _, attr = entry.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _missing(name, exc) from exc
    return cast(ProviderFactory, getattr(module, attr))


def _missing(name: str, exc: ImportError) -> MissingDependency:
    family = _FAMILIES.get(name.partition(":")[0]) if ":" in name else None
    extra = _BUILTIN[name].extra if name in _BUILTIN else family.extra if family else name
    return MissingDependency(
        f"the {name} provider needs {exc.name or 'a dependency'}, which is not installed: "
        f"pip install 'unicompute[{extra}]'",
        provider=name,
        original=exc,
    )


def open_provider(name: str, region: str | None, config: Mapping[str, object]) -> ProviderDrivers:
    """The drivers of provider ``name`` for ``region`` (``None``: the provider's default)."""
    if not isinstance(name, str) or not name:
        raise InvalidRequest("must be a provider name such as 'aws'", field="provider")
    factory = _load(name)
    try:
        return factory(region, config)
    except UnicomputeError:
        raise
    except ImportError as exc:  # providers import their SDK lazily, on first open
        raise _missing(name, exc) from exc
    except Exception as exc:
        # Only the type is shown: the message of an arbitrary error may quote config values.
        raise ProviderError(
            f"opening the {name} provider failed with {type(exc).__name__}",
            provider=name, operation="connect", original=exc,
        ) from exc
