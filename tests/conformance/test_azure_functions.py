"""The portable function conformance suite on Azure Functions, against the ARM fake and its
function hosts (the local runtime runs the shim's function_app.py)."""

import pytest

from unicompute.testing import FunctionConformance


@pytest.mark.clouds("azure")
class TestAzureFunctions(FunctionConformance):
    pass
