"""The portable conformance suite on GCP, against the Compute Engine fake.

Every case runs; only capabilities GCP does not declare are skipped, by the suite itself.
"""

import pytest

from unicompute.testing import VMConformance


@pytest.mark.clouds("gcp")
class TestGCPConformance(VMConformance):
    pass
