"""Domain functions for datasets and versions: upload, ingest, profile, preview, export."""

import base64
import io
import logging
import os
import re
from collections.abc import Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.db import transaction
from django.utils import timezone

from workbench.audit.actions import record_event
from workbench.datasets.ingest import IngestError, ingest_stream
from workbench.datasets.models import Dataset, Tier, Version
from workbench.datasets.profile import profile_parquet, semantic_schema
from workbench.datasets.uploads import StagedUpload
from workbench.errors import Refused
from workbench.jobs.actions import JobError, create_job
from workbench.jobs.models import Job
from workbench.storage import (
    EncryptedReader,
    EncryptedWriter,
    data_path,
    incoming_path,
    new_data_key,
    open_version,
    read_encrypted_json,
    remove_job_work,
    sibling_path,
    unwrap_key,
    version_relative_path,
    write_encrypted_json,
)

logger = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
FORMULA_START = r"^[=+\-@\t\r]"


def start_upload(*, workspace, user, staged: StagedUpload, name: str = ""):
    """Queue the ingest of a staged upload into a new dataset; returns the job."""
    display = (name or staged.name.rsplit(".", 1)[0] or "Untitled").strip()[:200]
    with transaction.atomic():
        job = create_job(
            kind="ingest",
            user=user,
            workspace=workspace,
            params={
                "name": display,
                "filename": staged.name,
                "content_type": staged.content_type,
                "size": staged.size,
                "staging": staged.path,
                "staging_key": staged.wrapped_key_b64,
            },
        )
        record_event(actor=user, action="dataset.upload", obj=job, workspace_id=workspace.pk, details={"bytes": staged.size})
    staged.claimed = True
    return job


def ingest_upload(
    *,
    job_id: int,
    workspace_id: int,
    user,
    staging: str,
    staging_key: str,
    filename: str,
    name: str,
    content_type: str = "",
    progress: Progress,
) -> Version:
    """Parse a staged upload into a new dataset's RAW version (encrypted Parquet); the job `job_id` is pointed at
    the new dataset and version."""
    staging = data_path(staging)
    if not staging.exists():
        raise JobError("The uploaded file is no longer in the staging area; upload it again.")
    key, wrapped = new_data_key()
    out_path = data_path(incoming_path())
    try:
        with EncryptedReader(staging, unwrap_key(base64.b64decode(staging_key))) as src:
            result = ingest_stream(
                src,
                filename=filename,
                size=src.size,
                content_type=content_type,
                out_factory=lambda: EncryptedWriter(out_path, key),
                progress=progress,
            )
    except IngestError as error:
        out_path.unlink(missing_ok=True)
        staging.unlink(missing_ok=True)
        raise JobError(str(error), retryable=False) from None
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        dataset = Dataset.objects.create(workspace_id=workspace_id, name=name, wrapped_key=wrapped, created_by=user)
        final = version_relative_path(dataset.pk)
        data_path(final).parent.mkdir(parents=True, exist_ok=True)
        os.replace(out_path, data_path(final))
        version = Version.objects.create(
            dataset=dataset,
            number=1,
            tier=Tier.RAW,
            made_by={"kind": "upload", "filename": filename, "format": result.format, **result.details},
            file=final,
            size_bytes=data_path(final).stat().st_size,
            row_count=result.row_count,
            column_count=len(result.columns),
            schema=result.columns,
            created_by=user,
        )
        Job.objects.filter(pk=job_id).update(dataset=dataset, version=version)
        record_event(
            actor=user,
            action="version.create",
            obj=version,
            workspace_id=workspace_id,
            details={"tier": "RAW", "rows": result.row_count, "columns": len(result.columns)},
        )
    staging.unlink(missing_ok=True)
    return version


