"""Function source: the signed upload URLs ``generateUploadUrl`` hands out, the Cloud Storage
host that takes the ``PUT`` of the zip, and the "build" that unpacks a stored zip.

An upload URL is ``https://storage.googleapis.com/gcf-v2-uploads-{number}-{region}/{uuid}.zip
?GoogleAccessId=...&Expires=...&Signature=...``. As GCF documents for it, the ``PUT`` must carry
``content-type: application/zip`` (it is part of the signature: anything else is 403
``SignatureDoesNotMatch``) and no ``Authorization`` header (400); an expired URL (30 minutes of
fake time) is 400 ``ExpiredToken``. Errors are Cloud Storage's XML documents.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .._kernel import EmulatorApp, FakeClock, HttpError, IdFactory
from .._kernel.app import read_body

STORAGE_HOST = "storage.googleapis.com"
STORAGE_URL = f"https://{STORAGE_HOST}"
UPLOAD_TTL_S = 1800


@dataclass
class _Slot:
    signature: str
    expires: float
    data: bytes | None = None
    generation: int = 0


class BuildError(Exception):
    """The source cannot be built; ``str()`` is the build's message."""


class SourceStore(EmulatorApp):
    """Upload slots and stored objects by ``(bucket, object)``, served as Cloud Storage."""

    url_map = Map([Rule("/<bucket>/<path:name>", methods=["PUT"], endpoint="put_object")])

    def __init__(self, *, clock: FakeClock, ids: IdFactory) -> None:
        super().__init__(clock=clock, ids=ids)
        self.objects: dict[tuple[str, str], _Slot] = {}

    def reset_state(self) -> None:
        self.objects.clear()

    def new_upload(self, project_number: str, region: str) -> dict[str, Any]:
        """A ``GenerateUploadUrlResponse``."""
        bucket = f"gcf-v2-uploads-{project_number}-{region}"
        name = f"{self.ids.uuid()}.zip"
        expires = self.clock.time() + UPLOAD_TTL_S
        epoch = int(self.clock.start.timestamp() + expires)
        signature = base64.b64encode(hashlib.sha256(
            f"{bucket}/{name}/{epoch}/{self.ids.hex(16)}".encode()).digest()).decode()
        self.objects[(bucket, name)] = _Slot(signature, expires)
        account = f"service-{project_number}@gcf-admin-robot.iam.gserviceaccount.com"
        url = (f"{STORAGE_URL}/{bucket}/{name}?GoogleAccessId={quote(account, safe='')}"
               f"&Expires={epoch}&Signature={quote(signature, safe='')}")
        return {"uploadUrl": url, "storageSource": {"bucket": bucket, "object": name}}

    def get(self, bucket: str, name: str) -> tuple[bytes, int] | None:
        """The object's bytes and generation, or ``None`` when nothing was uploaded."""
        slot = self.objects.get((bucket, name))
        if slot is None or slot.data is None:
            return None
        return slot.data, slot.generation

    # -- Cloud Storage -----------------------------------------------------------------------
    def error_response(self, error: HttpError) -> Response:
        body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{error.code}</Code>"
                f"<Message>{error.message}</Message></Error>")
        return Response(body, status=error.status, content_type="application/xml; charset=UTF-8")

    def not_found(self, request: Request) -> HttpError:
        return HttpError(404, "NoSuchKey", "The specified key does not exist.")

    def put_object(self, request: Request, bucket: str, name: str) -> Response:
        slot = self.objects.get((bucket, name))
        if slot is None or request.args.get("Signature") != slot.signature:
            raise HttpError(403, "SignatureDoesNotMatch", "The request signature we calculated "
                            "does not match the signature you provided. Check your Google "
                            "secret key and signing method.")
        if "Authorization" in request.headers:
            raise HttpError(400, "InvalidAuthorization", "Cannot use a signed URL together "
                            "with an Authorization header.")
        if request.headers.get("Content-Type", "").split(";")[0].strip() != "application/zip":
            raise HttpError(403, "SignatureDoesNotMatch", "The request signature we calculated "
                            "does not match the signature you provided. Check your Google "
                            "secret key and signing method.")
        if self.clock.time() > slot.expires:
            raise HttpError(400, "ExpiredToken", "Invalid argument.")
        slot.data = read_body(request)
        slot.generation = int(self.clock.now().timestamp() * 1_000_000) + len(self.objects)
        etag = hashlib.md5(slot.data, usedforsecurity=False).hexdigest()
        return Response(b"", status=200, headers={
            "ETag": f'"{etag}"', "x-goog-generation": str(slot.generation),
            "x-goog-metageneration": "1", "x-goog-stored-content-length": str(len(slot.data))})


def unpack(data: bytes, target: str, source_file: str) -> None:
    """Unzip ``data`` into ``target`` as the Python buildpack sees the source; raises
    :class:`BuildError` with the build's words when it cannot be built."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BuildError("Build failed: the source archive is not a valid zip file.") from None
    with archive:
        for info in archive.infolist():
            parts = info.filename.replace("\\", "/").split("/")
            if info.filename.startswith("/") or ".." in parts:
                raise BuildError(f"Build failed: invalid path in source archive: "
                                 f"{info.filename!r}")
        archive.extractall(target)
    if not os.path.isfile(os.path.join(target, source_file)):
        if source_file == "main.py":
            raise BuildError("Build failed: missing main.py and GOOGLE_FUNCTION_SOURCE not "
                             "specified. Either create the function in main.py or specify "
                             "GOOGLE_FUNCTION_SOURCE to point to the function source file.")
        raise BuildError(f"Build failed: GOOGLE_FUNCTION_SOURCE specified file "
                         f"'{source_file}' but it does not exist.")
