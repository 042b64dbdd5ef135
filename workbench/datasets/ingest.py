"""Ingest: turn an uploaded file (CSV/TSV, XLSX, Parquet, JSON Lines) into a typed Parquet table.

Files are streamed in blocks, never held whole in memory. Column types are fixed from a
sample and widened (int → float → text) when a later block disagrees, restarting the pass.
Error messages name rows, columns and limits, never cell values: the input is RAW data.
"""

import codecs
import csv
import io
import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
from django.conf import settings

logger = logging.getLogger(__name__)

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
ACCEPTED_CONTENT_TYPES = {
    "csv": {"text/csv", "text/plain", "text/tab-separated-values", "application/csv", "application/vnd.ms-excel", "text/x-csv"},
    "xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip", "application/x-zip-compressed"},
    "parquet": {"application/vnd.apache.parquet", "application/x-parquet", "application/parquet"},
    "jsonl": {
        "application/jsonl",
        "application/x-ndjson",
        "application/json",
        "application/jsonlines",
        "text/plain",
        "application/x-jsonlines",
    },
}
GENERIC_CONTENT_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
SAMPLE_BYTES = 1024 * 1024
BLOCK_BYTES = 16 * 1024 * 1024
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y", "%d %b %Y", "%b %d %Y", "%Y%m%d"]
DATETIME_SUFFIXES = ["", " %H:%M", " %H:%M:%S", "T%H:%M:%S"]


class IngestError(Exception):
    """Bad input, explained without quoting its content."""


@dataclass
class Limits:
    max_bytes: int
    max_rows: int
    max_columns: int
    max_cell_chars: int
    max_xlsx_expanded: int
    max_xlsx_ratio: int

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(
            max_bytes=settings.MAX_UPLOAD_BYTES,
            max_rows=settings.MAX_ROWS,
            max_columns=settings.MAX_COLUMNS,
            max_cell_chars=settings.MAX_CELL_CHARS,
            max_xlsx_expanded=settings.MAX_XLSX_EXPANDED_BYTES,
            max_xlsx_ratio=settings.MAX_XLSX_RATIO,
        )


@dataclass
class IngestResult:
    format: str
    row_count: int
    columns: list[dict]
    details: dict = field(default_factory=dict)


class _Widen(Exception):
    def __init__(self, column: str, to: pa.DataType):
        self.column, self.to = column, to


Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    pass


# ---------------------------------------------------------------- format and name checks


def detect_format(filename: str, head: bytes, content_type: str = "") -> str:
    if not filename or filename in {".", ".."} or "/" in filename or "\\" in filename or "\x00" in filename:
        raise IngestError("The file name is not acceptable: give a plain file name without folders.")
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == ".xls":
        raise IngestError("Old Excel (.xls) files are not supported: save the sheet as .xlsx or CSV.")
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise IngestError("Unsupported file type: upload .csv, .tsv, .txt, .xlsx, .parquet or .jsonl.")
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in GENERIC_CONTENT_TYPES and kind not in ACCEPTED_CONTENT_TYPES[fmt]:
        raise IngestError(f"The upload says it is {kind}, which does not match a {suffix} file.")
    if not head.strip():
        raise IngestError("The file is empty.")
    magic_zip, magic_parquet = head.startswith(b"PK\x03\x04"), head.startswith(b"PAR1")
    if fmt == "xlsx" and not magic_zip:
        raise IngestError("This is not an XLSX workbook (XLSX files are ZIP archives).")
    if fmt == "parquet" and not magic_parquet:
        raise IngestError("This is not a Parquet file (it lacks the PAR1 signature).")
    if fmt in ("csv", "jsonl"):
        if magic_zip or magic_parquet:
            raise IngestError(f"This is a binary file (XLSX or Parquet), not a {suffix} text file: name it accordingly.")
        if _looks_binary(head):
            raise IngestError(f"This is a binary file, not a {suffix} text file.")
    return fmt


def _looks_binary(head: bytes) -> bool:
    sample = head[:65536]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in sample:
        return True
    control = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 12, 13))
    return control > len(sample) * 0.01


