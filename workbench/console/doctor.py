"""Can this workbench do its job here? Each check says ok, warn or fail, and why; `manage.py doctor` prints them
and exits non-zero on a failure, `make run` runs it before serving, and site admins see the last report's
failures on the home page.

A check is a function returning a Check; none raises. None of them prints or stores a cell value or a secret.
"""

import hashlib
import json
import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    seconds: float = 0.0


def check_database() -> Check:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    try:
        connection.ensure_connection()
        pending = MigrationExecutor(connection).migration_plan(MigrationExecutor(connection).loader.graph.leaf_nodes())
    except Exception as error:  # noqa: BLE001 — the point is to say what is wrong, not to stop
        return Check("database", FAIL, f"cannot use {connection.vendor} ({type(error).__name__}: {str(error).splitlines()[0][:200]})")
    if pending:
        return Check("database", FAIL, f"{len(pending)} migration(s) not applied: run `manage.py migrate`")
    return Check("database", OK, f"{connection.vendor}, migrations applied")


def check_broker() -> Check:
    from tasks.celery import app

    url = app.conf.broker_url
    scheme = url.split("://")[0]
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as error:  # noqa: BLE001
        return Check("broker", FAIL, f"cannot reach the {scheme} broker ({type(error).__name__})")
    return Check("broker", OK, f"{scheme} broker reachable")


def check_workers(queues=("cpu", "gpu")) -> list[Check]:
    """A diagnostic job per queue, answered by a worker within a few seconds."""
    from django.db import transaction

    from workbench.jobs.actions import create_job
    from workbench.jobs.models import Job

    timeout = settings.DOCTOR_WORKER_SECONDS
    jobs = {}
    try:
        for queue in queues:
            with transaction.atomic():
                jobs[queue] = create_job(kind="diagnostic", user=None, workspace=None, params={"queue": queue}, queue=queue).pk
    except Exception as error:  # noqa: BLE001
        return [Check(f"worker ({q})", FAIL, f"could not send a diagnostic job ({type(error).__name__})") for q in queues]
    deadline = time.monotonic() + timeout
    results = {}
    while len(results) < len(jobs) and time.monotonic() < deadline:
        for queue, job_id in jobs.items():
            job = Job.objects.filter(pk=job_id).first()
            if queue not in results and job and job.is_finished:
                results[queue] = job
        time.sleep(0.3)
    checks = []
    for queue, job_id in jobs.items():
        job = results.get(queue)
        if job is None:
            Job.objects.filter(pk=job_id, status="queued").update(status="cancelled", message="No worker answered the doctor")
            checks.append(Check(f"worker ({queue})", FAIL, f"no worker took a job on queue {queue!r} within {timeout:g} s"))
        else:
            checks.append(Check(f"worker ({queue})", OK, f"{job.worker or 'a worker'} answered in {job.duration_seconds or 0:.1f} s"))
    return checks


def _known_model():
    from workbench.analysis.weights import MODELS

    return MODELS.get(settings.LLM_MODEL)


def check_model_file() -> Check:
    from workbench.analysis.llm import ModelUnavailable, model_path

    if settings.LLM_BACKEND == "openai":
        return Check("model file", OK, f"an OpenAI-compatible endpoint at {settings.LLM_ENDPOINT} (no local file)")
    try:
        path = model_path()
    except ModelUnavailable as error:
        return Check("model file", FAIL, str(error))
    known = _known_model()
    if known is None:
        return Check("model file", WARN, f"{path.name}: a site's own GGUF, {path.stat().st_size:,} bytes (no known sha256 to check)")
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(4 * 1024**2), b""):
            digest.update(block)
    if digest.hexdigest() != known.sha256:
        return Check("model file", FAIL, f"{path.name}: sha256 differs from the known model's; reinstall it (`manage.py install_model`)")
    return Check("model file", OK, f"{path.name}: {path.stat().st_size:,} bytes, sha256 verified")


def check_llama_build() -> Check:
    from workbench.analysis import buildcheck

    if settings.LLM_BACKEND == "openai":
        return Check("llama.cpp build", OK, "not used (endpoint backend)")
    cpu_ok, cpu = buildcheck.check_cpu()
    if not cpu_ok:
        return Check("llama.cpp build", FAIL, cpu)
    portable, detail = buildcheck.check_instructions()
    if not portable:
        return Check("llama.cpp build", FAIL if "not installed" in detail else WARN, detail)
    return Check("llama.cpp build", OK, f"{detail}; {cpu}")


