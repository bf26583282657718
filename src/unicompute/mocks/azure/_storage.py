"""Microsoft.Storage storage accounts: create (PUT, long-running), get, list, delete, listKeys;
their blob containers and queues (put, get, list, delete).

Enough of a storage account for a function app's ``AzureWebJobsStorage`` connection string:
the account's endpoints and its two access keys (``key1``/``key2``, kept in ``secrets`` and
only returned by ``listKeys``). Names are 3-24 lower-case letters and digits and unique in all
of Azure (the fake: in this fake), as ARM checks them: ``400 AccountNameInvalid``,
``409 StorageAccountAlreadyTaken``. The create answers 200 with the account when operations
are ``"instant"``; ``"stepped"``: 202 with ``Location`` and no body, as Microsoft.Storage does.
"""

from __future__ import annotations

import base64
import re
from typing import Any, ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import HttpError, Store, json_response
from .._kernel.store import casefold
from . import _errors as errors
from ._base import JSON, Resource
from ._groups import RG, SUB, GroupHandlers

STORAGE = "Microsoft.Storage/storageAccounts"
ACCOUNTS = f"{RG}/providers/microsoft.storage/storageaccounts"
_NAME = re.compile(r"[a-z0-9]{3,24}")
#: SKU names Microsoft.Storage accepts, with their tier.
SKUS = {"Standard_LRS": "Standard", "Standard_GRS": "Standard", "Standard_RAGRS": "Standard",
        "Standard_ZRS": "Standard", "Standard_GZRS": "Standard", "Standard_RAGZRS": "Standard",
        "Premium_LRS": "Premium", "Premium_ZRS": "Premium"}
#: (service, collection) → the kind of child resource the fake keeps for a storage account.
_CHILDREN = {("blobservices", "containers"): "containers", ("queueservices", "queues"): "queues"}
_CHILD_TYPES = {"containers": f"{STORAGE}/blobServices/containers",
                "queues": f"{STORAGE}/queueServices/queues"}
_CHILD_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])")
KINDS = frozenset({"StorageV2", "Storage", "BlobStorage", "BlockBlobStorage", "FileStorage"})


def connection_string(account: str, key: str) -> str:
    """The connection string Azure shows for an account (what ``AzureWebJobsStorage`` holds)."""
    return (f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};"
            "EndpointSuffix=core.windows.net")


