"""Upload-to-profiled time and peak memory (web and worker) for a 1 GB CSV, next to pandas.read_csv of the same file.

    make bench                                   # the 1 GB run written to BENCHMARKS.md
    .venv/bin/python benchmarks/ingest_1gb.py --mb 100 --no-write   # a quick look

The CSV is the demo table (a real clinical table, survival/pbc), resampled with jitter, with identities
(names, phones, e-mails, addresses, dates of birth, notes) drawn afresh for every row until it reaches the size. The workbench runs as the
embedded default (`manage.py serve`: gunicorn + one Celery worker) on a fresh data dir; the file goes
through the real upload API, is streamed encrypted to staging, ingested (parse, types, Parquet,
encryption) and profiled by the worker.
"""

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.common import OUT, ROOT, children, peak_rss_mb, write_section  # noqa: E402

PASSWORD = "benchmark-password-123"


def make_csv(path: Path, target_bytes: int) -> int:
    """The demo table resampled with jitter; identities are re-drawn per row so that names,
    contacts and notes are as varied as in a real extract (not 418 values repeated)."""
    import numpy as np
    import pandas as pd
    from faker import Faker

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    os.environ.setdefault("WORKBENCH_SECRET_KEY", "x" * 40)
    os.environ.setdefault("WORKBENCH_MASTER_KEY", "A" * 43 + "=")
    import django

    django.setup()
    from workbench.console.demo import demo_table

    base = demo_table()
    fake = Faker("en_US")
    Faker.seed(11)
    first = np.array(sorted({fake.first_name() for _ in range(3000)}))
    last = np.array(sorted({fake.last_name() for _ in range(3000)}))
    streets = np.array(sorted({fake.street_name() for _ in range(3000)}))
    cities = np.array(sorted({fake.city() for _ in range(2000)}))
    rng = np.random.default_rng(7)
    numeric = [c for c in base.columns if base[c].dtype.kind == "f" and base[c].nunique() > 10]  # measurements, not flags
    rows = 0
    with open(path, "w", newline="") as handle:
        header = True
        while handle.tell() < target_bytes:
            n = 20_000
            chunk = base.sample(n, replace=True, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
            given, family = pd.Series(rng.choice(first, n)), pd.Series(rng.choice(last, n))
            chunk["id"] = np.arange(rows, rows + n)
            chunk["mrn"] = "MRN" + pd.Series(np.arange(rows, rows + n)).astype(str).str.zfill(9)
            chunk["patient_name"] = given + " " + family
            chunk["phone"] = (
                pd.Series(rng.integers(200, 999, n)).astype(str)
                + "-"
                + pd.Series(rng.integers(100, 999, n)).astype(str)
                + "-"
                + pd.Series(rng.integers(1000, 9999, n)).astype(str)
            )
            chunk["email"] = given.str.lower() + "." + family.str.lower() + pd.Series(rng.integers(1, 999, n)).astype(str) + "@example.org"
            chunk["address"] = (
                pd.Series(rng.integers(1, 9999, n)).astype(str)
                + " "
                + pd.Series(rng.choice(streets, n))
                + ", "
                + pd.Series(rng.choice(cities, n))
            )
            days = pd.Series(pd.to_datetime("1940-01-01") + pd.to_timedelta(rng.integers(0, 20000, n), unit="D"))
            chunk["date_of_birth"] = days.dt.strftime("%Y-%m-%d")
            chunk["clinical_notes"] = (
                chunk["patient_name"]
                + " seen on "
                + days.dt.strftime("%d %B")
                + " 2024; bilirubin "
                + chunk["bili"].astype(str)
                + " mg/dL. Call back on "
                + chunk["phone"]
                + "."
            )
            for column in numeric:
                chunk[column] = (chunk[column] * rng.normal(1, 0.05, n)).round(3)
            chunk.to_csv(handle, index=False, header=header)
            header = False
            rows += n
    return rows


def pandas_baseline(path: Path) -> dict:
    code = (
        "import json, resource, sys, time, pandas\n"
        "t = time.perf_counter(); frame = pandas.read_csv(sys.argv[1]); s = time.perf_counter() - t\n"
        "print(json.dumps({'seconds': s, 'rows': len(frame), 'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


class _Discard:
    """A writable sink that keeps nothing: measures parsing and Parquet encoding without disk or encryption."""

    closed = False

    def write(self, data) -> int:
        return len(data)

    def tell(self) -> int:
        return 0

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class _NoParquet:
    """Stands in for pyarrow's ParquetWriter to time parsing and typing alone."""

    def __init__(self, sink, schema, **options):
        self.schema, self.is_open = schema, True

    def write(self, table) -> None:
        pass

    def close(self) -> None:
        self.is_open = False


def ingest_in_process(path: Path, *, encode: bool = True) -> float:
    """The ingest code alone on the plain file (no upload, staging, encryption or Celery), in its own process;
    with encode=False the Parquet writer is stubbed out, leaving parsing and typing."""
    stub = (
        ""
        if encode
        else "import types, workbench.datasets.ingest as m; from benchmarks.ingest_1gb import _NoParquet; m.pq = types.SimpleNamespace(ParquetWriter=_NoParquet)\n"
    )
    code = (
        "import os, sys, time\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'workbench.settings')\n"
        "os.environ.setdefault('WORKBENCH_SECRET_KEY', 'x' * 40)\n"
        "os.environ.setdefault('WORKBENCH_MASTER_KEY', 'A' * 43 + '=')\n"
        "import django; django.setup()\n"
        "from benchmarks.ingest_1gb import _Discard\n" + stub + "from workbench.datasets.ingest import ingest_stream\n"
        "t = time.perf_counter()\n"
        "with open(sys.argv[1], 'rb') as src:\n"
        "    ingest_stream(src, filename='t.csv', size=os.path.getsize(sys.argv[1]), out_factory=_Discard)\n"
        "print(time.perf_counter() - t)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env.update(PYTHONPATH=str(ROOT), WORKBENCH_MAX_ROWS="100000000", WORKBENCH_MAX_UPLOAD_BYTES="8G")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True, cwd=ROOT, env=env)
    return float(result.stdout.strip().splitlines()[-1])


def call(port: int, method: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    payload = json.loads(response.read() or b"{}")
    if response.status >= 400:
        raise RuntimeError(f"{method} {path}: {response.status} {payload}")
    return payload


def upload(port: int, token: str, workspace: int, path: Path) -> dict:
    boundary = uuid.uuid4().hex
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + path.stat().st_size + len(tail)

    def body():
        yield head
        with open(path, "rb") as handle:
            while block := handle.read(4 * 1024 * 1024):
                yield block
        yield tail

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    connection.putrequest("POST", f"/api/v1/workspaces/{workspace}/datasets")
    connection.putheader("Authorization", f"Bearer {token}")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(size))
    connection.endheaders()
    for block in body():
        connection.send(block)
    response = connection.getresponse()
    payload = json.loads(response.read())
    if response.status != 202:
        raise RuntimeError(f"upload refused: {payload}")
    return payload["job"]


def start_workbench(data_dir: Path, port: int, *, concurrency: int = 1) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env.update(WORKBENCH_DATA_DIR=str(data_dir), WORKBENCH_MAX_UPLOAD_BYTES="8G", WORKBENCH_MAX_ROWS="100000000")
    manage = [sys.executable, "manage.py"]
    subprocess.run(manage + ["init_embedded"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(manage + ["migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(manage + ["create_owner", "bench", "--password", PASSWORD], cwd=ROOT, env=env, check=True, capture_output=True)
    log = open(data_dir / "serve.log", "w")
    process = subprocess.Popen(
        manage + ["serve", "--port", str(port), "--concurrency", str(concurrency)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(240):
        try:
            call(port, "GET", "/api/v1/openapi.json")
            return process
        except (ConnectionError, OSError):
            time.sleep(0.5)
    raise RuntimeError("the workbench did not start; see " + str(data_dir / "serve.log"))


def memory_by_role(serve_pid: int) -> dict:
    peaks = {"web": 0.0, "worker": 0.0}
    for pid in children(serve_pid):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        role = "web" if "gunicorn" in command else "worker" if "celery" in command else None
        if role:
            peaks[role] = max(peaks[role], peak_rss_mb(pid))
    return peaks


def seconds(job: dict) -> float:
    return float(job["duration_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=1024, help="size of the CSV in MiB (default 1024)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    csv_path = OUT / f"bench_v2_{args.mb}mb.csv"
    if not csv_path.exists() or csv_path.stat().st_size < args.mb * 1024**2:
        print(f"writing {csv_path} …", flush=True)
        make_csv(csv_path, args.mb * 1024**2)
    size = csv_path.stat().st_size
    print(f"CSV: {size / 1e9:.2f} GB", flush=True)

    print("pandas.read_csv, three times …", flush=True)
    runs = [pandas_baseline(csv_path) for _ in range(3)]
    baseline = sorted(runs, key=lambda run: run["seconds"])[1]  # the median run
    spread = (min(r["seconds"] for r in runs), max(r["seconds"] for r in runs))
    print(
        f"  median {baseline['seconds']:.1f} s (range {spread[0]:.1f}–{spread[1]:.1f}), {baseline['rows']:,} rows, peak {baseline['peak_mb']:.0f} MB",
        flush=True,
    )

    print("ingest code alone (parse, types, Parquet encoding; no disk, encryption or worker) …", flush=True)
    core = ingest_in_process(csv_path)
    parse_only = ingest_in_process(csv_path, encode=False)
    print(f"  {core:.1f} s; parsing and typing alone {parse_only:.1f} s", flush=True)

    data_dir = OUT / f"data-{uuid.uuid4().hex[:8]}"
    data_dir.mkdir()
    server = start_workbench(data_dir, args.port)
    try:
        token = call(args.port, "POST", "/api/v1/auth/token", body={"username": "bench", "password": PASSWORD})["token"]
        workspace = call(args.port, "POST", "/api/v1/workspaces", token, {"name": "Benchmark"})["id"]
        started = time.perf_counter()
        ingest = upload(args.port, token, workspace, csv_path)
        uploaded = time.perf_counter() - started
        print(f"upload: {uploaded:.1f} s", flush=True)
        while (ingest := call(args.port, "GET", f"/api/v1/jobs/{ingest['id']}", token))["status"] not in ("succeeded", "failed"):
            time.sleep(0.5)
        if ingest["status"] != "succeeded":
            raise RuntimeError(ingest["error"])
        version_id = ingest["result"]["version"]
        while not (version := call(args.port, "GET", f"/api/v1/versions/{version_id}", token))["profiled_at"]:
            failed = [j for j in version["jobs"] if j["status"] == "failed"]
            if failed:
                raise RuntimeError(failed[0]["error"])
            time.sleep(0.5)
        total = time.perf_counter() - started
        profile = next(j for j in version["jobs"] if j["kind"] == "profile")
        peaks = memory_by_role(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)

    ingest_s, profile_s = seconds(ingest), seconds(profile)
    stored = version["size_bytes"]
    results = {
        "csv_bytes": size,
        "rows": version["row_count"],
        "columns": version["column_count"],
        "pandas_read_csv_s": round(baseline["seconds"], 2),
        "pandas_range_s": [round(spread[0], 2), round(spread[1], 2)],
        "pandas_peak_mb": round(baseline["peak_mb"]),
        "upload_s": round(uploaded, 2),
        "ingest_s": round(ingest_s, 2),
        "profile_s": round(profile_s, 2),
        "upload_to_profiled_s": round(total, 2),
        "ingest_over_pandas": round(ingest_s / baseline["seconds"], 3),
        "ingest_core_s": round(core, 2),
        "ingest_core_over_pandas": round(core / baseline["seconds"], 3),
        "parse_only_s": round(parse_only, 2),
        "parse_only_over_pandas": round(parse_only / baseline["seconds"], 3),
        "web_peak_mb": round(peaks["web"]),
        "worker_peak_mb": round(peaks["worker"]),
        "stored_bytes": stored,
    }
    print(json.dumps(results, indent=2))
    (OUT / "ingest_results.json").write_text(json.dumps(results, indent=2))
    if not args.no_write:
        write_section(
            "Ingest: upload to profiled, 1 GB CSV (issue 2)",
            f"""Command: `make bench` (runs `benchmarks/ingest_1gb.py`). The workbench ran as the embedded default
(gunicorn with 2 web workers, one Celery worker process, SQLite, folder broker) on a fresh data dir; the file went
through `POST /api/v1/workspaces/{{id}}/datasets`. Peer: `pandas.read_csv` of the same file with default options,
in the same run, in its own process.

| | value |
|---|---|
| CSV | {size / 1e9:.2f} GB, {results["rows"]:,} rows × {results["columns"]} columns (demo clinical table resampled, with names, notes, dates) |
| `pandas.read_csv` (peer), median of 3 | {results["pandas_read_csv_s"]} s (range {results["pandas_range_s"][0]}–{results["pandas_range_s"][1]} s), peak memory {results["pandas_peak_mb"]:,} MB |
| upload over HTTP (stream + encrypt to staging) | {results["upload_s"]} s |
| ingest job: decrypt staging, parse, infer types, write Parquet, encrypt | {results["ingest_s"]} s |
| **ingest ÷ pandas.read_csv** | **{results["ingest_over_pandas"]}** (goal ≤ 1.0) |
| the ingest code alone, in process: parse, types, Parquet encoding (no staging, encryption, disk or worker) | {results["ingest_core_s"]} s ({results["ingest_core_over_pandas"]} × pandas) |
| … of which parsing and typing (Parquet writer stubbed out) | {results["parse_only_s"]} s ({results["parse_only_over_pandas"]} × pandas) |
| profile job (all columns, histograms, duplicates) | {results["profile_s"]} s |
| **upload to profiled, end to end** | **{results["upload_to_profiled_s"]} s** |
| peak memory, web process | {results["web_peak_mb"]:,} MB (goal < 1,024) |
| peak memory, worker process | {results["worker_peak_mb"]:,} MB (goal < 1,024) |
| stored RAW version (encrypted Parquet) | {stored / 1e6:,.0f} MB |

### Reading the ingest figures

- **Memory goal met**: the worker peaks well under 1 GB, while pandas needs about three times the file
  size to read it; the web process only streams the upload into an encrypted staging file.
- **Speed goal not met**: the ingest job takes longer than `pandas.read_csv` alone. The two "ingest code
  alone" rows show where the time goes: parsing and typing (pyarrow, 8 MiB pieces two at a time) is already
  slower than pandas' parser on these 2 cores, and encoding and compressing Parquet (one writer thread)
  roughly doubles it; the gap between those rows and the worker's figure is disk I/O (the staged gigabyte,
  the output) and the worker process.
- The machine is noisy (see the range of the three pandas runs), so compare ratios from the same run only.
- Next step for speed, not done: write a version as several Parquet parts in parallel (one writer per core).
""",
        )
        print("BENCHMARKS.md updated")


if __name__ == "__main__":
    main()