def check_generation() -> Check:
    from workbench.analysis import buildcheck
    from workbench.analysis.llm import ModelUnavailable, model_path

    if settings.LLM_BACKEND == "openai":
        return Check("model generates", OK, "not checked (endpoint backend)")
    try:
        path = model_path()
    except ModelUnavailable as error:
        return Check("model generates", FAIL, str(error))
    passed, detail = buildcheck.smoke_generate(path, threads=settings.LLM_THREADS or os.cpu_count() or 1, timeout=600)
    return Check("model generates", OK if passed else FAIL, f"in a subprocess: {detail}")


def check_sandbox() -> list[Check]:
    """Runs `result = 1` in the sandbox and reports each layer, and whether model code will run."""
    from workbench.analysis import sandbox
    from workbench.analysis.present import describe_layers

    outcome = sandbox.run("result = 6 * 7", None, limits=sandbox.Limits(wall_seconds=60), scratch=settings.SCRATCH_DIR)
    layers = outcome.layers or {}
    missing = set(layers.get("missing", [])) | set(layers.get("missing_allowed", []))
    checks = []
    for layer in sandbox.LAYERS:
        held = {
            "namespaces": bool(layers.get("namespaces")),
            "landlock": bool(layers.get("landlock_abi")),
            "seccomp": bool(layers.get("seccomp")),
        }[layer]
        if held:
            detail = {
                "namespaces": f"bubblewrap ({sandbox.bubblewrap()}): mount, pid, net, ipc, uts, user",
                "landlock": f"ABI {layers.get('landlock_abi')}",
                "seccomp": "filter loaded",
            }[layer]
            checks.append(Check(f"sandbox: {layer}", OK, detail))
        elif layer in settings.SANDBOX_ALLOW_MISSING:
            checks.append(Check(f"sandbox: {layer}", WARN, "missing; the site allows running without it (WORKBENCH_SANDBOX_ALLOW_MISSING)"))
        elif layer in missing:
            checks.append(Check(f"sandbox: {layer}", FAIL, f"missing — to enable it, {sandbox._HOW_TO_ENABLE[layer]}"))
        else:  # refused before the child ran (no box), so this layer was never tried
            checks.append(Check(f"sandbox: {layer}", WARN, "not checked: no box could be made to try it in (see above)"))
    if layers.get("cgroup"):
        checks.append(
            Check("sandbox: cgroup", OK, "each run in its own cgroup: memory (the kernel's included), processes and threads, one CPU")
        )
    elif layers.get("namespaces"):
        lost = (
            "without it, the kernel memory a run makes (empty files, pipe buffers) counts against no limit, threads are "
            "capped per user only (RLIMIT_NPROC) and a run may use every CPU; give the worker a delegated cgroup "
            "(systemd Delegate=yes, or a writable v1 memory and pids hierarchy) or name one in WORKBENCH_SANDBOX_CGROUP"
        )
        checks.append(Check("sandbox: cgroup", WARN, f"unavailable ({layers.get('cgroup_missing', 'not made')}); {lost}"))
    if os.geteuid() == 0 and layers.get("namespaces"):
        checks.append(Check("sandbox: uid", OK, f"the worker is root; the box runs as uid {settings.SANDBOX_UID}, not root"))
    if outcome.ok and outcome.result == {"kind": "value", "value": 42}:
        checks.append(Check("sandbox runs code", OK, f"{describe_layers(layers)}; {outcome.seconds:.2f} s a run"))
    else:
        message = (outcome.error or {}).get("message", "no result")
        checks.append(Check("sandbox runs code", FAIL, message.split(" (", 1)[0] + "; the layers above say what to enable"))
    return checks


def check_presidio() -> Check:
    from workbench.privacy import engine

    path = engine.model_path()
    if not (Path(path) / "meta.json").exists():
        return Check(
            "presidio NER model", FAIL, f"no spaCy model at {path} (WORKBENCH_SPACY_MODEL_PATH, or `pip install -r requirements.txt`)"
        )
    try:
        import spacy

        spacy.load(path)
    except Exception as error:  # noqa: BLE001
        return Check("presidio NER model", FAIL, f"the spaCy model at {path} does not load ({type(error).__name__})")
    return Check("presidio NER model", OK, f"{Path(path).name} loads")


