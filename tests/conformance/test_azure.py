"""The portable conformance suite on Azure, against the ARM fake."""

import pytest

from unicompute.testing import VMConformance


@pytest.mark.clouds("azure")
class TestAzureConformance(VMConformance):
    pass
