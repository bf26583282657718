"""The portable function conformance suite on GCP Cloud Functions (2nd gen), against the GCP
fake (Cloud Functions v2, Cloud Scheduler, Cloud Run IAM, Logging) and the local runtime."""

import pytest

from unicompute.testing import FunctionConformance


@pytest.mark.clouds("gcp")
class TestGCPFunctions(FunctionConformance):
    pass