def clean_column_names(raw: list, max_columns: int) -> list[str]:
    if len(raw) > max_columns:
        raise IngestError(f"The table has {len(raw):,} columns; the limit is {max_columns:,}.")
    names, seen = [], set()
    for position, name in enumerate(raw, start=1):
        text = re.sub(r"\s+", " ", str(name if name is not None else "")).strip()[:200] or f"column_{position}"
        candidate, n = text, 2
        while candidate.lower() in seen:
            candidate, n = f"{text}_{n}", n + 1
        seen.add(candidate.lower())
        names.append(candidate)
    return names


# ---------------------------------------------------------------- the shared streaming writer


def _write_stream(
    make_batches: Callable[[dict[str, pa.DataType]], Iterator[pa.RecordBatch]],
    *,
    out_factory: Callable[[], BinaryIO],
    limits: Limits,
    progress: Progress,
    use_dictionary: bool | list[str] = True,
) -> tuple[int, pa.Schema]:
    overrides: dict[str, pa.DataType] = {}
    for _ in range(limits.max_columns * 3 + 3):
        out = out_factory()
        writer = None
        rows = 0
        try:
            for batch in make_batches(overrides):
                rows += batch.num_rows
                if rows > limits.max_rows:
                    raise IngestError(f"The table has more than {limits.max_rows:,} rows, the limit.")
                batch = normalise_types(batch)
                _check_cell_length(batch, limits.max_cell_chars)
                if writer is None:
                    writer = pq.ParquetWriter(out, batch.schema, compression="snappy", use_dictionary=use_dictionary)
                writer.write(batch)
            if writer is None:
                raise IngestError("The file has a header but no data rows.")
            writer.close()
            out.close()
            return rows, writer.schema
        except _Widen as widen:
            logger.info("ingest: widening a column to %s and restarting", widen.to)
            overrides[widen.column] = widen.to
            progress(0, f"Column types changed further down the file; re-reading ({len(overrides)} widened)")
        finally:
            if writer is not None and writer.is_open:
                writer.close()
            if not out.closed:
                out.close()
    raise IngestError("The column types could not be settled.")


def _check_cell_length(batch: pa.RecordBatch | pa.Table, max_chars: int) -> None:
    for name, column in zip(batch.schema.names, batch.columns):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if (pc.max(pc.binary_length(column)).as_py() or 0) <= max_chars:
                continue  # bytes bound characters: the exact count is needed only near the limit
            longest = pc.max(pc.utf8_length(column)).as_py()
            if longest is not None and longest > max_chars:
                raise IngestError(f"Column '{name}' holds a cell of {longest:,} characters; the limit is {max_chars:,}.")


def _widen(arrow_type: pa.DataType) -> pa.DataType:
    if pa.types.is_integer(arrow_type):
        return pa.float64()
    return pa.string()


# ---------------------------------------------------------------- CSV


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3 and len(head) >= SAMPLE_BYTES:
            return "utf-8"  # the sample cut a character in half
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def detect_delimiter(lines: list[str]) -> str:
    best, best_score = ",", (0.0, 0)
    for delimiter in [",", ";", "\t", "|"]:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        if not counts:
            continue
        modal = max(set(counts), key=counts.count)
        if modal < 2:
            continue
        score = (counts.count(modal) / len(counts), modal)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _sample_lines(text: str, limit: int = 200) -> list[str]:
    lines = text.splitlines()
    return lines[: min(limit, max(1, len(lines) - 1))] if len(lines) > 1 else lines


def _parse_date_format(strings: pa.Array) -> str | None:
    values = pc.drop_null(strings)
    values = values.filter(pc.greater(pc.utf8_length(values), 0))
    if len(values) == 0:
        return None
    sample = values.slice(0, 500)
    if not pc.all(pc.match_substring_regex(sample, r"^[0-9A-Za-z][0-9A-Za-z/.\- :T]{5,24}$")).as_py():
        return None
    matches = []
    for base in DATE_FORMATS:
        for suffix in DATETIME_SUFFIXES:
            fmt = base + suffix
            try:
                pc.strptime(sample, format=fmt, unit="s", error_is_null=False)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            matches.append(fmt)
    if not matches:
        return None
    # Day-first and month-first both fit when no day exceeds 12; prefer ISO, then day-first.
    return matches[0]