def purge_dataset(*, dataset: Dataset, user) -> int:
    """Cryptographic erasure of a dataset: its data key is overwritten first (so no copy of a file left anywhere, a
    backup of the data folder included, can be read again with this database), then every version, file, artifact,
    conversation, release request and job goes. The audit keeps the purge event. Returns the files removed.
    A database backup taken before the purge still holds the wrapped key: rotate the master key to end those too."""
    import shutil

    folder = data_path(f"datasets/{dataset.pk}")
    files = {
        data_path(path) for version in dataset.versions.all() for path in (version.file, version.profile_file, version.scan_file) if path
    }
    files |= {path for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()
    jobs = list(Job.objects.filter(dataset=dataset).values_list("pk", "params"))
    files |= {data_path(params["staging"]) for _, params in jobs if params.get("staging")}
    counts = {
        "versions": dataset.versions.count(),
        "conversations": dataset.conversations.count(),
        "release_requests": dataset.release_requests.count(),
        "jobs": len(jobs),
    }
    with transaction.atomic():
        record_event(
            actor=user, action="dataset.purge", obj=dataset, workspace_id=dataset.workspace_id, details={"name": dataset.name, **counts}
        )
        Dataset.objects.filter(pk=dataset.pk).update(wrapped_key=os.urandom(len(bytes(dataset.wrapped_key)) or 61))
        Version.objects.filter(dataset=dataset).update(parent=None)
        dataset.delete()
    removed = 0
    for path in files:
        if path.exists():
            path.unlink()
            removed += 1
    shutil.rmtree(folder, ignore_errors=True)
    for job_id, _ in jobs:
        remove_job_work(job_id)
    return removed


def store_table(*, dataset: Dataset, table: pa.Table, tier: str, parent: Version | None, made_by: dict, user) -> Version:
    """Write a table as a new encrypted version of `dataset` (the stages that derive versions use this)."""
    from workbench.datasets.ingest import describe_schema, normalise_types

    relative = version_relative_path(dataset.pk)
    table = normalise_types(table)
    with EncryptedWriter(data_path(relative), unwrap_key(dataset.wrapped_key)) as out:
        pq.write_table(table, out, compression="snappy")
    with transaction.atomic():
        number = (dataset.versions.select_for_update().order_by("-number").values_list("number", flat=True).first() or 0) + 1
        version = Version.objects.create(
            dataset=dataset,
            number=number,
            tier=tier,
            parent=parent,
            made_by=made_by,
            file=relative,
            size_bytes=data_path(relative).stat().st_size,
            row_count=table.num_rows,
            column_count=table.num_columns,
            schema=describe_schema(table.schema),
            created_by=user if getattr(user, "pk", None) else None,
        )
        record_event(
            actor=user,
            action="version.create",
            obj=version,
            workspace_id=dataset.workspace_id,
            details={"tier": tier, "rows": table.num_rows},
        )
    return version


def read_table(version: Version, columns: list[str] | None = None) -> pa.Table:
    with open_version(version) as src:
        return pq.read_table(src, columns=columns)


def start_profile(*, version: Version, user):
    return create_job(kind="profile", user=user, workspace=version.dataset.workspace, dataset=version.dataset, version=version)


def profile_version(*, version: Version, progress: Progress) -> dict:
    profile = profile_parquet(lambda: open_version(version), progress=progress)
    relative = sibling_path(version.file, "profile")
    write_encrypted_json(relative, unwrap_key(version.dataset.wrapped_key), profile)
    Version.objects.filter(pk=version.pk).update(profile_file=relative, profiled_at=timezone.now(), schema=semantic_schema(profile))
    return {"duplicate_rows": profile["duplicate_rows"], "seconds": profile["seconds"]}


def read_profile(version: Version) -> dict | None:
    if not version.profile_file:
        return None
    return read_encrypted_json(version.profile_file, unwrap_key(version.dataset.wrapped_key))


def preview(version: Version, *, page: int, page_size: int) -> dict:
    """One page of rows, as display strings."""
    page_size = max(1, min(page_size, 500))
    pages = max(1, -(-version.row_count // page_size))
    page = max(1, min(page, pages))
    start = (page - 1) * page_size
    with open_version(version) as src:
        parquet = pq.ParquetFile(src, pre_buffer=False)
        table = _slice_rows(parquet, start, page_size)
    rows = [[_display(value) for value in row.values()] for row in table.to_pylist()]
    return {
        "columns": table.schema.names,
        "rows": rows,
        "page": page,
        "pages": pages,
        "page_size": page_size,
        "first_row": start + 1,
        "total_rows": version.row_count,
    }


def _slice_rows(parquet: pq.ParquetFile, start: int, count: int) -> pa.Table:
    offset, pieces = 0, []
    for group in range(parquet.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        if offset + size > start and offset < start + count:
            table = parquet.read_row_group(group)
            lo = max(0, start - offset)
            pieces.append(table.slice(lo, start + count - offset - lo))
        offset += size
        if offset >= start + count:
            break
    return pa.concat_tables(pieces) if pieces else parquet.schema_arrow.empty_table()


def _display(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        text = value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
        return text.removesuffix(" 00:00:00")
    return str(value)


def neutralise_formulas(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe."""
    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.fill_null(pc.match_substring_regex(column, FORMULA_START), False)
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=[safe_header(name) for name in batch.schema.names])


def safe_header(name: str) -> str:
    """A column name is a cell too (the header row): the same apostrophe when it would start a formula."""
    return "'" + name if re.match(FORMULA_START, name) else name


def export_csv(version: Version) -> Iterator[bytes]:
    with open_version(version) as src:
        parquet = pq.ParquetFile(src, pre_buffer=False)
        header = True
        for batch in parquet.iter_batches(batch_size=65536):
            buffer = io.BytesIO()
            pacsv.write_csv(neutralise_formulas(batch), buffer, write_options=pacsv.WriteOptions(include_header=header))
            header = False
            yield buffer.getvalue()


XLSX_MAX_ROWS = 1_048_575


def export_xlsx(version: Version, target: io.BufferedIOBase) -> None:
    import openpyxl

    if version.row_count > XLSX_MAX_ROWS:
        raise Refused(
            f"XLSX holds at most {XLSX_MAX_ROWS:,} rows; this version has {version.row_count:,}. Download CSV or Parquet instead."
        )
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    with open_version(version) as src:
        parquet = pq.ParquetFile(src, pre_buffer=False)
        sheet.append([safe_header(name) for name in parquet.schema_arrow.names])
        for batch in parquet.iter_batches(batch_size=65536):
            for row in neutralise_formulas(batch).to_pylist():
                sheet.append([_xlsx_cell(value) for value in row.values()])
    workbook.save(target)


def _xlsx_cell(value):
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.replace(tzinfo=None)
    return value


def export_parquet(version: Version) -> Iterator[bytes]:
    with open_version(version) as src:
        while chunk := src.read(1024 * 1024):
            yield chunk
