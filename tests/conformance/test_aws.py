"""The portable conformance suite on AWS, against moto."""

import pytest

from unicompute.testing import VMConformance


@pytest.mark.clouds("aws")
class TestAWSConformance(VMConformance):
    pass