def read_csv(src: BinaryIO, *, size: int, out_factory, limits: Limits, progress: Progress) -> IngestResult:
    head = src.read(SAMPLE_BYTES)
    encoding = detect_encoding(head)
    text = head.decode(encoding, errors="replace")
    lines = _sample_lines(text)
    delimiter = detect_delimiter(lines)
    header_row = next(csv.reader(lines[:1], delimiter=delimiter), [])
    if encoding == "utf-8-sig" and header_row:
        header_row[0] = header_row[0].lstrip("\ufeff")
    names = clean_column_names(header_row, limits.max_columns)
    sample_types, date_formats, dictionary_columns, decimal_point, marked = _csv_sample_types(head, names, delimiter, encoding, limits)
    state = {"encoding": encoding, "newlines_in_values": _quoted_newlines(text, delimiter)}
    old_mac = b"\n" not in head and b"\r" in head  # lines end in CR alone: the line cutter cannot split them
    bad_row: dict = {}

    def on_invalid_row(row) -> str:
        bad_row.update(expected=row.expected_columns, actual=row.actual_columns, number=row.number)
        return "error"

    def on_invalid_row_at(first_line: int):
        def handler(row) -> str:
            number = row.number + first_line - 1 if row.number else None
            bad_row.update(expected=row.expected_columns, actual=row.actual_columns, number=number)
            return "error"

        return handler

    def make_batches(overrides: dict[str, pa.DataType]) -> Iterator[pa.Table | pa.RecordBatch]:
        types = {name: overrides.get(name, sample_types[name]) for name in names}
        parse_types = {name: (pa.string() if name in date_formats and name not in overrides else t) for name, t in types.items()}
        convert = pacsv.ConvertOptions(
            column_types=parse_types, strings_can_be_null=True, quoted_strings_can_be_null=True, decimal_point=decimal_point
        )
        parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=state["newlines_in_values"], invalid_row_handler=on_invalid_row)
        # Rows that may hold quoted line breaks, and UTF-16, need one sequential reader; other files are cut
        # at line ends and parsed in parallel, which is what keeps ingest as fast as a plain read.
        sequential = state["newlines_in_values"] or state["encoding"] == "utf-16" or old_mac
        if sequential:
            pieces = _csv_sequential(src, names, state["encoding"], parse, convert)
        else:
            pieces = _csv_parallel(src, names, state["encoding"], delimiter, convert, on_invalid_row_at)
        try:
            for piece in pieces:
                yield _apply_markers(_apply_dates(piece, date_formats, overrides), marked, overrides)
                progress(min(99.0, 100.0 * src.tell() / max(size, 1)), f"Reading rows ({src.tell() / 1e6:,.0f} of {size / 1e6:,.0f} MB)")
        except pa.ArrowInvalid as error:
            _raise_csv_problem(error, names, types, state, bad_row)

    rows, schema = _write_stream(make_batches, out_factory=out_factory, limits=limits, progress=progress, use_dictionary=dictionary_columns)
    details = {"encoding": state["encoding"], "delimiter": delimiter, "decimal_point": decimal_point}
    numeric = sorted(name for name in marked if pa.types.is_floating(schema.field(name).type))
    if numeric:  # said on the version, so nobody mistakes a censored bound for a measured value
        details["numbers_with_missing_markers"] = numeric
        details["censored_values_as_bounds"] = sorted(name for name in numeric if marked[name]["censored"])
    return IngestResult(format="csv", row_count=rows, columns=describe_schema(schema), details=details)


