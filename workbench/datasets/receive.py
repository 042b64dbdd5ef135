"""Taking an upload off a request: shared by the page and the API."""

import base64

from django.conf import settings

from workbench.datasets.ingest import IngestError, precheck
from workbench.datasets.uploads import StagedUpload
from workbench.storage import EncryptedReader, data_path, unwrap_key


class UploadRejected(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def receive_upload(request) -> tuple[StagedUpload, str]:
    """The staged (encrypted) upload of this request and the dataset name, or UploadRejected.

    A refused file needs no cleaning up here: DiscardUnclaimedUploadsMiddleware deletes it."""
    if not (request.content_type or "").startswith("multipart/form-data"):
        raise UploadRejected("Send the file as multipart/form-data in a field named 'file'.", 415)
    files, form = request.FILES, request.POST
    if getattr(request, "upload_error", None):
        raise UploadRejected(request.upload_error, 413)
    staged = files.get("file")
    if not isinstance(staged, StagedUpload):
        raise UploadRejected("No file was uploaded: send it in a field named 'file'.")
    if staged.size > settings.MAX_UPLOAD_BYTES:
        raise UploadRejected(f"The file is over the limit of {settings.MAX_UPLOAD_BYTES / 1e6:,.0f} MB.", 413)
    key = unwrap_key(base64.b64decode(staged.wrapped_key_b64))
    try:
        with EncryptedReader(data_path(staged.path), key) as src:
            precheck(src, filename=staged.name, size=staged.size, content_type=staged.content_type)
    except IngestError as error:
        raise UploadRejected(str(error)) from None
    return staged, form.get("name", "")
