"""The README's run command on a fresh data dir: SQLite, the no-server broker, demo owner and dataset, over HTTP."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import subprocess_env

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo-password-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base: str, path: str, *, token: str | None = None, data: dict | None = None):
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(base + path, data=body, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as response:
        raw = response.read()
        return response.status, (json.loads(raw) if response.headers.get_content_type() == "application/json" else raw.decode())


@pytest.fixture
def embedded(tmp_path):
    port = free_port()
    env = subprocess_env(
        WORKBENCH_DATA_DIR=str(tmp_path / "data"),
        WORKBENCH_DEMO_PASSWORD=PASSWORD,
        WORKBENCH_PORT=str(port),
        WORKBENCH_TEXT_CHUNK_ROWS="100",
    )
    for name in [
        "WORKBENCH_DATABASE_URL",
        "WORKBENCH_BROKER_URL",
        "WORKBENCH_SECRET_KEY",
        "WORKBENCH_MASTER_KEY",
        "MAKEFLAGS",
        "MAKELEVEL",
    ]:
        env.pop(name, None)
    log = tmp_path / "run.log"
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the embedded run did not come up:\n" + log.read_text()
        try:
            if request(base, "/healthz")[0] == 200:
                break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    yield base, log, tmp_path / "data"
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def scan_demo(base: str, token: str, version_id: int) -> dict:
    """Scan the demo version: its notes go through a chord of chunks on the folder broker and file result backend."""
    _, body = request(base, f"/api/v1/versions/{version_id}/scan", token=token, data={})
    job_id = body["job"]["id"]
    deadline = time.monotonic() + 120
    while (job := request(base, f"/api/v1/jobs/{job_id}", token=token)[1])["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(1)
    assert job["status"] == "succeeded", job
    return job


def test_the_run_command_serves_the_demo_with_a_profiled_dataset(embedded):
    base, log, data = embedded
    assert f"Demo owner: demo / {PASSWORD}" in log.read_text()
    assert (data / "workbench.sqlite3").exists()
    _, body = request(base, "/api/v1/auth/token", data={"username": "demo", "password": PASSWORD})
    token = body["token"]
    _, body = request(base, "/api/v1/workspaces", token=token)
    workspace = body["workspaces"][0]
    assert workspace["role"] == "owner"

    def profiled_version():
        _, listing = request(base, f"/api/v1/workspaces/{workspace['id']}/datasets", token=token)
        versions = [v for d in listing["datasets"] for v in d["versions"]]
        return versions[0] if versions and versions[0]["profiled_at"] else None

    deadline = time.monotonic() + 120
    while (version := profiled_version()) is None:
        assert time.monotonic() < deadline, "the demo dataset was not profiled:\n" + log.read_text()
        time.sleep(1)
    _, detail = request(base, f"/api/v1/versions/{version['id']}", token=token)
    assert detail["tier"] == "RAW" and detail["row_count"] == 418
    charts = [c for c in detail["profile"]["columns"] if c.get("chart")]
    assert len(charts) >= 20
    status, script = request(base, "/static/vendor/plotly-3.7.0.min.js")
    assert status == 200 and "Plotly" in script[:5000]
    scan = scan_demo(base, token, version["id"])
    assert scan["result"]["text_chunks"] == 5 and scan["result"]["free_text_rows_scanned"] == 418
    status, page = request(base, "/login/")
    assert status == 200
    assert not re.findall(r"""(?:src|href)=["']https?://""", page)


def test_the_embedded_run_keeps_no_plaintext_on_disk(embedded):
    base, log, data = embedded
    from workbench.console.demo import demo_table

    deadline = time.monotonic() + 120
    while not list(data.glob("datasets/*/*.profile.json.enc")):
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(1)
    token = request(base, "/api/v1/auth/token", data={"username": "demo", "password": PASSWORD})[1]["token"]
    workspace = request(base, "/api/v1/workspaces", token=token)[1]["workspaces"][0]
    dataset = request(base, f"/api/v1/workspaces/{workspace['id']}/datasets", token=token)[1]["datasets"][0]
    scan_demo(base, token, dataset["versions"][0]["id"])  # scan reports, spans and chunk files are encrypted too
    names = [n for n in demo_table()["patient_name"] if len(n) > 6][:100]
    for path in data.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert not [n for n in names if n.encode() in blob], path
