"""`manage.py doctor`: each check passes here and fails, with its reason, when what it checks is broken; the command
exits non-zero then; site admins see the failures on the home page. Also: the installed llama.cpp holds no
instruction above the portable baseline, and the detector that says so finds AVX-512 and AMX when they are there."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import ROOT, subprocess_env
from workbench.analysis import buildcheck
from workbench.console import doctor


def _status(checks, name: str) -> tuple[str, str]:
    found = [c for c in (checks if isinstance(checks, list) else [checks]) if c.name == name]
    assert found, [c.name for c in checks]
    return found[0].status, found[0].detail


# --- the llama.cpp build --------------------------------------------------------------------------------------------


def test_the_installed_llama_cpp_holds_no_amx_and_nothing_above_the_avx2_baseline():
    libraries = buildcheck.libraries()
    assert libraries, "llama-cpp-python is not installed"
    for library in libraries:
        report = buildcheck.scan_library(library)
        assert report["instructions"] > 0, library
        assert report["amx"] == 0, report  # objdump finds no tile* instruction
        assert report["evex"] == 0, report  # no AVX-512 in any form
        assert report["vex_above_baseline"] == 0, report
    assert buildcheck.check_instructions()[0]


@pytest.fixture
def native_object(tmp_path):
    """An object file with what a native build on an AMX machine holds: AVX-512 and AMX tile instructions."""
    if not shutil.which("as"):
        pytest.skip("binutils' assembler is not installed")
    source = tmp_path / "native.s"
    source.write_text(
        ".text\nf:\n  vpaddd %zmm0, %zmm1, %zmm2\n  vpaddd %ymm0, %ymm1, %ymm2\n  tilezero %tmm0\n  ldtilecfg (%rax)\n"
        "  {vex} vpdpbusd %ymm0, %ymm1, %ymm2\n  ret\n"
    )
    library = tmp_path / "libnative.so"
    subprocess.run(["as", "-o", str(library), str(source)], check=True)
    return library


def test_the_instruction_check_finds_avx512_and_amx_in_a_native_build(native_object, monkeypatch):
    report = buildcheck.scan_library(native_object)
    assert report == {**report, "evex": 1, "amx": 2, "vex_above_baseline": 1}
    assert any("tilezero" in example for example in report["examples"])
    monkeypatch.setattr(buildcheck, "libraries", lambda: [native_object])
    portable, detail = buildcheck.check_instructions()
    assert not portable and "make install" in detail
    check = doctor.check_llama_build()
    assert check.status == doctor.WARN and "AMX" in check.detail


def test_a_generation_that_dies_or_fails_is_reported_in_words(tmp_path):
    assert buildcheck.describe_exit(-4) == "killed by signal 4 (SIGILL, illegal instruction)"
    assert buildcheck.describe_exit(-9) == "killed by signal 9 (SIGKILL, killed)"
    garbage = tmp_path / "model.gguf"
    garbage.write_bytes(b"GGUF" + os.urandom(4096))
    passed, detail = buildcheck.smoke_generate(garbage, timeout=120)
    assert not passed and "model process was" in detail


# --- each check, passing and failing --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_checks_pass_on_this_machine():
    checks = doctor.run_checks(workers=False, generation=False)
    failed = [(c.name, c.detail) for c in checks if c.status == doctor.FAIL and c.name != "data folder"]
    assert failed == []
    for layer in ("namespaces", "landlock", "seccomp"):
        assert _status(checks, f"sandbox: {layer}")[0] == doctor.OK
    assert _status(checks, "sandbox runs code")[0] == doctor.OK


@pytest.mark.slow
def test_the_model_generates_in_a_subprocess(settings):
    settings.LLM_MODEL = "qwen2.5-coder-0.5b"
    check = doctor.check_generation()
    status, detail = check.status, check.detail
    assert status == doctor.OK and "generated" in detail


def test_a_database_that_cannot_be_reached_fails_the_command():
    env = subprocess_env(WORKBENCH_DATABASE_URL="postgres://postgres@127.0.0.1:5432/no_such_database_here")
    done = subprocess.run(
        [sys.executable, "manage.py", "doctor", "--before-start", "--skip-generation", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    report = json.loads(done.stdout[done.stdout.index("[") :])
    database = next(c for c in report if c["name"] == "database")
    assert database["status"] == "fail" and "no_such_database_here" in database["detail"]
    assert "check(s) failed" in done.stderr


def test_a_broker_that_cannot_be_reached_fails(monkeypatch):
    from tasks.celery import app

    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    status, detail = _status(doctor.check_broker(), "broker")
    assert status == doctor.FAIL and "cannot reach the redis broker" in detail


@pytest.mark.django_db
def test_no_worker_on_a_queue_fails(settings):
    settings.DOCTOR_WORKER_SECONDS = 1
    checks = doctor.check_workers(queues=("cpu",))
    assert checks[0].status == doctor.FAIL and "no worker took a job on queue 'cpu'" in checks[0].detail


def test_a_missing_or_changed_model_file_fails(settings, tmp_path):
    from workbench.analysis.weights import MODELS

    settings.LLM_MODEL = str(tmp_path / "absent.gguf")
    assert doctor.check_model_file().status == doctor.FAIL
    settings.LLM_MODEL = "qwen2.5-coder-0.5b"
    settings.LLM_MODEL_DIR = tmp_path
    (tmp_path / MODELS["qwen2.5-coder-0.5b"].file).write_bytes(b"not the model")
    check = doctor.check_model_file()
    assert check.status == doctor.FAIL and "sha256 differs" in check.detail


def test_a_model_that_does_not_generate_fails(settings, tmp_path):
    garbage = tmp_path / "broken.gguf"
    garbage.write_bytes(b"GGUF" + os.urandom(1024))
    settings.LLM_MODEL = str(garbage)
    check = doctor.check_generation()
    assert check.status == doctor.FAIL and "in a subprocess" in check.detail


def test_a_host_without_bubblewrap_fails_the_sandbox_checks_and_says_how_to_enable_it(settings):
    settings.SANDBOX_BWRAP = "/nonexistent/bwrap"
    checks = doctor.check_sandbox()
    status, detail = _status(checks, "sandbox: namespaces")
    assert status == doctor.FAIL and "apt-get install bubblewrap" in detail
    status, detail = _status(checks, "sandbox runs code")
    assert status == doctor.FAIL and detail.startswith("The code was not run: this host lacks the sandbox layer(s) namespaces")
    for layer in ("landlock", "seccomp"):  # never tried without a box: not claimed missing
        status, detail = _status(checks, f"sandbox: {layer}")
        assert status == doctor.WARN and "not checked" in detail
    settings.SANDBOX_ALLOW_MISSING = ["namespaces"]
    checks = doctor.check_sandbox()
    assert _status(checks, "sandbox: namespaces")[0] == doctor.WARN and _status(checks, "sandbox runs code")[0] == doctor.OK


def test_a_missing_presidio_model_fails(settings, tmp_path):
    settings.SPACY_MODEL_PATH = str(tmp_path)
    assert doctor.check_presidio().status == doctor.FAIL


def test_a_data_folder_open_to_other_users_fails(settings, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    settings.DATA_DIR = folder
    assert doctor.check_data_folder().status == doctor.OK
    folder.chmod(0o755)
    check = doctor.check_data_folder()
    assert check.status == doctor.FAIL and "chmod o-rwx" in check.detail
    settings.DATA_DIR = tmp_path / "absent"
    assert doctor.check_data_folder().status == doctor.FAIL


@pytest.mark.django_db
def test_a_master_key_that_does_not_unwrap_the_datasets_keys_fails(settings, workspace):
    import base64

    from workbench.datasets.models import Dataset
    from workbench.storage import new_data_key

    assert doctor.check_master_key().status == doctor.OK
    real = settings.MASTER_KEY_B64
    settings.MASTER_KEY_B64 = base64.b64encode(os.urandom(32)).decode()
    _, wrapped = new_data_key()  # stored under another master key than the one the site now has
    settings.MASTER_KEY_B64 = real
    Dataset.objects.create(workspace=workspace, name="other key", wrapped_key=wrapped)
    check = doctor.check_master_key()
    assert check.status == doctor.FAIL and "does not unwrap" in check.detail


def test_too_little_free_disk_fails(settings):
    settings.DOCTOR_MIN_FREE_BYTES = 10**18
    assert doctor.check_disk().status == doctor.FAIL


@pytest.mark.django_db
def test_the_command_exits_non_zero_and_site_admins_see_the_failures_on_the_home_page(settings, client, tmp_path):
    from workbench.accounts.actions import create_user

    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    settings.DATA_DIR = folder
    settings.SANDBOX_BWRAP = "/nonexistent/bwrap"
    with pytest.raises(CommandError, match="check\\(s\\) failed"):
        call_command("doctor", "--before-start", "--skip-generation")
    admin = create_user(username="root-admin", password="correct-horse-battery")
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    html = client.get("/").content.decode()
    assert "Site health" in html and "sandbox: namespaces" in html and "apt-get install bubblewrap" in html
    analyst = create_user(username="someone", password="correct-horse-battery")
    client.force_login(analyst)
    assert "Site health" not in client.get("/").content.decode()


def test_make_and_the_image_build_llama_cpp_with_the_same_portable_flags_and_the_compose_files_allow_the_sandbox():
    import re

    import yaml

    makefile = (ROOT / "Makefile").read_text()
    flags = re.search(r"^LLAMA_CMAKE_ARGS \?= (.*?)\n(?!\t)", makefile, re.S | re.M).group(1)
    make_flags = " ".join(flags.replace("\\\n", " ").split())
    image_flags = re.search(r'^ARG LLAMA_CMAKE_ARGS="(.*)"$', (ROOT / "Dockerfile").read_text(), re.M).group(1)
    assert make_flags == image_flags
    assert "-DGGML_NATIVE=OFF" in make_flags and "-DGGML_AMX_TILE=OFF" in make_flags and "-DGGML_AVX512=OFF" in make_flags
    assert not re.search(r"^llama-cpp-python==", (ROOT / "requirements.txt").read_text(), re.M)  # a plain pip install builds natively
    for name, services in (("docker-compose.yml", ("worker", "worker-gpu")), ("docker-compose.gpu-node.yml", ("worker-gpu",))):
        compose = yaml.safe_load((ROOT / name).read_text())
        for service in services:
            assert {"seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined"} <= set(
                compose["services"][service]["security_opt"]
            )
