"""The AWS client against a small IMDSv2 stand-in that refuses what EC2 refuses."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from werkzeug.wrappers import Request, Response

from unicompute import ProviderError, metadata

TOKEN = "AQAEAN-test-token=="


def imds(paths: dict[str, str | bytes], *, status: dict[str, int] | None = None
         ) -> Callable[[Request], Response]:
    """IMDS with tokens required: PUT /latest/api/token with a TTL of 1-21600 gives TOKEN
    (400 otherwise); GETs without it are 401; unknown paths 404."""
    status = status or {}

    def handler(request: Request) -> Response:
        if request.path == "/latest/api/token":
            if request.method != "PUT":
                return Response(status=405)
            ttl = request.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return Response(status=400)
            return Response(TOKEN, content_type="text/plain")
        if request.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            return Response(status=401)
        path = request.path.removeprefix("/latest/")
        if path in status:
            return Response("boom", status=status[path])
        if path not in paths:
            return Response("Not Found", status=404)
        return Response(paths[path], content_type="text/plain")

    return handler


BASE: dict[str, str | bytes] = {
    "meta-data/instance-id": "i-0123456789abcdef0",
    "meta-data/instance-type": "t3.micro",
    "meta-data/ami-id": "ami-0abc",
    "meta-data/placement/availability-zone": "eu-west-1b",
    "meta-data/placement/region": "eu-west-1",
    "meta-data/local-ipv4": "10.0.1.5",
    "meta-data/instance-life-cycle": "spot",
    "meta-data/tags/instance": "Name\napp\nunicompute:sg\nunicompute:managed",
    "meta-data/tags/instance/Name": "web-1",
    "meta-data/tags/instance/app": "web",
    "meta-data/tags/instance/unicompute:sg": "sg-1",
    "meta-data/tags/instance/unicompute:managed": "true",
    "user-data": b"#!/bin/sh\necho hi\n\xff",
}


def test_identity_over_imdsv2_only(serve, on_cloud) -> None:
    served = serve(imds(BASE))
    on_cloud("aws", served.url)
    me = metadata.current()
    assert me == metadata.InstanceIdentity(
        provider="aws", instance_id="i-0123456789abcdef0", native_id="i-0123456789abcdef0",
        name="web-1", region="eu-west-1", zone="eu-west-1b", size="t3.micro", image="ami-0abc",
        private_ip="10.0.1.5", public_ip=None,
        tags={"app": "web", "unicompute:managed": "true"}, spot=True,
        user_data=b"#!/bin/sh\necho hi\n\xff")
    assert me.user_data == BASE["user-data"]
    # never a v1 read: the token PUT comes first and every GET carries the token
    assert served.seen[0].method == "PUT"
    gets = [r for r in served.seen if r.method == "GET"]
    assert gets and all(r.headers.get("X-aws-ec2-metadata-token") == TOKEN for r in gets)
    ttl = int(served.seen[0].headers["X-aws-ec2-metadata-token-ttl-seconds"])
    assert 1 <= ttl <= 21600


def test_without_metadata_tags_name_and_tags_are_unknown(serve, on_cloud) -> None:
    paths = {k: v for k, v in BASE.items() if "tags" not in k and k != "user-data"}
    paths["meta-data/instance-life-cycle"] = "on-demand"
    paths["meta-data/public-ipv4"] = "54.1.2.3"
    on_cloud("aws", serve(imds(paths)).url)
    me = metadata.current()
    assert me is not None
    assert (me.tags, me.name, me.user_data, me.spot, me.public_ip) == (
        None, None, None, False, "54.1.2.3")


def test_region_from_zone_when_placement_region_is_missing(serve, on_cloud) -> None:
    paths = {k: v for k, v in BASE.items() if k != "meta-data/placement/region"}
    on_cloud("aws", serve(imds(paths)).url)
    me = metadata.current(provider="aws")
    assert me is not None and me.region == "eu-west-1"


def test_a_refused_token_means_not_aws(serve, on_cloud) -> None:
    def no_tokens(request: Request) -> Response:
        return Response(status=403)  # IMDS turned off for the instance

    on_cloud("aws", serve(no_tokens).url)
    assert metadata.current() is None


def test_server_error_is_a_metadata_error_naming_path_and_status(serve, on_cloud) -> None:
    on_cloud("aws", serve(imds(BASE, status={"meta-data/instance-type": 500})).url)
    with pytest.raises(metadata.MetadataError) as caught:
        metadata.current()
    error = caught.value
    assert isinstance(error, ProviderError)
    assert (error.status, error.provider, error.resource) == (
        500, "aws", "/latest/meta-data/instance-type")
    assert TOKEN not in str(error) and TOKEN not in repr(error)


def test_spot_instance_action(serve, on_cloud) -> None:
    action = json.dumps({"action": "stop", "time": "2026-11-26T10:02:00Z"})
    on_cloud("aws", serve(imds({**BASE, "meta-data/spot/instance-action": action})).url)
    notice = metadata.interruption_notice()
    assert notice is not None
    assert (notice.provider, notice.action, notice.not_before.isoformat()) == (
        "aws", "stop", "2026-11-26T10:02:00+00:00")


def test_no_instance_action_is_none(serve, on_cloud) -> None:
    on_cloud("aws", serve(imds(BASE)).url)
    assert metadata.interruption_notice() is None


@pytest.mark.parametrize("body", ["not json", json.dumps({"action": "explode", "time": "x"}),
                                  json.dumps({"action": "terminate"}),
                                  json.dumps({"action": "terminate", "time": "soon"})])
def test_malformed_instance_action_is_a_metadata_error(serve, on_cloud, body) -> None:
    on_cloud("aws", serve(imds({**BASE, "meta-data/spot/instance-action": body})).url)
    with pytest.raises(metadata.MetadataError) as caught:
        metadata.interruption_notice()
    assert caught.value.resource == "/latest/meta-data/spot/instance-action"