def check_data_folder() -> Check:
    folder = Path(settings.DATA_DIR)
    if not folder.is_dir():
        return Check("data folder", FAIL, f"{folder} does not exist")
    probe = folder / f".doctor-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        return Check("data folder", FAIL, f"{folder} is not writable by this process ({error.strerror})")
    mode = folder.stat().st_mode
    if mode & (stat.S_IROTH | stat.S_IWOTH | stat.S_IXOTH):
        return Check("data folder", FAIL, f"{folder} is open to other users (mode {stat.filemode(mode)}); `chmod o-rwx {folder}`")
    return Check("data folder", OK, f"{folder} ({stat.filemode(mode)})")


def check_master_key() -> Check:
    from workbench.datasets.models import Dataset
    from workbench.storage import unwrap_key

    datasets = Dataset.objects.exclude(wrapped_key=b"")
    total = datasets.count()
    sample = datasets.order_by("-pk")[:20]
    bad = 0
    for dataset in sample:
        try:
            unwrap_key(dataset.wrapped_key)
        except Exception:  # noqa: BLE001 — a wrong key cannot unwrap; which error does not matter
            bad += 1
    if bad:
        return Check(
            "master key",
            FAIL,
            f"WORKBENCH_MASTER_KEY does not unwrap {bad} of the {len(sample)} newest datasets' keys: it is not the key they were stored with",
        )
    return Check(
        "master key", OK, f"set; unwraps the keys of the {len(sample)} newest of {total} dataset(s)" if total else "set (no dataset yet)"
    )


def check_disk() -> Check:
    usage = shutil.disk_usage(settings.DATA_DIR)
    needed = settings.DOCTOR_MIN_FREE_BYTES
    free = f"{usage.free / 1024**3:,.1f} GB free of {usage.total / 1024**3:,.0f} GB"
    if usage.free < needed:
        return Check("free disk", FAIL, f"{free} in the data folder; at least {needed / 1024**3:,.1f} GB needed")
    return Check("free disk", OK, free)


def run_checks(*, workers: bool = True, generation: bool = True, on_check: Callable[[Check], None] | None = None) -> list[Check]:
    steps: list[Callable] = [check_database, check_broker]
    if workers:
        steps.append(check_workers)
    steps += [check_model_file, check_llama_build]
    if generation:
        steps.append(check_generation)
    steps += [check_sandbox, check_presidio, check_data_folder, check_master_key, check_disk]
    checks = []
    for step in steps:
        started = time.monotonic()
        try:
            found = step()
        except Exception as error:  # noqa: BLE001 — a check that breaks is a failure of that check
            found = Check(step.__name__.removeprefix("check_").replace("_", " "), FAIL, f"the check itself failed ({type(error).__name__})")
        for check in found if isinstance(found, list) else [found]:
            check.seconds = round(time.monotonic() - started, 2)
            checks.append(check)
            if on_check:
                on_check(check)
    return checks


REPORT = "doctor.json"


def save_report(checks: list[Check]) -> None:
    """The last report, for the site admins' home page (statuses and reasons only)."""
    document = {"at": timezone.now().isoformat(), "checks": [asdict(c) for c in checks]}
    path = Path(settings.DATA_DIR) / REPORT
    temporary = path.with_suffix(".partial")
    temporary.write_text(json.dumps(document))
    os.chmod(temporary, 0o600)
    temporary.replace(path)


def last_report() -> dict | None:
    try:
        return json.loads((Path(settings.DATA_DIR) / REPORT).read_text())
    except (OSError, ValueError):
        return None


def summary() -> dict:
    """For the site admins' home page: when the doctor last ran and what failed or warned."""
    report = last_report()
    if report is None:
        return {"ran": False, "problems": []}
    problems = [c for c in report.get("checks", []) if c.get("status") in (FAIL, WARN)]
    return {"ran": True, "at": report.get("at", ""), "problems": problems, "failed": sum(c["status"] == FAIL for c in problems)}
