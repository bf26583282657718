"""Helpers for the ARM fake's tests: the official clients on the fake, and strict parsing.

The azure-mgmt clients (TypeSpec-generated ``Model`` classes) keep unknown keys silently, so a
misspelt field in the fake would go unnoticed. :func:`assert_known` walks the JSON beside the
model's rest fields (resolving nested models, lists, dicts and discriminated subtypes through
the type hints) and fails on the first key the model does not define.
"""

from __future__ import annotations

import importlib
import os
import types
import typing
from dataclasses import dataclass
from typing import Any

from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from unicompute.mocks import MockCloud

LOCATION = "eastus"
#: Real OpenSSH public keys made by ``ssh-keygen`` for these tests (the private halves were
#: discarded): what ARM's key checks see from a user.
ED25519_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF7Dg+L6g5KBdtr/PInR+xyn20ycwUMwunrjge0bG49V "
               "unicompute-tests")
RSA_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCP9vlQqqLOBPh/8p4o7eHRSB4Ytaoc+VjzPks39TxVYPPoinwxQfR"
    "GIt0cYwaxt6SU3iqknyjNtmChqEsALmwKJWYI2csmQZBwqOCBIiVoy/hFBMjoPM1jqu01I/PrOE5KLMqHCQ1Jzy15ey+"
    "Px3Hmx5tPDYf4R8J6AHRxRPuVJ2AHTrIM4+K2/u2KL14Tb0SBK+G8+2erFp6FR+zvFtGKcovGMnv/feHHMN34FPepGhB5"
    "yuV1xZW5SuA6ymRJZLfamYJ0+wuMJwjLzC+nZqmxqy5zQX+wGEmXq4g6WzLVQDwB5cgel/yT3vxz8qU+jhJmc/LOagzE"
    "3/zWN+UNMcMJ unicompute-tests")


@dataclass
class Clients:
    mock: MockCloud | None
    fake: Any
    resource: ResourceManagementClient
    network: NetworkManagementClient
    compute: ComputeManagementClient
    subscription: str


def make_clients(mock: MockCloud | None, credential: Any, *, subscription: str | None = None,
                 **kwargs: Any) -> Clients:
    """Resource, network and compute clients (no retries) for the fake's subscription."""
    sub = subscription or os.environ["AZURE_SUBSCRIPTION_ID"]
    opts = {"retry_total": 0, **kwargs}
    return Clients(mock=mock, fake=mock.fake("azure") if mock else None,
                   resource=ResourceManagementClient(credential, sub, **opts),
                   network=NetworkManagementClient(credential, sub, **opts),
                   compute=ComputeManagementClient(credential, sub, **opts),
                   subscription=sub)


def _hints(cls: type) -> dict[str, Any]:
    module = importlib.import_module(cls.__module__)
    package = importlib.import_module(cls.__module__.rsplit(".", 1)[0])
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("azure.mgmt.") and "__annotations__" in vars(klass):
            hints.update(typing.get_type_hints(klass, globalns=vars(module),
                                               localns={"_models": package}))
    return hints


def _fields(cls: type) -> dict[str, tuple[str, Any]]:
    """rest name → (attribute name, type hint) of a model class."""
    cls.__new__(cls)  # the SDK computes _attr_to_rest_field lazily on first instantiation
    hints = _hints(cls)
    return {rf._rest_name: (attr, hints.get(attr))
            for attr, rf in cls._attr_to_rest_field.items()}  # type: ignore[attr-defined]


def _is_model(tp: Any) -> bool:
    return (isinstance(tp, type) and hasattr(tp, "_attr_to_rest_field")) or (
        isinstance(tp, type) and any(b.__name__ == "Model" for b in tp.__mro__[1:]))


def _check(tp: Any, value: Any, path: str) -> None:
    if value is None or tp is None:
        return
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        models = [a for a in args if _is_model(a)]
        if models and isinstance(value, dict):
            _check(models[0], value, path)
        elif len(args) == 1:
            _check(args[0], value, path)
        return
    if origin is list:
        assert isinstance(value, list), f"{path}: expected a list, got {value!r}"
        (item,) = typing.get_args(tp)
        for index, element in enumerate(value):
            _check(item, element, f"{path}[{index}]")
        return
    if origin is dict:
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        _, item = typing.get_args(tp)
        for key, element in value.items():
            _check(item, element, f"{path}.{key}")
        return
    if _is_model(tp):
        assert_known(tp, value, path)


def assert_known(model: type, data: Any, path: str = "$") -> None:
    """Fail if ``data`` (ARM JSON) has a key, at any depth, that ``model`` does not define."""
    assert isinstance(data, dict), f"{path}: expected an object for {model.__name__}"
    mapping = getattr(model, "__mapping__", None)
    if mapping:
        for rf in model._attr_to_rest_field.values() if hasattr(  # type: ignore[attr-defined]
                model, "_attr_to_rest_field") else []:
            if rf._is_discriminator and data.get(rf._rest_name) in mapping:
                model = mapping[data[rf._rest_name]]
    fields = _fields(model)
    unknown = sorted(set(data) - set(fields))
    assert not unknown, f"{path}: {model.__name__} has no field(s) {unknown}"
    for key, value in data.items():
        _check(fields[key][1], value, f"{path}.{key}")


def parse_strict(model: type, data: Any) -> Any:
    """``data`` deserialized with ``model`` (as the client does), after :func:`assert_known`."""
    assert_known(model, data)
    return model(data)


def check(obj: Any) -> Any:
    """``obj`` (a model the client returned) after checking its wire keys strictly.

    The clients keep the JSON they received, unknown keys included, in the model; ``as_dict()``
    gives it back with its keys untouched.
    """
    assert_known(type(obj), obj.as_dict())
    return obj
