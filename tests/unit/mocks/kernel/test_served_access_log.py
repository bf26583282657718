"""A served fake writes no access log: request lines carry secrets (SAS signatures, keys)."""

import logging

import pytest
import requests

from unicompute.mocks._kernel.transport import serve


def _ok(environ, start_response):  # type: ignore[no-untyped-def]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_request_lines_are_not_logged(caplog: pytest.LogCaptureFixture,
                                      capfd: pytest.CaptureFixture[str]) -> None:
    served = serve(_ok)
    try:
        with caplog.at_level(logging.DEBUG, logger="werkzeug"):
            answer = requests.get(f"{served.url}/blob?sig=TopSecretSignature", timeout=10)
    finally:
        served.shutdown()
    assert answer.text == "ok"
    out, err = capfd.readouterr()
    assert "TopSecretSignature" not in caplog.text + out + err
