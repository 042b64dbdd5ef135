"""Envelope encryption of stored tables, and where files live under the data dir.

Each dataset has its own 256-bit data key, stored wrapped (AES-GCM) by the site master key.
Files are encrypted in independent 1 MiB AES-GCM chunks so that Parquet readers can seek
without decrypting the whole file; each chunk's nonce and associated data bind it to its file
and position, and a final-chunk flag makes truncation detectable.
"""

import base64
import io
import os
import struct
import uuid
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MAGIC = b"WBENC01\n"
CHUNK = 1024 * 1024
TAG = 16
_HEADER = struct.Struct(">8sI8s")  # magic, chunk size, per-file nonce prefix
_WRAP_AAD = b"workbench data key v1"


class CorruptFile(Exception):
    """An encrypted file failed authentication: it was altered, truncated, or the key is wrong."""


def master_key() -> bytes:
    raw = settings.MASTER_KEY_B64
    if not raw:
        raise ImproperlyConfigured("WORKBENCH_MASTER_KEY is not set (run `manage.py init_embedded` or set it in the environment)")
    key = base64.b64decode(raw)
    if len(key) != 32:
        raise ImproperlyConfigured("WORKBENCH_MASTER_KEY must decode to 32 bytes")
    return key


def new_data_key() -> tuple[bytes, bytes]:
    """A fresh data key and its wrapped form for storage."""
    key = AESGCM.generate_key(bit_length=256)
    return key, wrap_key(key)


def wrap_key(key: bytes) -> bytes:
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(master_key()).encrypt(nonce, key, _WRAP_AAD)


def unwrap_key(wrapped: bytes) -> bytes:
    wrapped = bytes(wrapped)
    if wrapped[:1] != b"\x01":
        raise CorruptFile("Unknown key wrapping format")
    try:
        return AESGCM(master_key()).decrypt(wrapped[1:13], wrapped[13:], _WRAP_AAD)
    except InvalidTag:
        raise CorruptFile("The data key does not unwrap with this master key") from None


def data_path(relative: str) -> Path:
    path = (settings.DATA_DIR / relative).resolve()
    if settings.DATA_DIR not in path.parents:
        raise ValueError("path escapes the data dir")
    return path


def new_staging_path() -> str:
    return f"staging/{uuid.uuid4().hex}.upload.enc"


def incoming_path() -> str:
    return f"datasets/incoming/{uuid.uuid4().hex}.parquet.enc"


def job_work_path(job_id: int, name: str = "") -> str:
    """A file in the scratch folder of one job (chunks of a fanned-out job); the sweeper removes it when the job ends."""
    return f"work/job-{job_id}/{name}" if name else f"work/job-{job_id}"


def remove_job_work(job_id: int) -> None:
    import shutil

    shutil.rmtree(data_path(job_work_path(job_id)), ignore_errors=True)


def version_relative_path(dataset_id: int) -> str:
    return f"datasets/{dataset_id}/{uuid.uuid4().hex}.parquet.enc"


# The files kept beside a version's table, by name: the stages that derive them say which one they mean.
SIBLINGS = {
    "profile": ".profile.json.enc",
    "scan": ".scan.json.enc",
    "spans": ".spans.json.enc",
    "model": ".model.json.enc",
    "evaluation": ".evaluation.json.enc",
    "release": ".release.json.enc",
}


def sibling_path(version_file: str, name: str) -> str:
    """The path of the file called `name` (a key of SIBLINGS) beside the version stored at `version_file`."""
    if not version_file.endswith(".parquet.enc"):
        raise ValueError("not a stored version's path")
    return version_file.removesuffix(".parquet.enc") + SIBLINGS[name]


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">Q?", index, final)


class EncryptedWriter(io.RawIOBase):
    """A write-only file that encrypts what is written to it, chunk by chunk."""

    def __init__(self, path: Path, key: bytes):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "wb")
        self._aead = AESGCM(key)
        self._prefix = os.urandom(8)
        self._header = _HEADER.pack(MAGIC, CHUNK, self._prefix)
        self._file.write(self._header)
        self._buffer = bytearray()
        self._index = 0
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        position = 0
        while position < len(view):
            room = CHUNK - len(self._buffer)
            if room == 0:  # full, and more is coming: this chunk is not the last
                self._emit(self._buffer, final=False)
                self._buffer = bytearray()
                continue
            self._buffer += view[position : position + room]
            position += room
        self._written += len(view)
        return len(view)

    def tell(self) -> int:
        return self._written

    def _emit(self, chunk: bytes | bytearray, *, final: bool) -> None:
        nonce = self._prefix + struct.pack(">I", self._index)
        self._file.write(self._aead.encrypt(nonce, chunk, _aad(self._header, self._index, final)))
        self._index += 1

    def close(self) -> None:
        if self.closed:
            return
        if len(self._buffer) == CHUNK:
            self._emit(self._buffer, final=False)
            self._buffer = bytearray()
        self._emit(self._buffer, final=True)
        self._file.close()
        super().close()


