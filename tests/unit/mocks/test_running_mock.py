"""``running_mock()`` is the active mock_cloud(), or None."""

from unicompute.mocks import mock_cloud, running_mock


def test_running_mock_follows_the_active_mock() -> None:
    assert running_mock() is None
    with mock_cloud(["gcp"]) as mock:
        assert running_mock() is mock
    assert running_mock() is None
