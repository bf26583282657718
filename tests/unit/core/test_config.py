"""The provider-settings checks every provider shares."""

from __future__ import annotations

import pytest

import unicompute as uc
from unicompute import _config


def test_unknown_keys_are_named_with_the_known_ones() -> None:
    with pytest.raises(uc.InvalidRequest) as caught:
        _config.check_known({"regoin": "x"}, {"region", "endpoint_url"}, provider="p")
    assert caught.value.field == "regoin"
    assert "expected one of endpoint_url, region" in caught.value.message


@pytest.mark.parametrize(("value", "expected"), [(None, 5.0), (2, 2.0), ("0.5", 0.5), (0, 0.0)])
def test_seconds_accept_numbers_and_url_strings(value: object, expected: float) -> None:
    config = {} if value is None else {"poll_interval": value}
    assert _config.seconds(config, "poll_interval", 5.0, provider="p") == expected


@pytest.mark.parametrize("value", [-1, "soon", True, float("inf"), float("nan")])
def test_seconds_refuse_what_is_not_a_duration(value: object) -> None:
    with pytest.raises(uc.InvalidRequest) as caught:
        _config.seconds({"poll_interval": value}, "poll_interval", 5.0, provider="p")
    assert caught.value.field == "poll_interval"


@pytest.mark.parametrize(
    "url", ["ftp://host", "http://", "http://host:port", "http://user:pw@host", "", 5])
def test_endpoint_url_refused_without_echoing_it(url: object) -> None:
    with pytest.raises(uc.InvalidRequest) as caught:
        _config.endpoint_url({"endpoint_url": url}, provider="p")
    assert caught.value.field == "endpoint_url"
    if isinstance(url, str) and "host" in url:  # the URL itself is never shown
        assert url not in str(caught.value)


def test_endpoint_url_accepted() -> None:
    assert _config.endpoint_url({}, provider="p") is None
    url = "http://127.0.0.1:5002/?x=1"
    assert _config.endpoint_url({"endpoint_url": url}, provider="p") == url
