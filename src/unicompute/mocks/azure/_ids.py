"""The fake's identity (tenant, client, subscription) and ARM resource ids."""

from __future__ import annotations

#: Directory (tenant) the fake AAD issues tokens for. All-zero GUIDs: obviously not real.
TENANT_ID = "00000000-0000-0000-0000-0000000fa4e0"
#: The service principal ``DefaultAzureCredential`` signs in as inside ``mock_cloud()``.
CLIENT_ID = "00000000-0000-0000-0000-0000000fa4e1"
#: Its secret; a placeholder that could never be a real Azure secret.
CLIENT_SECRET = "unicompute-fake-secret-not-real"
#: The subscription the fake knows; requests for any other get ``SubscriptionNotFound``.
SUBSCRIPTION_ID = "00000000-0000-0000-0000-0000000fa4e2"

ARM_HOST = "https://management.azure.com"
AAD_HOST = "https://login.microsoftonline.com"


def group_id(subscription: str, group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}"


def resource_id(subscription: str, group: str, rtype: str, name: str) -> str:
    """``/subscriptions/{s}/resourceGroups/{g}/providers/{Namespace/type}/{name}``."""
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{rtype}/{name}"


def parse_id(rid: str) -> dict[str, str]:
    """The parts of an ARM resource id, keyed by lower-cased segment type.

    ``/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/x``
    gives ``{"subscriptions": "s", "resourcegroups": "g", "namespace": "Microsoft.Network",
    "virtualnetworks": "v", "subnets": "x", "type": "virtualNetworks/subnets"}``. Malformed ids
    give ``{}``.
    """
    parts = [p for p in rid.split("/") if p]
    out: dict[str, str] = {}
    types: list[str] = []
    i = 0
    while i < len(parts):
        key = parts[i]
        if key.lower() == "providers" and i + 1 < len(parts):
            out["namespace"] = parts[i + 1]
            i += 2
            continue
        if i + 1 >= len(parts):
            return {}
        out[key.lower()] = parts[i + 1]
        if "namespace" in out:
            types.append(key)
        i += 2
    out["type"] = "/".join(types)
    return out


def canonical_path(path: str) -> str:
    """``path`` with ARM's fixed words lower-cased and names left alone, for routing.

    ARM matches ``resourceGroups``/``resourcegroups`` and ``Microsoft.Compute`` alike; in an
    ARM path the fixed words sit at even positions, plus the namespace after ``providers`` and
    the artifact type after ``artifacttypes``.
    """
    parts = path.split("/")
    out: list[str] = []
    prev = ""
    # parts[0] is "" (leading slash), so fixed words are at odd indexes here.
    for index, part in enumerate(parts):
        low = part.lower()
        if index % 2 == 1 or prev in ("providers", "artifacttypes"):
            out.append(low)
        else:
            out.append(part)
        prev = low
    return "/".join(out)
