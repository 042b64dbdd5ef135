"""Shared fixtures: three users in the manner of healthchecks' tests (owner alice, analyst bob,
outsider charlie, plus viewer vera), a workspace, and helpers to upload through the real API."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from tests.offline_guard import install

ROOT = Path(__file__).resolve().parent.parent

# Every connection this test process makes must stay on this machine.
OFFLINE_LOG = Path(tempfile.gettempdir()) / f"workbench-offline-{os.getpid()}.log"
install(log_path=str(OFFLINE_LOG))
TESTS_DIR = Path(__file__).resolve().parent


def subprocess_env(**extra) -> dict:
    """Environment for servers and workers started by tests: the same settings, offline-guarded too."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=f"{TESTS_DIR / 'offline'}:{TESTS_DIR.parent}",
        WORKBENCH_OFFLINE_GUARD="1",
        WORKBENCH_OFFLINE_LOG=str(OFFLINE_LOG),
        PYTHONUNBUFFERED="1",
    )
    env.pop("WORKBENCH_TASKS_EAGER", None)
    env.update(extra)
    return env


def pytest_sessionfinish(session, exitstatus):
    if OFFLINE_LOG.exists() and OFFLINE_LOG.read_text().strip():
        session.exitstatus = 1
        print("\nNON-LOOPBACK CONNECTIONS WERE ATTEMPTED:\n" + OFFLINE_LOG.read_text())
    OFFLINE_LOG.unlink(missing_ok=True)


@pytest.fixture
def users(db):
    from workbench.accounts.actions import create_user

    password = "correct-horse-battery"
    return {
        "alice": create_user(username="alice", password=password, data_owner=True),
        "bob": create_user(username="bob", password=password),
        "charlie": create_user(username="charlie", password=password, data_owner=True),
        "vera": create_user(username="vera", password=password),
    }


@pytest.fixture
def workspace(users):
    from workbench.accounts.actions import create_workspace, set_membership

    ws = create_workspace(user=users["alice"], name="Cardiology")
    set_membership(workspace=ws, actor=users["alice"], username="bob", role="analyst")
    set_membership(workspace=ws, actor=users["alice"], username="vera", role="viewer")
    create_workspace(user=users["charlie"], name="Charlie's own")
    return ws


@pytest.fixture
def tokens(users):
    from workbench.accounts.models import ApiToken

    return {name: ApiToken.issue(user)[1] for name, user in users.items()}


@pytest.fixture
def api(client, tokens):
    """api(user, method, url, **kwargs) through the real URL conf with a bearer token."""

    def call(user, method, url, **kwargs):
        headers = {"Authorization": f"Bearer {tokens[user]}"}
        return getattr(client, method.lower())(url, headers=headers, **kwargs)

    return call


@pytest.fixture
def upload(api, django_capture_on_commit_callbacks):
    """Upload bytes as `user` through the API; jobs run in-process (eager). Returns (response, job or None)."""
    from workbench.jobs.models import Job

    def do(user, workspace, filename, content: bytes, content_type="application/octet-stream", name=""):
        file = SimpleUploadedFile(filename, content, content_type=content_type)
        data = {"file": file}
        if name:
            data["name"] = name
        with django_capture_on_commit_callbacks(execute=True):
            response = api(user, "post", f"/api/v1/workspaces/{workspace.pk}/datasets", data=data)
        job = Job.objects.get(pk=response.json()["job"]["id"]) if response.status_code == 202 else None
        return response, job

    return do


@pytest.fixture
def uploaded(upload, workspace):
    """Upload a CSV as alice and return its RAW version (ingested and profiled)."""
    from workbench.datasets.models import Version

    def do(content: bytes, filename="table.csv", **kwargs):
        response, job = upload("alice", workspace, filename, content, **kwargs)
        assert response.status_code == 202, response.content
        job.refresh_from_db()
        assert job.status == "succeeded", job.error
        return Version.objects.get(pk=job.result["version"])

    return do


@pytest.fixture(scope="session", autouse=True)
def _close_stray_database_sessions(django_db_setup, django_db_blocker):
    """Server threads of the browser tests may still hold a keep-alive request's connection when
    the session ends; end those sessions so the test database can be dropped."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    connection.close()


@pytest.fixture
def real_broker():
    """Send jobs through Redis instead of running them in-process."""
    from tasks.celery import app

    if not settings.BROKER_URL.startswith("redis"):
        pytest.skip("needs WORKBENCH_BROKER_URL=redis://… (make test sets it)")
    redis.Redis.from_url(settings.BROKER_URL).flushdb()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield app
    app.conf.task_always_eager = eager


@pytest.fixture
def start_worker(real_broker, tmp_path):
    """start_worker(name, beat=False) runs `celery -A tasks worker` against the test database."""
    started = []
    database = settings.DATABASES["default"]
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{connection.settings_dict['NAME']}"

    def start(name: str, *, beat: bool = False, queues: str = "cpu,gpu", **extra_env: str) -> subprocess.Popen:
        log = tmp_path / f"{name}.log"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tasks",
            "worker",
            "-Q",
            queues,
            "-c",
            "1",
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ]
        if beat:
            command += ["--beat", "--schedule", str(tmp_path / "beat-schedule")]
        env = subprocess_env(
            WORKBENCH_DATABASE_URL=url,
            WORKBENCH_JOB_HEARTBEAT_SECONDS="1",
            WORKBENCH_JOB_STALE_SECONDS="3",
            WORKBENCH_JOB_SWEEP_SECONDS="1",
            **extra_env,
        )
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        process.log = log
        started.append(process)
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "worker did not start:\n" + log.read_text()
            time.sleep(0.2)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def finished(job_id: int, timeout: float, what: str):
    """The job once a worker has finished it (succeeded or failed)."""
    from workbench.jobs.models import Job

    return wait_for(lambda: Job.objects.filter(pk=job_id, status__in=["succeeded", "failed"]).first(), timeout, what)


def upload_through_worker(api, workspace, frame, filename: str = "demo.csv"):
    """Upload a table as alice through the API and return its ingest job once a real worker finished it."""
    response = api(
        "alice",
        "post",
        f"/api/v1/workspaces/{workspace.pk}/datasets",
        data={"file": SimpleUploadedFile(filename, frame.to_csv(index=False).encode())},
    )
    assert response.status_code == 202, response.content
    return finished(response.json()["job"]["id"], 60, "ingest")