class EncryptedReader(io.RawIOBase):
    """A seekable read-only view of the plaintext of an encrypted file."""

    def __init__(self, path: Path, key: bytes):
        self._file = open(path, "rb")
        self._header = self._file.read(_HEADER.size)
        try:
            magic, self._chunk, self._prefix = _HEADER.unpack(self._header)
        except struct.error:
            raise CorruptFile("Not an encrypted workbench file") from None
        if magic != MAGIC:
            raise CorruptFile("Not an encrypted workbench file")
        self._aead = AESGCM(key)
        body = os.fstat(self._file.fileno()).st_size - _HEADER.size
        full, rest = divmod(body, self._chunk + TAG)
        if rest < TAG:
            raise CorruptFile("The encrypted file is truncated")
        self._chunks = full + 1
        self._size = full * self._chunk + rest - TAG
        self._pos = 0
        self._cache: tuple[int, bytes] | None = None

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _chunk_plain(self, index: int) -> bytes:
        if self._cache and self._cache[0] == index:
            return self._cache[1]
        self._file.seek(_HEADER.size + index * (self._chunk + TAG))
        sealed = self._file.read(self._chunk + TAG)
        nonce = self._prefix + struct.pack(">I", index)
        final = index == self._chunks - 1
        try:
            plain = self._aead.decrypt(nonce, sealed, _aad(self._header, index, final))
        except InvalidTag:
            raise CorruptFile("The encrypted file failed authentication (altered, truncated or wrong key)") from None
        self._cache = (index, plain)
        return plain

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._size:
            index, offset = divmod(self._pos, self._chunk)
            plain = self._chunk_plain(index)
            piece = plain[offset : offset + len(view) - done]
            view[done : done + len(piece)] = piece
            done += len(piece)
            self._pos += len(piece)
        return done

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._pos
        size = max(0, min(size, self._size - self._pos))
        parts = []
        while size > 0:
            index, offset = divmod(self._pos, self._chunk)
            plain = self._chunk_plain(index)
            piece = plain[offset : offset + size] if offset or size < len(plain) else plain
            parts.append(piece)
            self._pos += len(piece)
            size -= len(piece)
        return b"".join(parts)

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


def open_version(version) -> io.RawIOBase:
    """The plaintext of a stored version, for readers that are allowed to see it."""
    path = data_path(version.file)
    if not version.encrypted:
        return open(path, "rb")
    return EncryptedReader(path, unwrap_key(version.dataset.wrapped_key))


def write_encrypted_json(relative: str, key: bytes, document) -> None:
    import json

    data_path(relative).parent.mkdir(parents=True, exist_ok=True)
    with EncryptedWriter(data_path(relative), key) as out:
        out.write(json.dumps(document, default=str).encode())


def read_encrypted_json(relative: str, key: bytes):
    import json

    with EncryptedReader(data_path(relative), key) as src:
        return json.loads(src.read())


def seal(key: bytes, document, *, purpose: str) -> bytes:
    """A small JSON document encrypted for the database (AES-GCM), bound to its purpose: a record sealed for one
    purpose does not open as another."""
    import json

    nonce = os.urandom(12)
    return b"\x02" + nonce + AESGCM(key).encrypt(nonce, json.dumps(document, default=str).encode(), purpose.encode())


def unseal(key: bytes, sealed: bytes, *, purpose: str):
    """A sealed document, or None for an empty field. Records sealed before purposes were named (first byte 1) were
    bound to "turn"."""
    import json

    sealed = bytes(sealed)
    if not sealed:
        return None
    bound = b"turn" if sealed[:1] == b"\x01" else purpose.encode()
    return json.loads(AESGCM(key).decrypt(sealed[1:13], sealed[13:], bound))