class StorageHandlers(GroupHandlers):
    """Endpoint (and fault) names ``storage_put``, ``storage_get``, ``storage_list``,
    ``storage_list_all``, ``storage_delete``, ``storage_list_keys``."""

    rules: ClassVar[list[Rule]] = [
        Rule(ACCOUNTS, methods=["GET"], endpoint="storage_list"),
        Rule(f"{SUB}/providers/microsoft.storage/storageaccounts", methods=["GET"],
             endpoint="storage_list_all"),
        Rule(f"{ACCOUNTS}/<name>", methods=["PUT"], endpoint="storage_put"),
        Rule(f"{ACCOUNTS}/<name>", methods=["GET"], endpoint="storage_get"),
        Rule(f"{ACCOUNTS}/<name>", methods=["DELETE"], endpoint="storage_delete"),
        Rule(f"{ACCOUNTS}/<name>/listkeys", methods=["POST"], endpoint="storage_list_keys"),
        Rule(f"{ACCOUNTS}/<name>/<service>/<default>/<collection>", methods=["GET"],
             endpoint="storage_child_list"),
        Rule(f"{ACCOUNTS}/<name>/<service>/<default>/<collection>/<child>",
             methods=["PUT"], endpoint="storage_child_put"),
        Rule(f"{ACCOUNTS}/<name>/<service>/<default>/<collection>/<child>",
             methods=["GET"], endpoint="storage_child_get"),
        Rule(f"{ACCOUNTS}/<name>/<service>/<default>/<collection>/<child>",
             methods=["DELETE"], endpoint="storage_child_delete"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stores.setdefault(STORAGE, Store(casefold))

    def storage_put(self, request: Request, subscription: str, group: str,
                    name: str) -> Response:
        rg = self.group(subscription, group)
        if not _NAME.fullmatch(name):
            raise HttpError(400, "AccountNameInvalid",
                            f"{name} is not a valid storage account name. Storage account name "
                            "must be between 3 and 24 characters in length and use numbers and "
                            "lower-case letters only.", target="accountName")
        body = self.json_body(request)
        rid = self.rid(subscription, rg, STORAGE, name)
        existing = self.stores[STORAGE].get(rid)
        if existing is None and self.storage_account_key(name) is not None:
            raise HttpError(409, "StorageAccountAlreadyTaken",
                            f"The storage account named {name} is already taken.")
        location = self.location_of(body, STORAGE)
        self.check_location(existing, location)
        tags = self.tags_of(body)
        sku = (body.get("sku") or {}).get("name")
        if sku not in SKUS:
            raise errors.invalid_parameter("sku.name", f"The value '{sku}' is not a valid "
                                           "SKU name; valid values: " + ", ".join(SKUS) + ".")
        kind = body.get("kind")
        if kind not in KINDS:
            raise errors.invalid_parameter("kind", f"The value '{kind}' is not a valid kind.")
        props = body.get("properties") or {}
        out: JSON = {
            "id": rid, "name": name, "type": STORAGE, "location": location, "kind": kind,
            "sku": {"name": sku, "tier": SKUS[sku]},
            "properties": {
                "provisioningState": "Succeeded",
                "creationTime": existing.props["creationTime"] if existing else self.clock.iso(),
                "primaryEndpoints": {
                    service: f"https://{name}.{service}.core.windows.net/"
                    for service in ("blob", "queue", "table", "file", "dfs", "web")},
                "primaryLocation": location, "statusOfPrimary": "available",
                "accessTier": props.get("accessTier", "Hot"),
                "supportsHttpsTrafficOnly": props.get("supportsHttpsTrafficOnly", True),
                "minimumTlsVersion": props.get("minimumTlsVersion", "TLS1_0"),
                "allowBlobPublicAccess": props.get("allowBlobPublicAccess", False),
                "allowSharedKeyAccess": props.get("allowSharedKeyAccess", True),
                "encryption": {"keySource": "Microsoft.Storage", "services": {
                    "blob": {"enabled": True, "keyType": "Account"},
                    "file": {"enabled": True, "keyType": "Account"}}},
            },
        }
        if tags:
            out["tags"] = tags
        res = existing or Resource(id=rid, name=name, group=rg.name, body={})
        if not res.secrets:
            res.secrets = {"keys": [self._storage_key(), self._storage_key()],
                           "created": self.clock.iso()}
        res.body = out
        self.stores[STORAGE].put(rid, res)
        op = self.start_op(lambda: None, result=out)
        if op.done:
            return json_response(out, status=200)
        return Response(status=202, headers=self.lro_headers(
            request, "Microsoft.Storage", location, op))

    def _storage_key(self) -> str:
        return base64.b64encode(self.ids.uuid().encode() * 2)[:86].decode() + "=="

    def storage_get(self, request: Request, subscription: str, group: str,
                    name: str) -> Response:
        return json_response(self.find(STORAGE, subscription, group, name).body)

    def storage_list(self, request: Request, subscription: str, group: str) -> Response:
        rg = self.group(subscription, group)
        return self.page(request, self.stores[STORAGE], self.in_group(rg), lambda r: r.body)

    def storage_list_all(self, request: Request, subscription: str) -> Response:
        self.check_subscription(subscription)
        return self.page(request, self.stores[STORAGE], None, lambda r: r.body)

    def storage_delete(self, request: Request, subscription: str, group: str,
                       name: str) -> Response:
        rg = self.group(subscription, group)
        res = self.stores[STORAGE].get(self.rid(subscription, rg, STORAGE, name))
        if res is None:
            return Response(status=204)
        self.drop(STORAGE, res)
        return Response(status=200)

    def storage_list_keys(self, request: Request, subscription: str, group: str,
                          name: str) -> Response:
        res = self.find(STORAGE, subscription, group, name)
        return json_response({"keys": [
            {"keyName": f"key{i}", "value": value, "permissions": "FULL",
             "creationTime": res.secrets["created"]}
            for i, value in enumerate(res.secrets["keys"], start=1)]})

    # -- blob containers and queues (``blobServices/default/containers``,
    # ``queueServices/default/queues``), kept in the account's ``state`` -----------------------
    def _children(self, subscription: str, group: str, name: str, service: str, default: str,
                  collection: str) -> tuple[Resource, str, dict[str, JSON]]:
        kind = _CHILDREN.get((service.lower(), collection.lower()))
        if kind is None or default != "default":
            raise HttpError(404, "InvalidResourceType", "The resource type could not be found "
                            f"for '{service}/{default}/{collection}'.")
        account = self.find(STORAGE, subscription, group, name)
        items: dict[str, JSON] = account.state.setdefault(kind, {})
        return account, kind, items

    def _child(self, subscription: str, group: str, name: str, service: str, default: str,
               collection: str, child: str) -> tuple[Resource, str, dict[str, JSON]]:
        account, kind, items = self._children(subscription, group, name, service, default,
                                              collection)
        if not _CHILD_NAME.fullmatch(child) or "--" in child:
            raise HttpError(400, "ContainerOperationFailure" if kind == "containers" else
                            "QueueOperationFailure",
                            f"The specified resource name '{child}' contains invalid "
                            "characters or is not 3-63 lower-case letters, digits and hyphens.")
        return account, kind, items

    def storage_child_list(self, request: Request, subscription: str, group: str, name: str,
                           service: str, default: str, collection: str) -> Response:
        """``GET .../containers`` (``ListContainerItems``) or ``.../queues``
        (``ListQueueResource``): every child, by name, in one page."""
        _, _, items = self._children(subscription, group, name, service, default, collection)
        return json_response({"value": [items[child] for child in sorted(items)]})

    def storage_child_put(self, request: Request, subscription: str, group: str, name: str,
                          service: str, default: str, collection: str, child: str) -> Response:
        account, kind, items = self._child(subscription, group, name, service, default,
                                           collection, child)
        body = self.json_body(request)
        metadata = (body.get("properties") or {}).get("metadata")
        path = _CHILD_TYPES[kind].split("/", 2)[2].replace("/", "/default/")
        rid = f"{account.id}/{path}/{child}"
        existing = items.get(child)
        out: JSON = {"id": rid, "name": child, "type": _CHILD_TYPES[kind]}
        if kind == "containers":
            out["etag"] = f'"0x{self.ids.uuid().replace("-", "")[:15].upper()}"'
            out["properties"] = {
                "publicAccess": (body.get("properties") or {}).get("publicAccess", "None"),
                "leaseStatus": "Unlocked", "leaseState": "Available",
                "lastModifiedTime": self.clock.iso(), "hasImmutabilityPolicy": False,
                "hasLegalHold": False, "deleted": False, "remainingRetentionDays": 0,
                "defaultEncryptionScope": "$account-encryption-key",
                "denyEncryptionScopeOverride": False}
        else:
            out["properties"] = {}
        if isinstance(metadata, dict):
            out["properties"]["metadata"] = metadata
        items[child] = out
        return json_response(out, status=200 if existing or kind == "queues" else 201)

    def storage_child_get(self, request: Request, subscription: str, group: str, name: str,
                          service: str, default: str, collection: str, child: str) -> Response:
        _, kind, items = self._child(subscription, group, name, service, default, collection,
                                     child)
        found = items.get(child)
        if found is None:
            raise HttpError(404, "ContainerNotFound" if kind == "containers" else
                            "QueueNotFound", f"The specified {kind[:-1]} does not exist.")
        return json_response(found)

    def storage_child_delete(self, request: Request, subscription: str, group: str,
                             name: str, service: str, default: str, collection: str,
                             child: str) -> Response:
        _, kind, items = self._child(subscription, group, name, service, default, collection,
                                     child)
        found = items.pop(child, None) is not None
        return Response(status=200 if found and kind == "containers" else 204)

    def storage_account_key(self, account: str) -> tuple[Resource, str] | None:
        """The account named ``account`` (any group) and its first key, if it exists."""
        for res in self.stores[STORAGE].values():
            if res.name == account:
                return res, str(res.secrets["keys"][0])
        return None
