"""Microsoft.Compute SSH public keys (``sshPublicKeys``): create/update by PUT, PATCH, get,
list per resource group and per subscription, delete.

The body is ARM's ``{"location", "tags"?, "properties": {"publicKey"}}``. A key given on
create or update must be an OpenSSH public key line Azure takes (RSA of 2048 bits or more, or
Ed25519); anything else is ``400 InvalidParameter`` with target ``publicKey``, as the VM's
``linuxConfiguration.ssh.publicKeys.keyData`` is checked. A key resource may be created
without a key (ARM fills it in on ``generateKeyPair``, which the fake does not offer).
"""

from __future__ import annotations

from typing import ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ..._ssh import parse_public_key
from .._kernel import HttpError, json_response
from . import _errors as errors
from ._base import JSON, Resource
from ._groups import RG, SUB, GroupHandlers

SSH_KEY = "Microsoft.Compute/sshPublicKeys"
KEYS = f"{RG}/providers/microsoft.compute/sshpublickeys"
_MIN_RSA_BITS = 2048


def valid_public_key(value: object) -> bool:
    """Whether ``value`` is an OpenSSH ``ssh-rsa`` (≥ 2048 bits) or ``ssh-ed25519`` key line."""
    try:
        key = parse_public_key(value)
    except ValueError:
        return False
    if key.type == "ssh-rsa":
        return (key.rsa_bits or 0) >= _MIN_RSA_BITS
    return key.type == "ssh-ed25519"


def invalid_key(target: str) -> HttpError:
    return errors.invalid_parameter(target, f"The value of parameter {target} is invalid.")


class SshKeyHandlers(GroupHandlers):
    """Endpoint (and fault) names ``ssh_key_put``, ``ssh_key_patch``, ``ssh_key_get``,
    ``ssh_key_list``, ``ssh_key_list_all``, ``ssh_key_delete``."""

    rules: ClassVar[list[Rule]] = [
        Rule(KEYS, methods=["GET"], endpoint="ssh_key_list"),
        Rule(f"{SUB}/providers/microsoft.compute/sshpublickeys", methods=["GET"],
             endpoint="ssh_key_list_all"),
        Rule(f"{KEYS}/<name>", methods=["PUT"], endpoint="ssh_key_put"),
        Rule(f"{KEYS}/<name>", methods=["PATCH"], endpoint="ssh_key_patch"),
        Rule(f"{KEYS}/<name>", methods=["GET"], endpoint="ssh_key_get"),
        Rule(f"{KEYS}/<name>", methods=["DELETE"], endpoint="ssh_key_delete"),
    ]

    def ssh_key_put(self, request: Request, subscription: str, group: str,
                    name: str) -> Response:
        rg = self.group(subscription, group)
        body = self.json_body(request)
        existing = self.stores[SSH_KEY].get(self.rid(subscription, rg, SSH_KEY, name))
        self.check_preconditions(request, existing)
        location = self.location_of(body, SSH_KEY)
        self.check_location(existing, location)
        tags = self.tags_of(body)
        props = body.get("properties") or {}
        key = props.get("publicKey")
        if key is not None and not valid_public_key(key):
            raise invalid_key("publicKey")
        rid = existing.id if existing else self.rid(subscription, rg, SSH_KEY, name)
        res = existing or Resource(id=rid, name=name, group=rg.name, body={})
        out: JSON = {"id": rid, "name": res.name, "type": SSH_KEY, "location": location}
        if tags:
            out["tags"] = tags
        kept = key if key is not None else (existing.props.get("publicKey") if existing
                                            else None)
        out["properties"] = {} if kept is None else {"publicKey": kept}
        res.body = out
        self.stores[SSH_KEY].put(rid, res)
        return json_response(out, status=200 if existing else 201)

    def ssh_key_patch(self, request: Request, subscription: str, group: str,
                      name: str) -> Response:
        res = self.find(SSH_KEY, subscription, group, name)
        body = self.json_body(request)
        self.check_preconditions(request, res)
        tags = self.tags_of(body) if "tags" in body else None
        key = (body.get("properties") or {}).get("publicKey")
        if key is not None and not valid_public_key(key):
            raise invalid_key("publicKey")
        if tags:
            res.body["tags"] = tags
        elif tags is not None:
            res.body.pop("tags", None)
        if key is not None:
            res.props["publicKey"] = key
        return json_response(res.body)

    def ssh_key_get(self, request: Request, subscription: str, group: str,
                    name: str) -> Response:
        return json_response(self.find(SSH_KEY, subscription, group, name).body)

    def ssh_key_list(self, request: Request, subscription: str, group: str) -> Response:
        rg = self.group(subscription, group)
        return self.page(request, self.stores[SSH_KEY], self.in_group(rg), lambda r: r.body)

    def ssh_key_list_all(self, request: Request, subscription: str) -> Response:
        self.check_subscription(subscription)
        return self.page(request, self.stores[SSH_KEY], None, lambda r: r.body)

    def ssh_key_delete(self, request: Request, subscription: str, group: str,
                       name: str) -> Response:
        rg = self.group(subscription, group)
        res = self.stores[SSH_KEY].get(self.rid(subscription, rg, SSH_KEY, name))
        if res is None:
            return Response(status=204)
        self.drop(SSH_KEY, res)
        return Response(status=200)