def _csv_sample_types(head: bytes, names: list[str], delimiter: str, encoding: str, limits: Limits):
    cut = head.rfind(b"\n")
    sample = head[: cut + 1] if cut > 0 and len(head) >= SAMPLE_BYTES else head
    read_options = pacsv.ReadOptions(encoding=encoding, column_names=names, skip_rows=1)
    parse_options = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=lambda row: "skip")
    try:
        strings = pacsv.read_csv(
            io.BytesIO(sample),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}),
        )
        decimal_point = "," if delimiter != "," and _uses_decimal_commas(strings) else "."
        typed = pacsv.read_csv(
            io.BytesIO(sample),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=pacsv.ConvertOptions(decimal_point=decimal_point),
        )
    except pa.ArrowInvalid:
        raise IngestError("The start of the file could not be read as a delimited table.") from None
    types, date_formats, dictionary, marked = {}, {}, [], {}
    for name in names:
        arrow_type = typed.schema.field(name).type
        raw = strings.column(name)
        if pc.count_distinct(raw).as_py() <= max(1, strings.num_rows // 2):
            dictionary.append(name)  # few distinct values: dictionary encoding pays; for unique text it only costs
        if pa.types.is_null(arrow_type):
            arrow_type = pa.string()
        if pa.types.is_integer(arrow_type) and pc.any(pc.match_substring_regex(raw, r"^\s*[+-]?0\d")).as_py():
            arrow_type = pa.string()  # leading zeros: codes and identifiers, not numbers
        if pa.types.is_string(arrow_type):
            fmt = _parse_date_format(raw.combine_chunks())
            if fmt:
                date_formats[name] = fmt
            elif decimal_point == "." and (found := numeric_with_markers(raw.to_pylist())) is not None:
                marked[name] = found
        types[name] = arrow_type
    return types, date_formats, dictionary, decimal_point, marked


def _uses_decimal_commas(strings: pa.Table) -> bool:
    """A column written like 60,5 (and none like 60.5) in a file not delimited by commas: a European export."""
    comma, point = r"^\s*[+-]?\d+,\d+\s*$", r"^\s*[+-]?\d+\.\d+\s*$"
    found = False
    for column in strings.columns:
        values = pc.drop_null(column)
        if len(values) == 0:
            continue
        if pc.any(pc.match_substring_regex(values, point)).as_py():
            return False
        found = found or bool(
            pc.all(pc.match_substring_regex(values, r"^\s*[+-]?\d+(,\d+)?\s*$")).as_py()
            and pc.any(pc.match_substring_regex(values, comma)).as_py()
        )
    return found


PIECE_BYTES = 8 * 1024 * 1024
MAX_ROW_BYTES = 16 * 1024 * 1024


def _csv_sequential(src, names, encoding, parse, convert) -> Iterator[pa.RecordBatch]:
    src.seek(0)
    read = pacsv.ReadOptions(block_size=BLOCK_BYTES, encoding=encoding, column_names=names, skip_rows=1)
    yield from pacsv.open_csv(src, read_options=read, parse_options=parse, convert_options=convert)


def _csv_parallel(src, names, encoding, delimiter, convert, handler_from_line) -> Iterator[pa.Table]:
    """Cut the file at line ends into pieces and parse two at a time, yielding tables in file order."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    def pieces() -> Iterator[tuple[int, bytes]]:
        src.seek(0)
        src.readline()  # the header, already parsed
        line, rest = 2, b""
        while True:
            data = src.read(PIECE_BYTES)
            if data:
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    rest += data
                    if len(rest) > MAX_ROW_BYTES:
                        raise IngestError(f"A single row is larger than {MAX_ROW_BYTES // 2**20} MB; the file does not look like a table.")
                    continue
                buffer, rest = rest + data[:cut], data[cut:]
            elif rest.strip():
                buffer, rest = rest, b""  # the last line, without a line end
            else:
                return
            yield line, buffer
            line += buffer.count(b"\n")

    def parse_piece(first_line: int, buffer: bytes) -> pa.Table:
        read = pacsv.ReadOptions(block_size=2 * 1024 * 1024, encoding=encoding, column_names=names, use_threads=False)
        parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=handler_from_line(first_line))
        return pacsv.read_csv(io.BytesIO(buffer), read_options=read, parse_options=parse, convert_options=convert)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="csv") as pool:
        pending = deque()
        for first_line, buffer in pieces():
            pending.append(pool.submit(parse_piece, first_line, buffer))
            if len(pending) >= 3:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _quoted_newlines(text: str, delimiter: str) -> bool:
    return bool(re.search(r'"[^"' + re.escape(delimiter) + r"]*\n", text))


# How statistical packages and spreadsheets write a missing number: SAS and Stata's "." and ".a"-".z", SPSS and
# hand-kept sheets' "-", "--", "?", and words. A column whose other values are all numbers is numeric, these null.
MISSING_MARKERS = frozenset(
    {".", "-", "--", "?", "na", "n/a", "n.a.", "nan", "null", "none", "missing", "#n/a", "nd", "n.d."}
    | {f".{c}" for c in "abcdefghijklmnopqrstuvwxyz_"}
)
# A censored laboratory value: below or above what the assay measures ("<0.5", ">1000", "≤ 3"); kept as its bound.
_CENSORED = re.compile(r"^\s*(?:<=?|>=?|≤|≥)\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$")
_NUMBER = re.compile(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$")


def numeric_with_markers(values: list) -> dict | None:
    """For a column read as text: {"censored": bool} when every value is a number, a missing-value marker or a
    censored number, with at least one number and one of the others; None otherwise."""
    numbers = markers = censored = 0
    for value in values:
        if value is None:
            continue
        text = str(value).strip()
        if _NUMBER.match(text):
            numbers += 1
        elif text.lower() in MISSING_MARKERS or text == "":
            markers += 1
        elif _CENSORED.match(text):
            censored += 1
        else:
            return None
    if numbers and (markers or censored):
        return {"censored": censored > 0}
    return None


def _apply_markers(batch: pa.RecordBatch, marked: dict[str, dict], overrides: dict) -> pa.RecordBatch:
    """Columns numeric but for missing-value markers and censored values, as float64 (markers null, censored values
    their bound); a value further down that is none of these makes the column text again (a widening re-read)."""
    if not marked:
        return batch
    columns = []
    for name, column in zip(batch.schema.names, batch.columns):
        if name in marked and name not in overrides:
            trimmed = pc.utf8_trim_whitespace(column)
            is_marker = pc.or_(pc.is_in(pc.utf8_lower(trimmed), value_set=pa.array(sorted(MISSING_MARKERS))), pc.equal(trimmed, ""))
            bound = pc.replace_substring_regex(trimmed, pattern=r"^(?:<=?|>=?|≤|≥)\s*", replacement="")
            try:
                column = pc.cast(pc.if_else(is_marker, pa.scalar(None, pa.string()), bound), pa.float64())
            except pa.ArrowInvalid:
                raise _Widen(name, pa.string()) from None
        columns.append(column)
    return type(batch).from_arrays(columns, names=batch.schema.names)


def _apply_dates(batch: pa.RecordBatch, date_formats: dict[str, str], overrides: dict) -> pa.RecordBatch:
    if not date_formats:
        return batch
    columns = []
    for name, column in zip(batch.schema.names, batch.columns):
        fmt = date_formats.get(name)
        if fmt and name not in overrides:
            trimmed = pc.if_else(pc.equal(pc.utf8_trim_whitespace(column), ""), pa.scalar(None, pa.string()), column)
            try:
                column = pc.strptime(trimmed, format=fmt, unit="s", error_is_null=False)
            except pa.ArrowInvalid:
                raise _Widen(name, pa.string()) from None
        columns.append(column)
    return type(batch).from_arrays(columns, names=batch.schema.names)


def _raise_csv_problem(error: pa.ArrowInvalid, names, types, state, bad_row) -> None:
    message = str(error)
    column = re.search(r"In CSV column #(\d+)", message)
    if column and "conversion error" in message:
        name = names[int(column.group(1))]
        if "invalid UTF8" in message or "UTF-8" in message:
            if state["encoding"] in ("utf-8", "utf-8-sig"):
                state["encoding"] = "cp1252"
                raise _Widen(name, types[name]) from None
        raise _Widen(name, _widen(types[name])) from None
    if "Expected" in message and "columns" in message:
        if not state["newlines_in_values"]:
            state["newlines_in_values"] = True
            raise _Widen(names[0], types[names[0]]) from None
        where = f"Row {bad_row['number']:,}" if bad_row.get("number") else "A row"
        expected = bad_row.get("expected", len(names))
        actual = bad_row.get("actual", "a different number of")
        raise IngestError(
            f"{where} has {actual} fields but the header has {expected}; every row must have the same number of fields."
        ) from None
    if "UTF8" in message or "decode" in message.lower():
        raise IngestError("The file's text encoding could not be recognised; save it as UTF-8.") from None
    if "straddling" in message or "block size" in message.lower():
        raise IngestError("A single row is larger than 16 MB; the file does not look like a table.") from None
    logger.warning("CSV parse failed: %s", type(error).__name__)
    raise IngestError("The file could not be parsed as a delimited table.") from None


# ---------------------------------------------------------------- JSON Lines


def read_jsonl(src: BinaryIO, *, size: int, out_factory, limits: Limits, progress: Progress) -> IngestResult:
    head = src.read(SAMPLE_BYTES)
    first = head.lstrip()[:1]
    if first == b"[":
        raise IngestError("This is a JSON array; upload JSON Lines instead: one object per line.")
    if first != b"{":
        raise IngestError("JSON Lines files must hold one JSON object per line.")
    cut = head.rfind(b"\n")
    sample = head[: cut + 1] if cut > 0 and len(head) >= SAMPLE_BYTES else head
    try:
        sample_table = pajson.read_json(io.BytesIO(sample))
    except pa.ArrowInvalid:
        raise IngestError("The start of the file is not valid JSON Lines.") from None
    names = clean_column_names(sample_table.schema.names, limits.max_columns)
    base = {}
    for f in sample_table.schema:
        if pa.types.is_struct(f.type) or pa.types.is_list(f.type) or pa.types.is_map(f.type):
            raise IngestError(f"Field '{f.name}' holds nested objects or lists; flatten them into columns first.")
        base[f.name] = pa.string() if pa.types.is_null(f.type) else f.type

    def make_batches(overrides):
        src.seek(0)
        schema = pa.schema([(name, overrides.get(name, t)) for name, t in base.items()])
        try:
            reader = pajson.open_json(
                src,
                read_options=pajson.ReadOptions(block_size=BLOCK_BYTES),
                parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore", newlines_in_values=False),
            )
            for batch in reader:
                yield batch.rename_columns(names)
                progress(min(99.0, 100.0 * src.tell() / max(size, 1)), f"Reading rows ({src.tell() / 1e6:,.0f} MB)")
        except pa.ArrowInvalid as error:
            column = re.search(r"Column\(/([^)]*)\)", str(error))
            if column and column.group(1) in base:
                name = column.group(1)
                current = overrides.get(name, base[name])
                if current != pa.string():
                    raise _Widen(name, _widen(current)) from None
            raise IngestError("A line of the file is not a valid JSON object, or a field mixes objects with plain values.") from None

    rows, schema = _write_stream(make_batches, out_factory=out_factory, limits=limits, progress=progress)
    return IngestResult(format="jsonl", row_count=rows, columns=describe_schema(schema))


# ---------------------------------------------------------------- Parquet


def read_parquet(src: BinaryIO, *, size: int, out_factory, limits: Limits, progress: Progress) -> IngestResult:
    try:
        parquet = pq.ParquetFile(src, pre_buffer=False)
    except (pa.ArrowInvalid, OSError):
        raise IngestError("This is not a valid Parquet file.") from None
    schema = parquet.schema_arrow
    names = clean_column_names(schema.names, limits.max_columns)
    for f in schema:
        if pa.types.is_nested(f.type):
            raise IngestError(f"Column '{f.name}' has a nested type; flatten it into plain columns first.")
    total = max(parquet.metadata.num_rows, 1)

    def make_batches(overrides):
        done = 0
        try:
            for batch in parquet.iter_batches(batch_size=65536):
                done += batch.num_rows
                yield batch.rename_columns(names)
                progress(min(99.0, 100.0 * done / total), f"Reading rows ({done:,} of {total:,})")
        except (pa.ArrowInvalid, OSError):
            raise IngestError("The Parquet file is damaged: a row group could not be read.") from None

    rows, out_schema = _write_stream(make_batches, out_factory=out_factory, limits=limits, progress=progress)
    return IngestResult(format="parquet", row_count=rows, columns=describe_schema(out_schema))


def normalise_types(batch: pa.RecordBatch | pa.Table) -> pa.RecordBatch | pa.Table:
    """Store only the types the later stages know: text, numbers, booleans, dates and timestamps."""
    columns = []
    for name, column in zip(batch.schema.names, batch.columns):
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = column.type
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
            raise IngestError(f"Column '{name}' holds binary data, which a table for analysis cannot; remove it or encode it as text.")
        if pa.types.is_decimal(kind):
            column = column.cast(pa.float64())
        elif pa.types.is_large_string(kind) or pa.types.is_time(kind) or pa.types.is_duration(kind):
            column = column.cast(pa.string())
        elif pa.types.is_date64(kind):
            column = column.cast(pa.date32())
        elif pa.types.is_null(kind):
            column = column.cast(pa.string())
        columns.append(column)
    return type(batch).from_arrays(columns, names=batch.schema.names)


# ---------------------------------------------------------------- XLSX


def check_zip_bomb(src: BinaryIO, size: int, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(src) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise IngestError("This XLSX file is damaged: its ZIP structure could not be read.") from None
    expanded = sum(member.file_size for member in members)
    ratio = expanded / max(size, 1)
    if expanded > limits.max_xlsx_expanded or ratio > limits.max_xlsx_ratio:
        raise IngestError(
            f"This XLSX file expands to {expanded / 1e6:,.0f} MB (a {ratio:,.0f}:1 compression ratio), "
            f"over the limit of {limits.max_xlsx_expanded / 1e6:,.0f} MB or {limits.max_xlsx_ratio}:1; it looks like a ZIP bomb."
        )
    if not any(member.filename.startswith("xl/worksheets/") for member in members):
        raise IngestError("This ZIP archive is not an XLSX workbook (it has no worksheets).")


def read_xlsx(src: BinaryIO, *, size: int, out_factory, limits: Limits, progress: Progress) -> IngestResult:
    import openpyxl  # imported here: only XLSX ingest and export need it

    check_zip_bomb(src, size, limits)
    src.seek(0)
    try:
        workbook = openpyxl.load_workbook(src, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for malformed XML
        logger.warning("XLSX open failed: %s", type(error).__name__)
        raise IngestError("This XLSX workbook could not be opened; it may be damaged or password-protected.") from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next((row for row in rows if row and any(cell is not None for cell in row)), None)
    if header is None:
        raise IngestError("The first worksheet is empty.")
    while header and header[-1] is None:
        header = header[:-1]
    names = clean_column_names(list(header), limits.max_columns)
    total = sheet.max_row or 1
    established: dict[str, pa.DataType] = {}
    marked: dict[str, bool] = {}  # columns numeric but for missing-value markers -> whether any value was censored

    def make_batches(overrides):
        sheet_rows = sheet.iter_rows(values_only=True)
        for row in sheet_rows:
            if row and any(cell is not None for cell in row):
                break  # skip to just after the header
        buffer, done = [], 0
        for row in sheet_rows:
            if len(row) > len(names) and any(cell is not None for cell in row[len(names) :]):
                raise IngestError(f"Row {done + 2:,} has values beyond the header's {len(names)} columns.")
            buffer.append(row)
            if len(buffer) == 20_000:
                done += len(buffer)
                yield _xlsx_batch(buffer, names, established, overrides, marked)
                buffer = []
                progress(min(99.0, 100.0 * done / total), f"Reading rows ({done:,} of about {total:,})")
        if buffer:
            yield _xlsx_batch(buffer, names, established, overrides, marked)

    try:
        count, schema = _write_stream(make_batches, out_factory=out_factory, limits=limits, progress=progress)
    finally:
        workbook.close()
    details = {"sheet": sheet.title}
    numeric = sorted(name for name in marked if pa.types.is_floating(schema.field(name).type))
    if numeric:
        details["numbers_with_missing_markers"] = numeric
        details["censored_values_as_bounds"] = sorted(name for name in numeric if marked[name])
    return IngestResult(format="xlsx", row_count=count, columns=describe_schema(schema), details=details)


def _xlsx_batch(rows: list, names: list[str], established: dict, overrides: dict, marked: dict | None = None) -> pa.RecordBatch:
    width = len(names)
    columns = []
    for position, name in enumerate(names):
        values = [(row[position] if position < len(row) else None) for row in rows]
        values = [None if (isinstance(v, str) and not v.strip()) else v for v in values]
        wanted = overrides.get(name) or established.get(name)
        columns.append(_xlsx_array(values, name, wanted, established, marked))
    return pa.RecordBatch.from_arrays(columns, names=names[:width])


def _marked_floats(values: list) -> tuple[list, bool] | None:
    """A spreadsheet column of numbers, missing-value markers ('.', 'NA', '-') and censored values ('<0.5') as floats
    (markers empty, censored values their bound) and whether any was censored; None when a value is none of these."""
    if not any(isinstance(v, str) for v in values):
        return None
    out, censored = [], False
    for value in values:
        if value is None or isinstance(value, bool):
            if isinstance(value, bool):
                return None
            out.append(None)
        elif isinstance(value, int | float):
            out.append(float(value))
        elif not isinstance(value, str):
            return None
        elif _NUMBER.match(value):
            out.append(float(value))
        elif value.strip().lower() in MISSING_MARKERS or not value.strip():
            out.append(None)
        elif _CENSORED.match(value):
            censored = True
            out.append(float(re.sub(r"^\s*(?:<=?|>=?|≤|≥)\s*", "", value)))
        else:
            return None
    return out, censored


def _xlsx_array(values: list, name: str, wanted: pa.DataType | None, established: dict, marked: dict | None = None) -> pa.Array:
    if wanted is not None and pa.types.is_string(wanted):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
    if wanted is None or pa.types.is_floating(wanted) or pa.types.is_integer(wanted):
        floats = _marked_floats(values)
        if floats is not None and any(v is not None for v in floats[0]):
            if wanted is not None and pa.types.is_integer(wanted):
                raise _Widen(name, pa.float64())  # whole numbers so far, a marker now: the column is float
            if marked is not None:
                marked[name] = marked.get(name, False) or floats[1]
            established[name] = pa.float64()
            return pa.array(floats[0], type=pa.float64())
    try:
        array = pa.array(values, type=wanted) if wanted is not None else pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        if wanted is None:
            established[name] = pa.string()
            return pa.array([None if v is None else str(v) for v in values], type=pa.string())
        raise _Widen(name, _widen(wanted)) from None
    if pa.types.is_null(array.type):
        array = array.cast(pa.string())
    if pa.types.is_timestamp(array.type) and array.type.tz is None and array.type.unit != "s":
        array = array.cast(pa.timestamp("us"))
    if wanted is None:
        established[name] = array.type
    return array


# ---------------------------------------------------------------- entry point and schema

READERS = {"csv": read_csv, "jsonl": read_jsonl, "parquet": read_parquet, "xlsx": read_xlsx}


def ingest_stream(
    src: BinaryIO,
    *,
    filename: str,
    size: int,
    out_factory: Callable[[], BinaryIO],
    content_type: str = "",
    limits: Limits | None = None,
    progress: Progress = _no_progress,
) -> IngestResult:
    """Read `src` (a seekable binary stream of the upload) and write Parquet to `out_factory()`."""
    limits = limits or Limits.from_settings()
    if size > limits.max_bytes:
        raise IngestError(f"The file is {size / 1e6:,.1f} MB; the limit is {limits.max_bytes / 1e6:,.0f} MB.")
    head = src.read(65536)
    src.seek(0)
    fmt = detect_format(filename, head, content_type)
    return READERS[fmt](src, size=size, out_factory=out_factory, limits=limits, progress=progress)


def precheck(src: BinaryIO, *, filename: str, size: int, content_type: str = "", limits: Limits | None = None) -> str:
    """Cheap checks made while the uploader waits: name, type, size, header width, ZIP bombs."""
    limits = limits or Limits.from_settings()
    if size > limits.max_bytes:
        raise IngestError(f"The file is {size / 1e6:,.1f} MB; the limit is {limits.max_bytes / 1e6:,.0f} MB.")
    head = src.read(SAMPLE_BYTES)
    src.seek(0)
    fmt = detect_format(filename, head, content_type)
    if fmt == "csv":
        text = head.decode(detect_encoding(head), errors="replace")
        lines = _sample_lines(text)
        header = next(csv.reader(lines[:1], delimiter=detect_delimiter(lines)), [])
        clean_column_names(header, limits.max_columns)
    elif fmt == "xlsx":
        check_zip_bomb(src, size, limits)
        src.seek(0)
    return fmt


def physical_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "float"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "datetime"
    return "text"


def describe_schema(schema: pa.Schema) -> list[dict]:
    return [{"name": f.name, "type": physical_type(f.type), "arrow": str(f.type)} for f in schema]
