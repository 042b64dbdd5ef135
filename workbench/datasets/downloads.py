import io
import re

from django.http import FileResponse, StreamingHttpResponse

from workbench.audit.actions import record_event
from workbench.datasets import actions
from workbench.http import BadRequest

CONTENT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}


def download_response(request, version):
    """The version as CSV, XLSX or Parquet; access was checked by the caller."""
    fmt = request.GET.get("format", "csv")
    if fmt not in CONTENT_TYPES:
        raise BadRequest("format must be csv, xlsx or parquet.")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", version.dataset.name)[:80] or "dataset"
    filename = f"{stem}-v{version.number}-{version.tier.lower()}.{fmt}"
    record_event(
        actor=request.user,
        action="version.download",
        obj=version,
        workspace_id=version.dataset.workspace_id,
        details={"format": fmt, "tier": version.tier},
    )
    if fmt == "xlsx":
        spool = io.BytesIO()  # in memory: a temporary file would put plaintext on disk
        actions.export_xlsx(version, spool)
        spool.seek(0)
        return FileResponse(spool, as_attachment=True, filename=filename, content_type=CONTENT_TYPES[fmt])
    stream = actions.export_csv(version) if fmt == "csv" else actions.export_parquet(version)
    response = StreamingHttpResponse(stream, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
