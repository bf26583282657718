"""The pytest plugin as a user's suite sees it: fixtures with no set-up, per-provider runs,
explicit skips, and isolation between tests."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_user_suite_gets_fixtures_isolation_and_explicit_skips(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import boto3
        import pytest
        import unicompute as uc

        def test_first_launches(cloud):
            cloud.vms.launch(uc.VMSpec(name="a", size="t3.micro", image="debian-12"))
            assert [vm.name for vm in cloud.vms.list()] == ["a"]

        def test_second_sees_nothing_of_the_first(cloud):
            assert list(cloud.vms.list()) == []

        def test_boto3_inside_mock_cloud(mock_cloud):
            ec2 = boto3.client("ec2", region_name="eu-west-1")
            assert ec2.describe_instances()["Reservations"] == []

        @pytest.mark.clouds("aws", "azure", "gcp", "libcloud:dummy")
        def test_everywhere(cloud, request):
            assert cloud.provider == request.node.callspec.id
            assert list(cloud.vms.list()) == []
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=6, skipped=1)
    result.stdout.fnmatch_lines(["*unicompute has no fake for libcloud:dummy yet*"])


def test_clouds_marker_needs_provider_names(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.clouds()
        def test_nothing(cloud):
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*clouds needs provider names*"])
