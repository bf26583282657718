"""Listing functions before unicompute made its resource group is an empty list, not NotFound."""

import unicompute as uc
from unicompute.mocks import mock_cloud


def test_list_in_a_missing_resource_group_is_empty() -> None:
    with mock_cloud(["azure"]), uc.connect("azure", region="eastus", resource_group="not-made",
                                           create_resource_group=False) as cloud:
        assert list(cloud.functions.list()) == []
