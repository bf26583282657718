"""The portable function conformance suite on AWS, against moto and the local runtime."""

import pytest

from unicompute.testing import FunctionConformance


@pytest.mark.clouds("aws")
class TestAWSFunctions(FunctionConformance):
    pass
