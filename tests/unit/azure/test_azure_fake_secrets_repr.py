"""The ARM fake's resources never show the secrets ARM itself never echoes in their reprs."""

from unicompute.mocks.azure._base import Resource


def test_resource_repr_leaves_out_secrets() -> None:
    resource = Resource(id="/subscriptions/s/resourceGroups/g", name="g", group="g", body={},
                        secrets={"adminPassword": "Sup3r-secret-value"})
    assert "Sup3r-secret-value" not in repr(resource)
