"""A control group of its own for each sandbox run: memory (the kernel's included: file-system slab, tmpfs pages,
pipe buffers), processes and threads, and CPU, bounded for the whole box and not only for one process's address space.

Resource limits (`setrlimit`) are per process or per user and leave out what the kernel allocates on a process's
behalf: a box that creates 200,000 empty files or 3,000 threads passes every rlimit. A memory cgroup charges those to
the box, and its end (`cgroup.kill`, or a kill of each task, then `rmdir`) frees them.

Both cgroup versions are used: the unified hierarchy (v2) where the worker's own cgroup delegates memory and pids to
its children (systemd's `Delegate=yes`, Docker's private cgroup namespace), else the v1 hierarchies of a hybrid host.
`WORKBENCH_SANDBOX_CGROUP` names the parent folder to use when the worker's own cgroup is not the right one. Where no
hierarchy can be written, the run goes on with rlimits alone and `manage.py doctor` says what is lost.
"""

import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "workbench-box-"
CPU_PERIOD = 100_000  # µs: one CPU's worth per period


@dataclass
class Group:
    """The folders of one run's cgroup (one for v2; one per controller for v1) and how it is limited."""

    version: int
    folders: dict[str, Path] = field(default_factory=dict)  # controller ("unified", "memory", "pids", "cpu") -> folder

    def procs_files(self) -> list[str]:
        return sorted({str(folder / "cgroup.procs") for folder in self.folders.values()})

    def join(self) -> None:
        """Moves the calling process into the group. Runs between fork and exec (the box's first process): no
        allocation-heavy work, only writes; raises OSError when it fails, so that the box does not start."""
        for path in self.procs_files():
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

    def holds(self, pid: int) -> bool:
        """Whether the kernel puts `pid` in this group (read from outside, like the other layers)."""
        try:
            text = Path(f"/proc/{pid}/cgroup").read_text()
        except OSError:
            return False
        names = {folder.name for folder in self.folders.values()}
        found = {line.rsplit("/", 1)[-1] for line in text.splitlines()}
        return names <= found

    def oom_killed(self) -> bool:
        folder = self.folders.get("unified") or self.folders.get("memory")
        if folder is None:
            return False
        for name in ("memory.events", "memory.oom_control"):
            try:
                for line in (folder / name).read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill" and value.strip() not in ("", "0"):
                        return True
            except OSError:
                continue
        return False

    def remove(self) -> None:
        """Kills whatever is left in the group, then removes it (a few tries: the kernel frees the tasks first)."""
        for folder in self.folders.values():
            kill = folder / "cgroup.kill"
            if kill.exists():
                try:
                    kill.write_text("1")
                except OSError:
                    pass
        for attempt in range(50):
            left = False
            for folder in self.folders.values():
                try:
                    pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                except (OSError, ValueError):
                    pids = []
                for pid in pids:
                    left = True
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
            if not left:
                break
            time.sleep(0.02 * (attempt + 1))
        self._reclaim()
        for folder in self.folders.values():
            for _ in range(20):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)

    def _reclaim(self) -> None:
        """Frees what the run left charged to its group (reclaimable kernel memory: the dentries of names it looked
        up, negative ones included), which would otherwise be handed to the parent group and stay in the host's slab."""
        folder = self.folders.get("unified")
        targets = [(folder, "memory.reclaim", str(1 << 40))] if folder else []
        if "memory" in self.folders:
            targets.append((self.folders["memory"], "memory.force_empty", "0"))
        for target, name, value in targets:
            try:
                (target / name).write_text(value)
            except OSError:  # nothing left to reclaim (EAGAIN), or a kernel without the file
                pass


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file-system type, options) of the cgroup file systems this process sees."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        point = fields[4].replace("\\040", " ")
        found.append((point, tail[0], set(tail[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup per hierarchy: '' -> the v2 path, a controller name -> its v1 path."""
    paths = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if not controllers:
            paths[""] = path
        for name in controllers.split(","):
            if name:
                paths[name] = path
    return paths


def _parent_v2(configured: str | None) -> tuple[Path | None, str]:
    mounts = [m for m in _mounts() if m[1] == "cgroup2"]
    if configured:
        parent = Path(configured)
    elif not mounts:
        return None, "no cgroup v2 hierarchy is mounted"
    else:
        parent = Path(mounts[0][0]) / _own_paths().get("", "/").lstrip("/")
    try:
        enabled = set((parent / "cgroup.subtree_control").read_text().split())
    except OSError as error:
        return None, f"{parent} cannot be read ({error.strerror})"
    wanted = {"memory", "pids"}
    if not wanted <= enabled:
        try:
            available = set((parent / "cgroup.controllers").read_text().split())
        except OSError:
            available = set()
        if not wanted <= available:
            return None, f"{parent} is not given the memory and pids controllers (it has: {', '.join(sorted(available)) or 'none'})"
        try:  # fails (EBUSY) when the folder holds processes itself: the worker's own cgroup usually does
            (parent / "cgroup.subtree_control").write_text(" ".join("+" + c for c in sorted(wanted | ({"cpu"} & available))))
        except OSError as error:
            return None, f"memory and pids cannot be delegated below {parent} ({error.strerror}); run the worker in a delegated cgroup"
    return parent, ""


def _parents_v1(configured: str | None) -> tuple[dict[str, Path], str]:
    own = _own_paths()
    parents = {}
    for point, kind, options in _mounts():
        if kind != "cgroup":
            continue
        for controller in ("memory", "pids", "cpu"):
            if controller in options and controller not in parents:
                relative = (configured or own.get(controller, "/")).lstrip("/")
                parents[controller] = Path(point) / relative
    if not {"memory", "pids"} <= set(parents):
        return {}, "no cgroup v1 hierarchy for memory and pids is mounted"
    return parents, ""


def _write(folder: Path, name: str, value: str, *, required: bool = True) -> None:
    try:
        (folder / name).write_text(value)
    except OSError:
        if required:
            raise


def create(*, memory_bytes: int, processes: int, cpus: float = 1.0, configured: str | None = None) -> tuple[Group | None, str]:
    """A new cgroup for one run, limited; (None, why) when the host gives none to this worker."""
    name = f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"  # the worker's pid: `sweep` knows whose it was
    parent, why_v2 = _parent_v2(configured)
    if parent is not None:
        folder = parent / name
        try:
            folder.mkdir()
            _write(folder, "memory.max", str(memory_bytes))
            _write(folder, "memory.swap.max", "0", required=False)
            _write(folder, "pids.max", str(processes))
            _write(folder, "cpu.max", f"{int(CPU_PERIOD * cpus)} {CPU_PERIOD}", required=False)
            return Group(2, {"unified": folder}), ""
        except OSError as error:
            Group(2, {"unified": folder}).remove()
            why_v2 = f"{folder} could not be made or limited ({error.strerror})"
    parents, why_v1 = _parents_v1(configured)
    if not parents:
        return None, f"{why_v2}; {why_v1}"
    group = Group(1)
    try:
        for controller, parent in parents.items():
            folder = parent / name
            folder.mkdir()
            group.folders[controller] = folder
        memory = group.folders["memory"]
        _write(memory, "memory.limit_in_bytes", str(memory_bytes))
        _write(memory, "memory.memsw.limit_in_bytes", str(memory_bytes), required=False)
        _write(memory, "memory.swappiness", "0", required=False)
        _write(group.folders["pids"], "pids.max", str(processes))
        if "cpu" in group.folders:
            _write(group.folders["cpu"], "cpu.cfs_period_us", str(CPU_PERIOD), required=False)
            _write(group.folders["cpu"], "cpu.cfs_quota_us", str(int(CPU_PERIOD * cpus)), required=False)
        return group, ""
    except OSError as error:
        group.remove()
        return None, f"{why_v2}; the v1 hierarchies could not be used ({error.strerror})"


def sweep(configured: str | None = None) -> int:
    """Removes the groups of workers that are gone (a worker killed mid-run leaves its box's group behind); a live
    worker's groups are left alone."""
    candidates = []
    parent, _ = _parent_v2(configured)
    if parent is not None:
        candidates += [Group(2, {"unified": p}) for p in parent.glob(PREFIX + "*")]
    parents, _ = _parents_v1(configured)
    for controller, folder in parents.items():
        candidates += [Group(1, {controller: p}) for p in folder.glob(PREFIX + "*")]
    removed = 0
    for group in candidates:
        folder = next(iter(group.folders.values()))
        owner = folder.name[len(PREFIX) :].split("-", 1)[0]
        if owner.isdigit() and Path(f"/proc/{owner}").exists():
            continue
        group.remove()
        removed += not folder.exists()
    return removed
