"""Real PostgreSQL, Redis and Celery worker processes: upload → ingest → profile, and a worker killed mid-job."""

import os
import re
import signal
import time
from pathlib import Path

import pytest
from django.test import override_settings

from tests.conftest import finished, upload_through_worker, wait_for
from workbench.jobs.actions import create_job
from workbench.jobs.models import Job

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parent.parent


def test_an_upload_is_ingested_and_profiled_by_a_real_worker(start_worker, api, workspace):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from workbench.console.demo import demo_table

    worker = start_worker("w1")
    csv = demo_table().to_csv(index=False).encode()
    response = api(
        "alice", "post", f"/api/v1/workspaces/{workspace.pk}/datasets", data={"file": SimpleUploadedFile("demo.csv", csv, "text/csv")}
    )
    assert response.status_code == 202
    ingest = response.json()["job"]["id"]
    done = wait_for(lambda: Job.objects.filter(pk=ingest, status__in=["succeeded", "failed"]).first(), 60, "ingest")
    assert done.status == "succeeded", done.error
    assert done.worker.split(":")[0]  # the row names the worker that ran it
    profile = wait_for(lambda: Job.objects.filter(kind="profile", status__in=["succeeded", "failed"]).first(), 60, "profile")
    assert profile.status == "succeeded", profile.error + worker.log.read_text()
    body = api("alice", "get", f"/api/v1/versions/{done.result['version']}").json()
    assert body["row_count"] == 418
    assert {c["name"]: c["type"] for c in body["schema"]}["sex"] == "category"
    assert body["profile"]["columns"][0]["name"] == "mrn"
    polled = api("alice", "get", f"/api/v1/jobs/{profile.pk}").json()
    assert polled["status"] == "succeeded" and polled["progress"] == 100


def test_free_text_is_scanned_and_cleaned_in_chunks_by_several_workers(start_worker, api, workspace, users):
    """A chord over two worker processes: both take chunks, the closing task finishes the job, and the
    ANONYMIZED version holds no name of the notes' patients."""

    from workbench.console.demo import demo_table
    from workbench.datasets.actions import read_table
    from workbench.datasets.models import Version

    for name in ("chunks-a", "chunks-b"):
        start_worker(name, WORKBENCH_TEXT_CHUNK_ROWS="20")  # 418 rows: 21 chunks
    demo = demo_table()
    version = upload_through_worker(api, workspace, demo).result["version"]
    scan = api("alice", "post", f"/api/v1/versions/{version}/scan").json()["job"]["id"]
    scan = wait_for(lambda: Job.objects.filter(pk=scan, status__in=["succeeded", "failed"]).first(), 120, "the chunked scan")
    assert scan.status == "succeeded", scan.error
    assert scan.result["text_chunks"] == 21 and scan.result["text_workers"] == 2, scan.result
    job = api("alice", "post", f"/api/v1/versions/{version}/anonymize", data={"rules": "auto"}, content_type="application/json").json()
    job = wait_for(
        lambda: Job.objects.filter(pk=job["job"]["id"], status__in=["succeeded", "failed"]).first(), 120, "the chunked anonymisation"
    )
    assert job.status == "succeeded", job.error
    assert job.result["text_chunks"] == 21 and job.result["text_workers"] == 2, job.result
    notes = " ".join(read_table(Version.objects.get(pk=job.result["version"]), columns=["clinical_notes"]).column(0).to_pylist())
    # as whole words: a surrogate such as "Lisa Woodward" holds "Lisa Wood" as a substring without naming her
    assert not [name for name in demo["patient_name"] if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", notes)]


def test_a_deep_synthesis_goes_to_the_gpu_queue_and_a_gpu_worker_runs_it(start_worker, api, workspace):
    """Only a worker listening on `gpu` takes it (a CPU-only worker leaves it alone); on a machine without a GPU
    the engine trains on the CPU, and the SYNTHETIC version names the device."""
    from workbench.console.demo import demo_table
    from workbench.datasets.models import Version

    start_worker("cpu-only", queues="cpu")
    ingest = upload_through_worker(api, workspace, demo_table())
    response = api(
        "alice",
        "post",
        f"/api/v1/versions/{ingest.result['version']}/synthesize",
        data={"method": "deep", "rows": 100},
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.queue == "gpu"
    time.sleep(3)
    job.refresh_from_db()
    assert job.status == "queued"  # the CPU worker does not take it
    start_worker("gpu-node", queues="gpu", WORKBENCH_DEEP_MAX_EPOCHS="3")
    job = finished(job.pk, 240, "the deep synthesis")
    assert job.status == "succeeded", job.error
    synthetic = Version.objects.get(pk=job.result["version"])
    assert synthetic.tier == "SYNTHETIC" and synthetic.row_count == 100
    assert synthetic.made_by["method"] == "deep" and synthetic.made_by["generator"]["device"] in ("cpu", "cuda")


def _kill_mid_job(start_worker, workspace, users, name: str) -> Job:
    victim = start_worker(name)
    job = create_job(kind="diagnostic", user=users["alice"], workspace=workspace, params={"seconds": 4})
    wait_for(lambda: Job.objects.filter(pk=job.pk, status="running", progress__gt=0).exists(), 30, "the job to start")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    job.refresh_from_db()
    assert job.status == "running"  # nobody told the database
    return job


def test_a_job_whose_worker_is_killed_is_requeued_and_finishes(start_worker, workspace, users):
    job = _kill_mid_job(start_worker, workspace, users, "victim1")
    start_worker("survivor1", beat=True)  # its beat runs the sweeper every second
    row = wait_for(lambda: Job.objects.filter(pk=job.pk, status="succeeded").first(), 60, "the requeued job to finish")
    assert row.attempts == 2
    assert [e["event"] for e in row.events if "stopped responding" in e["event"] and "requeued as attempt 2" in e["event"]], row.events


def test_a_job_whose_worker_is_killed_fails_with_a_message_after_its_last_attempt(start_worker, workspace, users):
    with override_settings(JOB_MAX_ATTEMPTS=1):
        job = _kill_mid_job(start_worker, workspace, users, "victim2")
    started = time.monotonic()
    start_worker("survivor2", beat=True)
    row = wait_for(lambda: Job.objects.filter(pk=job.pk, status="failed").first(), 30, "the job to be marked failed")
    assert "stopped responding" in row.error
    assert time.monotonic() - started < 30


def test_check_workers_reports_who_answers_and_who_does_not(start_worker, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    start_worker("w-check", queues="cpu")
    call_command("check_workers", "--queues", "cpu", "--timeout", "30")
    assert "cpu: succeeded on " in capsys.readouterr().out
    with pytest.raises(CommandError, match="No worker answered on queue\\(s\\) gpu"):
        call_command("check_workers", "--queues", "gpu", "--timeout", "3")
