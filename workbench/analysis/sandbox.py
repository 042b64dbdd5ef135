"""Run generated code in a box: a fresh process per run, in a private folder that holds only the safe tier's
Parquet file, with an empty environment (no secrets, no settings), resource limits, a wall clock, and inside it
Landlock and seccomp (see `_child.py`). The parent decides nothing from what the code says; it reads the result
file the child wrote, with caps on every size, and turns how the process ended into a clear message.

RAW data never enters the box: callers pass the safe tier's plain Parquet (written into the folder here and
removed afterwards), and the data key, the master key and the settings stay in the worker's own process.
"""

import ctypes
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHILD = Path(__file__).with_name("_child.py")
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000
_WROTE_TOO_MUCH = "The code wrote more than {} MB (printed output counts) and was stopped."


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 60
    wall_seconds: float = 90.0
    memory_bytes: int = 4 * 1024**3
    file_bytes: int = 64 * 1024**2
    output_bytes: int = 64 * 1024  # printed output kept (head)
    figure_bytes: int = 5 * 1024**2
    table_rows: int = 200
    open_files: int = 256
    processes: int = 256  # threads count too (numpy, Arrow); new processes are refused by seccomp anyway

    @classmethod
    def from_settings(cls) -> "Limits":
        """The site's limits (WORKBENCH_SANDBOX_CPU_SECONDS, _WALL_SECONDS, _MEMORY); the rest as above."""
        from django.conf import settings

        return cls(
            cpu_seconds=settings.SANDBOX_CPU_SECONDS, wall_seconds=settings.SANDBOX_WALL_SECONDS, memory_bytes=settings.SANDBOX_MEMORY_BYTES
        )


@dataclass
class Outcome:
    ok: bool
    stdout: str = ""
    error: dict | None = None
    result: dict | None = None
    figures: list = field(default_factory=list)
    seconds: float = 0.0
    layers: dict = field(default_factory=dict)

    @property
    def error_text(self) -> str:
        if not self.error:
            return ""
        return (self.error.get("traceback", "") + self.error.get("message", "")).strip()

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "stdout": self.stdout,
            "error": self.error,
            "result": self.result,
            "figures": self.figures,
            "seconds": round(self.seconds, 3),
            "layers": self.layers,
        }


def run(code: str, data_file: str | Path | None, *, limits: Limits | None = None, scratch: str | Path | None = None) -> Outcome:
    """Run `code` with `df` read from `data_file` (plain Parquet of the safe tier); never raises for the code's faults."""
    limits = limits or Limits()
    base = Path(scratch) if scratch else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="sandbox-", dir=base))  # mode 0700
    try:
        job = {"code": code, "limits": limits.__dict__, "data_file": None}
        if data_file:
            shutil.copyfile(data_file, workdir / "data.parquet")
            job["data_file"] = "data.parquet"
        (workdir / "job.json").write_text(json.dumps(job))
        started = time.monotonic()
        with open(workdir / "stdout.txt", "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-I", "-B", str(CHILD)],
                cwd=workdir,
                env=_environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=lambda: _limit(limits),  # noqa: PLW1509 — runs in the child between fork and exec
                start_new_session=True,
                close_fds=True,
            )
            try:
                process.wait(timeout=limits.wall_seconds)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            _kill_group(process)
        seconds = time.monotonic() - started
        stdout = _head(workdir / "stdout.txt", limits.output_bytes)
        if (workdir / "stdout.txt").stat().st_size >= limits.file_bytes:
            return Outcome(
                False,
                stdout,
                {"type": "SandboxStopped", "message": _WROTE_TOO_MUCH.format(limits.file_bytes // 1024**2)},
                seconds=time.monotonic() - started,
            )
        document = _read_result(workdir / "result.json", limits)
        return _outcome(process.returncode, timed_out, stdout, document, seconds, limits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _environment() -> dict:
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/nonexistent",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _limit(limits: Limits) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    except (ValueError, OSError):
        pass
    # a network namespace of its own (no interfaces but a down loopback) where the host allows user namespaces
    libc = ctypes.CDLL(None, use_errno=True)
    libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _head(path: Path, cap: int) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read(cap + 1)
    except FileNotFoundError:
        return ""
    text = data[:cap].decode("utf-8", errors="replace")
    return text + ("\n… (output cut at the cap)" if len(data) > cap else "")


def _read_result(path: Path, limits: Limits) -> dict | None:
    try:
        if path.stat().st_size > limits.file_bytes:
            return None
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _outcome(code: int, timed_out: bool, stdout: str, document: dict | None, seconds: float, limits: Limits) -> Outcome:
    if timed_out:
        return Outcome(
            False,
            stdout,
            {"type": "Timeout", "message": f"The code took longer than {limits.wall_seconds:g} s and was stopped."},
            seconds=seconds,
        )
    if document is not None:
        return Outcome(
            bool(document.get("ok")),
            stdout,
            document.get("error"),
            document.get("result"),
            document.get("figures", []),
            seconds,
            document.get("layers", {}),
        )
    # the process ended without a result: say why, from how it ended
    if code == -signal.SIGXCPU or code == -signal.SIGKILL and seconds < limits.wall_seconds:
        message = f"The code used more than {limits.cpu_seconds} s of CPU time and was stopped."
    elif code == -signal.SIGXFSZ:
        message = _WROTE_TOO_MUCH.format(limits.file_bytes // 1024**2)
    elif code == -signal.SIGSYS:
        message = "The code made a system call the sandbox forbids and was stopped."
    elif "MemoryError" in stdout or code == -signal.SIGSEGV or code == -signal.SIGABRT:
        message = f"The code ran out of memory (limit {limits.memory_bytes // 1024**2:,} MB) or crashed the interpreter."
    elif "Landlock is not available" in stdout or "landlock_" in stdout:
        message = "The sandbox could not lock the file system on this host (Landlock); the code was not run."
    else:
        message = f"The sandboxed process ended without a result (exit status {code})."
    return Outcome(False, stdout, {"type": "SandboxStopped", "message": message}, seconds=seconds)
