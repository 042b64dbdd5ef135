"""An upload handler that encrypts the incoming file as it streams to the staging area."""

import base64
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from workbench.storage import EncryptedWriter, data_path, new_data_key, new_staging_path


@dataclass
class StagedUpload:
    """An uploaded file, encrypted under its own key in the staging area."""

    name: str
    content_type: str
    size: int
    path: str
    wrapped_key_b64: str
    claimed: bool = False  # set once an ingest job owns the file; unclaimed ones are deleted after the request

    def close(self) -> None:
        """Django closes uploaded files after the request; the staged file stays for the ingest job."""


class EncryptingUploadHandler(FileUploadHandler):
    chunk_size = 1024 * 1024

    def __init__(self, request=None):
        super().__init__(request)
        self.max_bytes = settings.MAX_UPLOAD_BYTES
        self.writer = None
        self.staged: StagedUpload | None = None
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.max_bytes + 1024 * 1024:
            self._refuse(f"The upload is {content_length / 1e6:,.1f} MB; the limit is {self.max_bytes / 1e6:,.0f} MB.")
            return QueryDict(), MultiValueDict()
        return None

    def _refuse(self, reason: str) -> None:
        if self.request is not None:
            self.request.upload_error = reason

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        if self.writer is not None:
            self._discard()
            self._refuse("Upload one file at a time.")
            raise StopUpload(connection_reset=False)
        key, wrapped = new_data_key()
        relative = new_staging_path()
        self.writer = EncryptedWriter(data_path(relative), key)
        self.staged = StagedUpload(
            name=file_name or "",
            content_type=content_type or "",
            size=0,
            path=relative,
            wrapped_key_b64=base64.b64encode(wrapped).decode(),
        )
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self._discard()
            self._refuse(f"The file is over the limit of {self.max_bytes / 1e6:,.0f} MB.")
            raise StopUpload(connection_reset=False)
        self.writer.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.writer.close()
        self.staged.size = file_size
        return self.staged

    def upload_interrupted(self):
        self._discard()

    def _discard(self) -> None:
        if self.writer is not None and not self.writer.closed:
            self.writer.close()
        if self.staged is not None:
            data_path(self.staged.path).unlink(missing_ok=True)


def discard_staged(staged: StagedUpload | None) -> None:
    if staged is not None:
        data_path(staged.path).unlink(missing_ok=True)


class DiscardUnclaimedUploadsMiddleware:
    """Delete staged files of requests that did not hand them to a job: refused, unauthorised or failed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            files = getattr(request, "_files", None)
            for staged in files.values() if files else ():
                if isinstance(staged, StagedUpload) and not staged.claimed:
                    discard_staged(staged)
