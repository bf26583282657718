"""Read-only Microsoft.Compute catalog endpoints: VM sizes and marketplace images."""

from __future__ import annotations

from typing import ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import HttpError, json_response
from . import _errors as errors
from ._base import JSON
from ._catalog import LOCATIONS, ImageSku, images, normalize_location, sizes_body
from ._disks import DiskHandlers
from ._groups import SUB

LOC = f"{SUB}/providers/microsoft.compute/locations/<location>"
PUB = f"{LOC}/publishers/<publisher>/artifacttypes/vmimage"


def _image_not_found() -> HttpError:
    return HttpError(404, "NotFound", "Artifact: VMImage was not found.")


class CatalogHandlers(DiskHandlers):
    """Endpoint names ``sizes_list``, ``publishers_list``, ``offers_list``, ``skus_list``,
    ``versions_list``, ``image_get``."""

    rules: ClassVar[list[Rule]] = [
        Rule(f"{LOC}/vmsizes", methods=["GET"], endpoint="sizes_list"),
        Rule(f"{LOC}/publishers", methods=["GET"], endpoint="publishers_list"),
        Rule(f"{PUB}/offers", methods=["GET"], endpoint="offers_list"),
        Rule(f"{PUB}/offers/<offer>/skus", methods=["GET"], endpoint="skus_list"),
        Rule(f"{PUB}/offers/<offer>/skus/<sku>/versions", methods=["GET"],
             endpoint="versions_list"),
        Rule(f"{PUB}/offers/<offer>/skus/<sku>/versions/<version>", methods=["GET"],
             endpoint="image_get"),
    ]

    def _location(self, subscription: str, location: str) -> str:
        self.check_subscription(subscription)
        loc = normalize_location(location)
        if loc not in LOCATIONS:
            raise errors.location_not_available(location, "Microsoft.Compute/locations",
                                                ",".join(sorted(LOCATIONS)))
        return loc

    def sizes_list(self, request: Request, subscription: str, location: str) -> Response:
        self._location(subscription, location)
        return Response(sizes_body(), content_type="application/json; charset=utf-8")

    @staticmethod
    def image_base(subscription: str, location: str) -> str:
        """The id prefix ARM prints for platform images (its own capitalization)."""
        return (f"/Subscriptions/{subscription}/Providers/Microsoft.Compute/Locations/"
                f"{location}")

    def _matching(self, publisher: str, offer: str | None = None,
                  sku: str | None = None) -> list[ImageSku]:
        return [i for i in images()
                if i.publisher.lower() == publisher.lower()
                and (offer is None or i.offer.lower() == offer.lower())
                and (sku is None or i.sku.lower() == sku.lower())]

    def _item(self, name: str, location: str, rid: str) -> JSON:
        return {"name": name, "location": location, "id": rid}

    def publishers_list(self, request: Request, subscription: str, location: str) -> Response:
        loc = self._location(subscription, location)
        base = self.image_base(subscription, loc)
        names = dict.fromkeys(i.publisher for i in images())
        return json_response([self._item(n, loc, f"{base}/Publishers/{n}") for n in names])

    def offers_list(self, request: Request, subscription: str, location: str,
                    publisher: str) -> Response:
        loc = self._location(subscription, location)
        found = self._matching(publisher)
        if not found:
            raise _image_not_found()
        base = f"{self.image_base(subscription, loc)}/Publishers/{found[0].publisher}"
        offers = dict.fromkeys(i.offer for i in found)
        return json_response([self._item(o, loc, f"{base}/ArtifactTypes/VMImage/Offers/{o}")
                              for o in offers])

    def skus_list(self, request: Request, subscription: str, location: str, publisher: str,
                  offer: str) -> Response:
        loc = self._location(subscription, location)
        found = self._matching(publisher, offer)
        if not found:
            raise _image_not_found()
        first = found[0]
        base = (f"{self.image_base(subscription, loc)}/Publishers/{first.publisher}/"
                f"ArtifactTypes/VMImage/Offers/{first.offer}/Skus")
        return json_response([self._item(i.sku, loc, f"{base}/{i.sku}") for i in found])

    def versions_list(self, request: Request, subscription: str, location: str,
                      publisher: str, offer: str, sku: str) -> Response:
        loc = self._location(subscription, location)
        found = self._matching(publisher, offer, sku)
        if not found:
            raise _image_not_found()
        image = found[0]
        versions = list(image.versions)
        order = request.args.get("$orderby", "")
        if order.lower().replace(" ", "") == "namedesc":
            versions.reverse()
        top = request.args.get("$top")
        if top is not None:
            if not top.isdigit():
                raise errors.invalid_parameter("$top", f"The value '{top}' of $top is invalid.")
            versions = versions[: int(top)]
        return json_response([self._item(v, loc, self.image_id(subscription, loc, image, v))
                              for v in versions])

    def image_id(self, subscription: str, location: str, image: ImageSku, version: str) -> str:
        return (f"{self.image_base(subscription, location)}/Publishers/{image.publisher}/"
                f"ArtifactTypes/VMImage/Offers/{image.offer}/Skus/{image.sku}/Versions/"
                f"{version}")

    def image_get(self, request: Request, subscription: str, location: str, publisher: str,
                  offer: str, sku: str, version: str) -> Response:
        loc = self._location(subscription, location)
        found = self._matching(publisher, offer, sku)
        if not found or version not in found[0].versions:
            raise _image_not_found()
        image = found[0]
        features = [{"name": "IsAcceleratedNetworkSupported", "value": "True"},
                    {"name": "DiskControllerTypes", "value": "SCSI, NVMe"}]
        if image.generation == "V2":
            features.insert(0, {"name": "SecurityType", "value": "TrustedLaunchSupported"})
        return json_response({
            "name": version, "location": loc,
            "id": self.image_id(subscription, loc, image, version),
            "properties": {
                "hyperVGeneration": image.generation, "architecture": image.architecture,
                "osDiskImage": {"operatingSystem": image.os_type}, "dataDiskImages": [],
                "automaticOSUpgradeProperties": {"automaticOSUpgradeSupported": False},
                "disallowed": {"vmDiskType": "Unmanaged"}, "features": features}})
