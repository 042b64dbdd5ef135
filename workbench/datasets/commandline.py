"""What the stage commands share: a plain file ingested exactly as an upload would be."""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import CommandError

from workbench.datasets.ingest import IngestError, IngestResult, ingest_stream


@contextmanager
def ingested(file: str) -> Iterator[tuple[Path, IngestResult]]:
    """The file as a temporary Parquet table (removed afterwards), or a CommandError that says why not."""
    path = Path(file)
    if not path.is_file():
        raise CommandError(f"No such file: {path}")
    with tempfile.TemporaryDirectory() as scratch, open(path, "rb") as src:
        parquet = Path(scratch) / "table.parquet"
        try:
            result = ingest_stream(src, filename=path.name, size=path.stat().st_size, out_factory=lambda: open(parquet, "wb"))
        except IngestError as error:
            raise CommandError(str(error)) from None
        yield parquet, result
