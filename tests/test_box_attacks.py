"""The box, attacked again after it held the first 128 attempts (`tests/test_sandbox.py`): the classes an independent
tester got through with, each with attempts written for this round, run as root (the tests run as root).

1. Host inodes: the box's root could chmod the host's /dev/null. Every host inode the box can see (the Python tree,
   the child's file, the loader cache, the device nodes) must be unchanged after every attempt — mode, owner, times —
   and no lease or lock may be left on one.
2. Host-wide resources: the machine's asynchronous I/O contexts, kernel memory in empty files and extended
   attributes, threads past the cap. After each attempt the host's aio-nr, process count and slab are where they were.
3. The parser: whatever the box writes, the worker gets an Outcome, never an exception (and hypothesis fuzzes it).
4. Charts: a figure can only draw (the allowlist in `workbench.analysis.charts`); the browser test of the owner's
   pages is in `tests/test_hostile_output.py`.
5. The notebook: what the sandbox refused, or what names things the sandbox did not give, is not a cell to rerun.
"""

import json
import os
import re
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.test_sandbox import ESCAPES
from workbench.analysis import boxgroup, charts, sandbox
from workbench.analysis.sandbox import Limits, parse_result, run

QUICK = Limits(cpu_seconds=10, wall_seconds=40, memory_bytes=2 * 1024**3, file_bytes=64 * 1024**2)
OS = "pd.io.common.os"
CT = f'{OS}.sys.modules["ctypes"]'
LIBC = f"c = {CT}\nlibc = c.CDLL(None, use_errno=True)\n"
# a file of the Python tree, named without a dunder (the Python layer refuses those before the OS layers are reached)
VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"
TREE_FILE = f'{OS}.path.join({OS}.sys.base_prefix, "lib", "{VERSION}", "os.py")'
TREE_DIR = f'{OS}.path.join({OS}.sys.base_prefix, "lib", "{VERSION}")'
HOST_TREE_FILE = os.path.join(sys.base_prefix, "lib", VERSION, "os.py")
REFUSED = r"Operation not permitted|Permission denied|Read-only file system|Invalid cross-device|rc -1 (1|13|18|30)\b"


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("safe") / "synthetic.parquet"
    pd.DataFrame({"sex": ["F", "M", "F"], "creatinine": [0.8, 1.1, 0.7]}).to_parquet(path)
    return path


# --- 1. host inodes -------------------------------------------------------------------------------------------------


def _visible_host_paths() -> list[str]:
    """Every host path bound into the box: the Python tree (walked), the child, the loader cache, the devices."""
    roots = [*sandbox._python_tree(), str(sandbox.CHILD), "/etc/ld.so.cache"]
    paths = [node for node in sandbox.DEVICES if os.path.exists(node)]
    for root in roots:
        real = os.path.realpath(root)
        if os.path.isfile(real):
            paths.append(real)
            continue
        for folder, folders, files in os.walk(real):
            folders[:] = [f for f in folders if f != "__pycache__"]  # the tests' own imports write these
            paths.append(folder)
            paths += [os.path.join(folder, name) for name in files]
    return paths


def _inode_state(path: str):
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if os.path.isdir(path):  # a folder's times move when the host writes a .pyc into it: its mode and owner only
        return (info.st_mode, info.st_uid, info.st_gid)
    return (info.st_mode, info.st_uid, info.st_gid, info.st_mtime_ns, info.st_ctime_ns)


def _locks() -> set[str]:
    """The host's file locks and leases, by kind and inode (not by pid: the box's pids are its own)."""
    return {" ".join(line.split()[1:3] + line.split()[5:6]) for line in Path("/proc/locks").read_text().splitlines()}


@pytest.fixture(scope="module")
def host_inodes():
    paths = _visible_host_paths()
    return {"paths": paths, "before": {p: _inode_state(p) for p in paths}, "locks": _locks()}


HOST_INODES = {
    "chmod the host's /dev/null": (f'{OS}.chmod("/dev/null", 0)', REFUSED),
    "chmod /dev/zero by the raw fchmodat call": (LIBC + 'print("rc", libc.syscall(268, -100, b"/dev/zero", 0), c.get_errno())', REFUSED),
    "fchmodat2 on /dev/urandom": (LIBC + 'print("rc", libc.syscall(452, -100, b"/dev/urandom", 0, 0), c.get_errno())', REFUSED),
    "set the times of /dev/null": (f'{OS}.utime("/dev/null", (0, 0))', REFUSED),
    "touch /dev/random (times now, which needs only write access)": (f'{OS}.utime("/dev/random")', REFUSED),
    "utimensat on the child's own file": (f'{OS}.utime("/sandbox/child.py", (0, 0))', REFUSED),
    "chown a device node": (f'{OS}.chown("/dev/zero", 65534, 65534)', REFUSED),
    "chown a file of the Python tree": (f"{OS}.chown({TREE_FILE}, 65534, 65534)", REFUSED),
    "chmod a file of the Python tree": (f"{OS}.chmod({TREE_FILE}, 0o777)", REFUSED),
    "write into a file of the Python tree": (f"{OS}.open({TREE_FILE}, {OS}.O_WRONLY | {OS}.O_APPEND)", REFUSED),
    "truncate a file of the Python tree": (f"{OS}.truncate({TREE_FILE}, 0)", REFUSED),
    "rename a file of the Python tree": (f'{OS}.rename({TREE_FILE}, {TREE_FILE} + ".x")', REFUSED),
    "a lease on a file of the Python tree": (
        LIBC + f"fd = {OS}.open({TREE_FILE}, {OS}.O_RDONLY)\n"
        'print("rc", libc.fcntl(fd, 1024, 0), c.get_errno())\nimport time\ntime.sleep(2)',
        REFUSED,
    ),
    "a write lease on the loader cache": (
        LIBC + f'fd = {OS}.open("/etc/ld.so.cache", {OS}.O_RDONLY)\nprint("rc", libc.fcntl(fd, 1024, 1), c.get_errno())',
        REFUSED,
    ),
    "flock a file of the Python tree": (
        LIBC + f'fd = {OS}.open({TREE_FILE}, {OS}.O_RDONLY)\nprint("rc", libc.flock(fd, 2), c.get_errno())\nimport time\ntime.sleep(2)',
        REFUSED,
    ),
    "a POSIX lock through fcntl F_SETLK": (
        LIBC + f"fd = {OS}.open({TREE_FILE}, {OS}.O_RDONLY)\n"
        'lock = (c.c_short * 16)()\nprint("rc", libc.fcntl(fd, 6, c.byref(lock)), c.get_errno())',
        REFUSED,
    ),
    "an open-file-description lock (F_OFD_SETLK)": (
        LIBC + f"fd = {OS}.open({TREE_FILE}, {OS}.O_RDONLY)\n"
        'lock = (c.c_short * 16)()\nprint("rc", libc.fcntl(fd, 37, c.byref(lock)), c.get_errno())',
        REFUSED,
    ),
    # the red team's: the kernel reads fcntl's command as 32 bits, a filter comparing 64 let high bits slip past
    "F_SETLK with the high bits of the command set": (
        LIBC + f"fd = {OS}.open({TREE_FILE}, {OS}.O_RDONLY)\nlock = (c.c_short * 16)()\n"
        'print("rc", libc.syscall(c.c_long(72), c.c_long(fd), c.c_long(6 | (1 << 32)), c.byref(lock)), c.get_errno())\nimport time\ntime.sleep(2)',
        REFUSED,
    ),
    "F_OFD_SETLK with the high bits set": (
        LIBC + f"fd = {OS}.open({TREE_FILE}, {OS}.O_RDONLY)\nlock = (c.c_short * 16)()\n"
        'print("rc", libc.syscall(c.c_long(72), c.c_long(fd), c.c_long(37 | (1 << 32)), c.byref(lock)), c.get_errno())',
        REFUSED,
    ),
    "F_NOTIFY with the high bits set": (
        LIBC + f"fd = {OS}.open({TREE_DIR}, {OS}.O_RDONLY)\n"
        'print("rc", libc.syscall(c.c_long(72), c.c_long(fd), c.c_long(1026 | (1 << 32)), c.c_long(0x80000001)), c.get_errno())',
        REFUSED,
    ),
    "directory notifications on the Python tree (F_NOTIFY)": (
        LIBC + f'fd = {OS}.open({TREE_DIR}, {OS}.O_RDONLY)\nprint("rc", libc.fcntl(fd, 1026, 0x80000001), c.get_errno())',
        REFUSED,
    ),
    "an extended attribute on a device node": (f'{OS}.setxattr("/dev/null", "user.x", b"1")', REFUSED),
    "a trusted extended attribute on the Python tree": (f'{OS}.setxattr({TREE_FILE}, "trusted.x", b"1")', REFUSED),
    "remove an extended attribute of the Python tree": (f'{OS}.removexattr({TREE_FILE}, "security.selinux")', REFUSED),
    "a new device node in /dev": (f'{OS}.mknod("/dev/mine", 0o20666, {OS}.makedev(1, 3))', REFUSED),
    "a file in /dev": ('open("/dev/planted", "w")', r"only in the working folder|Permission denied|Read-only"),
    "a file in /dev through os": (f'{OS}.open("/dev/planted", {OS}.O_CREAT | {OS}.O_WRONLY)', REFUSED),
    "a hard link to a device node": (f'{OS}.link("/dev/null", "null2")', REFUSED + r"|Invalid cross-device"),
    "remove a device node": (f'{OS}.unlink("/dev/zero")', REFUSED),
    "replace /dev/null by a rename": (f'open("n", "w").close()\n{OS}.rename("n", "/dev/null")', REFUSED + r"|Invalid cross-device"),
    "the tty of the host": (f'{OS}.open("/dev/tty", {OS}.O_RDWR)', REFUSED + r"|No such file"),
    "the host's /dev/full": (f'{OS}.utime("/dev/full")', REFUSED + r"|No such file"),
    "chmod through /proc/self/root": (f'{OS}.chmod("/proc/self/root/dev/null", 0)', REFUSED + r"|No such file"),
    "become root again": (f"{OS}.setuid(0)", REFUSED),
    "take the capabilities back with capset": (
        LIBC + "head = (c.c_uint32 * 2)(0x20080522, 0)\ndata = (c.c_uint32 * 6)(0xffffffff, 0xffffffff, 0, 0xffffffff, 0xffffffff, 0)\n"
        'print("rc", libc.capset(head, data), c.get_errno())',
        REFUSED,
    ),
    "write a user namespace's map to be root": ('open("/proc/self/uid_map", "w").write("0 0 1")', REFUSED + r"|only in the working folder"),
}


@pytest.mark.parametrize("name", list(HOST_INODES))
def test_no_host_inode_the_box_can_see_is_changed(name, table, host_inodes):
    code, refused = HOST_INODES[name]
    outcome = run(code, table, limits=QUICK)
    text = outcome.error_text + outcome.stdout
    assert re.search(refused, text), f"{name}: {text[-400:]}"
    assert outcome.layers.get("namespaces") and outcome.layers.get("seccomp") is True, outcome.layers
    for path in ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", str(sandbox.CHILD), "/etc/ld.so.cache", HOST_TREE_FILE):
        assert _inode_state(path) == host_inodes["before"].get(path, _inode_state(path)), f"{name} changed {path}"
    assert _locks() <= host_inodes["locks"], f"{name} left a lock or lease on the host: {_locks() - host_inodes['locks']}"


def test_the_box_runs_as_an_unprivileged_uid_seen_from_the_host(table):
    """The box's processes (those in its pid namespace), read from the host while the code runs: not uid or gid 0,
    no capability, in the run's own cgroup. bubblewrap's waiting parent stays outside the box's namespaces."""
    latest, memory = {}, []
    done = threading.Event()
    own_pid_namespace = os.readlink("/proc/self/ns/pid")

    def watch():
        while not done.is_set():
            for folder in _box_groups():
                for name in ("memory.current", "memory.usage_in_bytes"):
                    if (folder / name).exists():
                        memory.append(int((folder / name).read_text()))
                for pid in (folder / "cgroup.procs").read_text().split():
                    try:
                        if os.readlink(f"/proc/{pid}/ns/pid") == own_pid_namespace:
                            continue
                        status = Path(f"/proc/{pid}/status").read_text()
                    except OSError:
                        continue
                    latest[pid] = {k: v.split() for k, _, v in (line.partition(":") for line in status.splitlines())}
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        code = 'for i in range(100000):\n    open(f"f{i}", "w").close()\nimport time\ntime.sleep(2)\nresult = 1'
        outcome = run(code, table, limits=QUICK)
    finally:
        done.set()
        watcher.join()
    assert outcome.ok and outcome.layers.get("cgroup") is True, (outcome.error, outcome.layers)
    assert latest, "no process of the box was found in a box cgroup"
    for status in latest.values():
        assert "0" not in status["Uid"] and "0" not in status["Gid"], status["Uid"]
        assert status["CapEff"] == ["0000000000000000"] and status["CapPrm"] == ["0000000000000000"]
    # the kernel's memory for 100,000 empty files is charged to the box (a tmpfs size and RLIMIT_AS would not see it)
    assert max(memory) - min(memory) > 50 * 1024**2, (min(memory), max(memory))


def _box_groups() -> list[Path]:
    """This test process's box cgroups (a worker running beside the tests has its own, named by its pid)."""
    found = []
    for point in ("/sys/fs/cgroup", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory"):
        found += [p for p in Path(point).rglob(f"{boxgroup.PREFIX}{os.getpid()}-*") if p.is_dir()] if os.path.isdir(point) else []
    return found


# --- 2. host-wide resources -----------------------------------------------------------------------------------------


def _host() -> dict:
    meminfo = {line.split(":")[0]: int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()}
    return {
        "aio": int(Path("/proc/sys/fs/aio-nr").read_text()),
        "pids": len([p for p in os.listdir("/proc") if p.isdigit()]),
        "slab_kb": meminfo["Slab"],
        "groups": len(_box_groups()),
    }


RESOURCES = {
    "the machine's whole aio-max-nr": (
        LIBC + 'ctx = c.c_ulong(0)\nprint("rc", libc.syscall(206, 65536, c.byref(ctx)), c.get_errno())',
        REFUSED,
    ),
    "io_submit without a context": (LIBC + 'print("rc", libc.syscall(209, 0, 0, 0), c.get_errno())', REFUSED),
    "io_uring": (LIBC + 'p = (c.c_char * 120)()\nprint("rc", libc.syscall(425, 4096, p), c.get_errno())', REFUSED),
    "64 KB user xattrs in the tmpfs": (
        f'open("x", "w").close()\nfor i in range(16000):\n    {OS}.setxattr("x", f"user.a{{i}}", b"1" * 65536)',
        REFUSED,
    ),
    "setxattrat, which libseccomp 2.5 does not know by name": (
        LIBC + "class XA(c.Structure):\n    _fields_ = [('value', c.c_uint64), ('size', c.c_uint32), ('flags', c.c_uint32)]\n"
        "open('x', 'w').close()\nv = c.create_string_buffer(b'1' * 65536)\n"
        "a = XA(c.cast(v, c.c_void_p).value, 65536, 0)\n"
        'print("rc", libc.syscall(c.c_long(463), c.c_long(-100), b"x", c.c_uint(0), b"user.a", c.byref(a), c.c_size_t(16)), c.get_errno())',
        REFUSED,
    ),
    "removexattrat by number": (
        LIBC
        + 'open("x", "w").close()\nprint("rc", libc.syscall(c.c_long(466), c.c_long(-100), b"x", c.c_uint(0), b"user.a"), c.get_errno())',
        REFUSED,
    ),
    "a system call newer than the filter's list": (
        LIBC + 'print("rc", libc.syscall(c.c_long(490), 0, 0, 0), c.get_errno())',
        r"rc -1 38\b",
    ),
    "a million lookups of missing names (negative dentries in the host's slab)": (
        f'exists = {OS}.path.exists\nbase = {TREE_DIR} + "/nx"\nfor i in range(1000000):\n    exists(base + str(i))\nprint("looked", i + 1)',
        r"looked 1000000",
    ),
    "xattrs through lsetxattr on a link": (f'{OS}.symlink("x", "l")\n{OS}.setxattr("l", "user.a", b"1", follow_symlinks=False)', REFUSED),
    "100,000 empty files (kernel slab)": (
        'n = 0\ntry:\n    for i in range(100000):\n        open(f"f{i}", "w").close()\n        n += 1\nexcept OSError as e:\n    print("stopped", e)\nprint("files", n)',
        r"files \d+",
    ),
    "100,000 empty folders": (
        f'n = 0\ntry:\n    for i in range(100000):\n        {OS}.mkdir(f"d{{i}}")\n        n += 1\nexcept OSError as e:\n    print("stopped", e)\nprint("dirs", n)',
        r"dirs \d+",
    ),
    "3,000 threads under a cap of 256": (
        f'threading = {OS}.sys.modules["threading"]\nstop = threading.Event()\nn = 0\ntry:\n'
        "    for i in range(3000):\n        threading.Thread(target=stop.wait, daemon=True).start()\n        n += 1\n"
        'except RuntimeError as e:\n    print("stopped", e)\nprint("threads", n)\nstop.set()',
        r"stopped .*\n?threads ([0-9]{1,2}|1[0-9]{2}|2[0-4][0-9]|25[0-6])\b",
    ),
    "threads with tiny stacks past the cap": (
        f'threading = {OS}.sys.modules["threading"]\nthreading.stack_size(32768)\nstop = threading.Event()\nn = 0\ntry:\n'
        "    for i in range(3000):\n        threading.Thread(target=stop.wait, daemon=True).start()\n        n += 1\n"
        'except RuntimeError as e:\n    print("stopped", e)\nprint("threads", n)\nstop.set()',
        r"threads ([0-9]{1,2}|1[0-9]{2}|2[0-4][0-9]|25[0-6])\b",
    ),
    "pipes with 1 MB buffers": (
        LIBC + "fds = []\ntry:\n    for i in range(120):\n        r, w = " + OS + ".pipe()\n        libc.fcntl(w, 1031, 1048576)\n"
        "        " + OS + ".set_blocking(w, False)\n        try:\n            " + OS + '.write(w, b"1" * 1048576)\n'
        '        except BlockingIOError:\n            pass\n        fds += [r, w]\nexcept OSError as e:\n    print("stopped", e)\nprint("pipes", len(fds) // 2)',
        r"pipes \d+",
    ),
    "fill the working folder past its size": (
        'try:\n    with open("big", "wb") as f:\n        for i in range(200):\n            f.write(b"1" * 1048576)\nexcept OSError as e:\n    print("stopped", e)',
        r"No space left|File too large|more than",
    ),
    "POSIX timers by the thousand": (
        LIBC
        + 'n = 0\nt = c.c_void_p()\nfor i in range(20000):\n    if libc.timer_create(1, None, c.byref(t)) != 0:\n        print("stopped", c.get_errno())\n        break\n    n += 1\nprint("timers", n)',
        r"timers \d+",
    ),
    "eventfds past the open-file cap": (
        LIBC
        + 'n = 0\nwhile n < 100000:\n    if libc.eventfd(0, 0) < 0:\n        print("stopped", c.get_errno())\n        break\n    n += 1\nprint("eventfds", n)',
        r"stopped 24\b",
    ),
    "memory that only the kernel holds (a 3 GB bytearray)": ("x = bytearray(3 * 1024**3)", r"MemoryError|memory"),
    "mlock a buffer": (
        LIBC + 'b = c.create_string_buffer(1 << 20)\nprint("rc", libc.mlock(b, 1 << 20), c.get_errno())',
        r"rc -1 (1|11|12)\b",
    ),
    "kernel keyrings": (LIBC + 'print("rc", libc.syscall(248, b"user", b"k", b"v", 1, -4), c.get_errno())', REFUSED),
    "a userfaultfd": (LIBC + 'print("rc", libc.syscall(323, 0), c.get_errno())', REFUSED),
    "perf events": (
        LIBC + 'a = (c.c_char * 128)()\nprint("rc", libc.syscall(298, a, 0, -1, -1, 0), c.get_errno())',
        REFUSED + r"|rc -1 22\b",
    ),
}


@pytest.mark.parametrize("name", list(RESOURCES))
def test_host_wide_resources_are_where_they_were_after_the_box(name, table):
    code, expected = RESOURCES[name]
    before = _host()
    outcome = run(code, table, limits=QUICK)
    text = outcome.error_text + outcome.stdout
    assert re.search(expected, text), f"{name}: {text[-400:]}"
    after = _host()
    assert after["aio"] == before["aio"], f"{name}: aio-nr {before['aio']} -> {after['aio']}"
    assert after["groups"] == before["groups"] == 0, f"{name}: a box cgroup outlived its run"
    assert after["pids"] <= before["pids"] + 5, f"{name}: {after['pids'] - before['pids']} processes outlived the box"
    assert after["slab_kb"] <= before["slab_kb"] + 64 * 1024, f"{name}: kernel slab {before['slab_kb']} -> {after['slab_kb']} kB"
    assert run("result = int(df.shape[0])", table, limits=QUICK).result == {"kind": "value", "value": 3}


def test_the_run_cgroup_is_limited_as_the_limits_say(table, monkeypatch):
    made = []
    create = boxgroup.create
    monkeypatch.setattr(boxgroup, "create", lambda **kw: made.append(create(**kw)) or made[-1])
    outcome = run("import time\ntime.sleep(0.5)\nresult = 1", table, limits=QUICK)
    group, _ = made[0]
    assert outcome.ok and group is not None
    assert not any(folder.exists() for folder in group.folders.values()), "the group outlived its run"


def test_the_groups_a_dead_worker_left_are_swept_and_a_live_workers_are_not():
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    group, why = boxgroup.create(memory_bytes=300 * 1024**2, processes=64)
    assert group is not None, why
    orphans = {}
    for controller, folder in group.folders.items():  # the same group, named as the dead worker's
        orphan = folder.with_name(f"{boxgroup.PREFIX}{dead.pid}-{folder.name.rsplit('-', 1)[-1]}")
        folder.rename(orphan)
        orphans[controller] = orphan
    live, _ = boxgroup.create(memory_bytes=300 * 1024**2, processes=64)
    try:
        assert boxgroup.sweep() >= 1
        assert not any(folder.exists() for folder in orphans.values())
        assert all(folder.exists() for folder in live.folders.values()), "a live worker's group was swept"
    finally:
        live.remove()
        boxgroup.Group(group.version, orphans).remove()


def test_a_group_limit_is_written_and_read_back():
    group, why = boxgroup.create(memory_bytes=300 * 1024**2, processes=64)
    assert group is not None, why
    try:
        folder = group.folders.get("unified") or group.folders["memory"]
        limit = (folder / ("memory.max" if group.version == 2 else "memory.limit_in_bytes")).read_text().strip()
        pids = (group.folders.get("unified") or group.folders["pids"]) / "pids.max"
        assert int(limit) == 300 * 1024**2 and pids.read_text().strip() == "64"
    finally:
        group.remove()
    assert not any(folder.exists() for folder in group.folders.values())


# --- 3. the parser cannot raise -------------------------------------------------------------------------------------

FRAMES = f"int({OS}.sys.argv[1])"


def _forge(document: str) -> str:
    return f"{OS}.write({FRAMES}, {document!r}.encode() + b'\\n')\n{OS}._exit(0)"


PARSER = {
    "result = 10**400": ("result = 10**400", None),
    "result = -(10**400)": ("result = -(10**400)", None),
    "a dict answer of huge integers": ('result = {"a": 10**400, "b": 2**70}', None),
    "a table whose rows are longer than its columns": (
        _forge('{"ok": true, "result": {"kind": "table", "columns": ["a"], "rows": [[1, 2, 3]], "total_rows": 1}}'),
        "malformed",
    ),
    "an indexed table with an empty row": (
        _forge('{"ok": true, "result": {"kind": "table", "columns": ["a", "b"], "rows": [[]], "total_rows": 1, "index_columns": 1}}'),
        "malformed",
    ),
    "a table of 500 columns": (
        _forge(
            json.dumps({"ok": True, "result": {"kind": "table", "columns": list(range(500)), "rows": [list(range(500))], "total_rows": 1}})
        ),
        None,
    ),
    "a record table of three columns": (
        _forge('{"ok": true, "result": {"kind": "table", "columns": ["a","b","c"], "rows": [[1,2,3]], "total_rows": 1, "record": true}}'),
        "malformed",
    ),
    "an integer of 5,000 digits in the result line": (
        _forge('{"ok": true, "result": {"kind": "value", "value": ' + "9" * 5000 + "}}"),
        "malformed",
    ),
    "NaN and Infinity in a table": (
        _forge('{"ok": true, "result": {"kind": "table", "columns": ["a"], "rows": [[NaN], [Infinity], [-Infinity]], "total_rows": 3}}'),
        None,
    ),
    "a figure of 9e15 that grows when written again": (
        _forge(
            json.dumps(
                {
                    "ok": True,
                    "figures": [
                        {
                            "name": "f",
                            "json": json.dumps({"data": [{"type": "bar", "y": [9e15] * 120000}]}).replace("9000000000000000.0", "9e15"),
                        }
                    ],
                }
            )
        ),
        None,
    ),
    "five figures just under the cap each": (
        _forge(
            json.dumps(
                {
                    "ok": True,
                    "figures": [{"name": f"f{i}", "json": json.dumps({"data": [{"type": "bar", "y": ["x" * 1900000]}]})} for i in range(5)],
                }
            )
        ),
        None,
    ),
    "a figure nested 10,000 deep": (_forge('{"ok": true, "figures": [{"name": "f", "json": "' + "[" * 10000 + '"}]}'), None),
    "a figure whose data is not a list": (_forge('{"ok": true, "figures": [{"name": "f", "json": "{\\"data\\": 5}"}]}'), None),
    "a figure name that is a number": (_forge('{"ok": true, "figures": [{"name": 5, "json": "{}"}]}'), "malformed"),
    "an error whose message is a list": (_forge('{"ok": false, "error": {"type": "X", "message": [1]}}'), "malformed"),
    "total_rows that is true": (
        _forge('{"ok": true, "result": {"kind": "table", "columns": [], "rows": [], "total_rows": true}}'),
        "malformed",
    ),
    "a lone surrogate in a column name": (
        _forge('{"ok": true, "result": {"kind": "table", "columns": ["\\ud800"], "rows": [[1]], "total_rows": 1}}'),
        None,
    ),
    "a table of 1E15 cells that grows fourfold when written again": (
        _forge(
            json.dumps(
                {"ok": True, "result": {"kind": "table", "columns": list(range(100)), "rows": [["1E15"] * 100] * 200, "total_rows": 200}}
            ).replace('"1E15"', "1E15")
        ),
        None,
    ),
    "a 6 MB table of long texts": (
        _forge(
            json.dumps(
                {"ok": True, "result": {"kind": "table", "columns": list(range(100)), "rows": [["x" * 300] * 100] * 200, "total_rows": 200}}
            )
        ),
        "malformed",
    ),
    "a table of emoji that is three times larger once stored": (
        "result = pd.DataFrame([['\\U0001F600' * 1000] * 5 for _ in range(200)], columns=list('abcde'))",
        "malformed",
    ),
    "five figures of emoji written as raw UTF-8": (
        f"import json\nfigure = json.dumps({{'data': [{{'type': 'bar', 'y': [1], 'name': '\\U0001F600' * 250000}}]}}, ensure_ascii=False)\n"
        f"line = json.dumps({{'ok': True, 'figures': [{{'name': f'f{{i}}', 'json': figure}} for i in range(5)]}}, ensure_ascii=False)\n"
        f"{OS}.write({FRAMES}, line.encode() + b'\\n')\n{OS}._exit(0)",
        None,
    ),
    "a result that is a list": (_forge('{"ok": true, "result": [1, 2]}'), "malformed"),
    "ok that is a string": (_forge('{"ok": "yes"}'), "malformed"),
}


@pytest.mark.parametrize("name", list(PARSER))
def test_whatever_the_box_writes_the_worker_gets_an_outcome(name, table):
    code, expected = PARSER[name]
    outcome = run(code, table, limits=QUICK)  # the test is that this returns: run() must never raise
    assert isinstance(outcome, sandbox.Outcome)
    if expected:
        assert expected in outcome.error_text, f"{name}: {outcome.error_text[-300:]}"
    stored = json.dumps(outcome.to_json(), ensure_ascii=False, allow_nan=False)  # what the worker stores: no NaN, no raise
    assert stored.encode("utf-8", "strict")
    sizes = [len(json.dumps(f["json"])) for f in outcome.figures if "json" in f]  # as the sealed record holds them
    assert all(size <= QUICK.figure_bytes for size in sizes) and sum(sizes) <= QUICK.figures_total_bytes, sizes
    assert len(json.dumps(outcome.result)) <= QUICK.result_stored_bytes
    if outcome.result and outcome.result.get("kind") == "table":
        width = len(outcome.result["columns"])
        assert all(len(row) == width for row in outcome.result["rows"])


# subnormal floats are left out: a library loaded in the test process (compiled with -ffast-math) may set flush-to-zero
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_subnormal=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=40,
)
_keys = st.sampled_from(
    [
        "ok",
        "result",
        "figures",
        "error",
        "kind",
        "columns",
        "rows",
        "total_rows",
        "index_columns",
        "record",
        "value",
        "json",
        "name",
        "type",
        "message",
        "traceback",
        "columns_name",
        "data",
        "layout",
    ]
)
_shaped = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_subnormal=False)
    | st.text(max_size=20)
    | st.sampled_from(["table", "value", "text", "bar"]),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(_keys, inner, max_size=8),
    max_leaves=60,
)


@hypothesis_settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(document=st.one_of(_json, _shaped, st.dictionaries(_keys, _shaped, max_size=8)))
def test_fuzzed_result_documents_always_end_as_an_outcome(document):
    """`parse_result` on documents shaped like results (the keys it reads, any values): an Outcome every time. The
    ten-minute run is `benchmarks/fuzz_parser.py`."""
    if isinstance(document, dict) and isinstance(document.get("figures"), list):
        document["figures"] = [
            {"name": "f", "json": json.dumps(f, allow_nan=True)} if isinstance(f, dict) else f for f in document["figures"]
        ]
    outcome = parse_result(document, Limits())
    assert isinstance(outcome, sandbox.Outcome)
    json.dumps(outcome.to_json(), allow_nan=False)


_figure_keys = st.sampled_from(
    [
        "data",
        "layout",
        "type",
        "x",
        "y",
        "z",
        "text",
        "name",
        "marker",
        "color",
        "title",
        "xaxis",
        "yaxis2",
        "annotations",
        "dtype",
        "bdata",
        "shape",
        "line",
        "colorscale",
        "values",
        "labels",
        "font",
        "range",
        "meta",
        "images",
    ]
)
_figure_shaped = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_subnormal=False)
    | st.text(max_size=20)
    | st.sampled_from(["bar", "scatter", "f8", "AAAA", "#fff", "rgb(1,2,3)"]),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(_figure_keys, inner, max_size=8),
    max_leaves=60,
)


@hypothesis_settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(figure=st.dictionaries(_figure_keys, _figure_shaped, max_size=6))
def test_fuzzed_figures_are_cleaned_or_refused_never_raise(figure):
    try:
        cleaned = charts.clean_figure(figure)
    except ValueError:
        return  # not a figure, or over the value cap: the documented refusal
    text = json.dumps(cleaned, allow_nan=False)
    assert "<" not in text and ">" not in text


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(line=st.binary(max_size=400) | _json.map(lambda d: json.dumps(d).encode()))
def test_fuzzed_frame_lines_always_parse_to_a_document_or_malformed(line):
    document = sandbox._parse_frame(line)
    assert isinstance(document, dict)
    assert isinstance(parse_result(document, Limits()), sandbox.Outcome)


# --- 4. charts that can only draw -----------------------------------------------------------------------------------

LINK = '<a href="/v/1/download?format=csv">x</a>'
STYLE = '<span style="background:url(/v/1/preview?page=2)">x</span>'
HOSTILE_FIGURES = {
    "a map style by URL": {"layout": {"map": {"style": "/v/1/preview?page=1"}, "mapbox": {"style": "http://203.0.113.7/s.json"}}},
    "map2 and geo": {"layout": {"map2": {"style": "/v/1/download?format=xlsx"}, "geo": {"bgcolor": "url(/v/1/preview)"}}},
    "a texttemplate link": {"data": [{"type": "bar", "y": [1], "texttemplate": LINK}]},
    "a hovertemplate style": {"data": [{"type": "bar", "y": [1], "hovertemplate": STYLE}]},
    "layout.meta substituted into text": {"layout": {"meta": [LINK], "title": {"text": "%{meta[0]}"}}},
    "updatemenus that relayout an image": {
        "layout": {"updatemenus": [{"buttons": [{"method": "relayout", "args": [{"images": [{"source": "/v/1/download?format=csv"}]}]}]}]}
    },
    "sliders and frames": {
        "layout": {"sliders": [{"steps": [{"method": "animate"}]}]},
        "frames": [{"layout": {"images": [{"source": "/x"}]}}],
    },
    "an image by URL": {"layout": {"images": [{"source": "/v/1/preview?page=3"}]}},
    "a template with a link title": {"layout": {"template": {"layout": {"title": {"text": LINK}}}}},
    "a link in a category label": {"data": [{"type": "bar", "x": [LINK, STYLE], "y": [1, 2]}]},
    "a link in a trace name and legend": {"data": [{"type": "scatter", "name": LINK, "y": [1], "legendgroup": STYLE}]},
    "a styled axis title": {"layout": {"xaxis": {"title": {"text": STYLE}}, "yaxis7": {"title": STYLE, "tickprefix": LINK}}},
    "ticktext and tickformat carrying markup": {"layout": {"xaxis": {"ticktext": [LINK], "tickvals": [0], "tickformat": "%Y<a href=/x>"}}},
    "an annotation link": {"layout": {"annotations": [{"text": LINK, "x": 0, "y": 0, "captureevents": True}]}},
    "a colour that is a url()": {
        "data": [{"type": "bar", "y": [1], "marker": {"color": "url(/v/1/preview)", "line": {"color": "url(#x)"}}}]
    },
    "a font family with url()": {"layout": {"font": {"family": "x;background:url(/v/1/preview)"}}},
    "entities that decode to markup": {"layout": {"title": {"text": "&lt;a href=/v/1/download&gt;x&lt;/a&gt;"}}},
    "a shape path": {"layout": {"shapes": [{"type": "path", "path": "M0 0 L1 1", "label": {"text": LINK}}]}},
    "an unknown trace type (scattermap) with a style": {
        "data": [{"type": "scattermap", "lat": [0], "lon": [0]}],
        "layout": {"map": {"style": "/x"}},
    },
    "a typed array whose bytes are not base64": {"data": [{"type": "bar", "y": {"dtype": "f8", "bdata": "<a href=/x>"}}]},
    "customdata fed into a hover": {"data": [{"type": "bar", "y": [1], "customdata": [LINK], "hovertemplate": "%{customdata}"}]},
    "a legend title and a colour-bar title": {
        "layout": {"legend": {"title": {"text": LINK}}, "coloraxis": {"colorbar": {"title": {"text": STYLE}}}}
    },
}


@pytest.mark.parametrize("name", list(HOSTILE_FIGURES))
def test_a_figure_keeps_only_what_draws_and_its_text_is_plain(name):
    figure = {"data": [], "layout": {}} | HOSTILE_FIGURES[name]
    cleaned = charts.clean_figure(figure)
    text = json.dumps(cleaned, ensure_ascii=False)
    for markup in ("<", ">", "&", "%{"):  # no tag, no entity, no substitution: text is only text
        assert markup not in text, f"{name}: {markup!r} survived in {text[:300]}"
    assert not _keys_in(cleaned) & FORBIDDEN_KEYS, f"{name}: {_keys_in(cleaned) & FORBIDDEN_KEYS}"
    assert "url(" not in json.dumps(_colours_in(cleaned)), f"{name}: a colour that loads"


FORBIDDEN_KEYS = {
    "template", "texttemplate", "hovertemplate", "meta", "updatemenus", "sliders", "frames", "images", "map", "map2",
    "mapbox", "geo", "customdata", "family", "path", "label", "style", "captureevents", "source", "lat", "lon",
}  # fmt: skip


def _keys_in(value) -> set:
    if isinstance(value, dict):
        return set(value) | set().union(*(_keys_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys_in(v) for v in value)) if value else set()
    return set()


def _colours_in(value) -> list:
    if isinstance(value, dict):
        colours = [v for k, v in value.items() if k.endswith(("color", "colors", "colorway"))]
        return colours + [c for v in value.values() for c in _colours_in(v)]
    if isinstance(value, list):
        return [c for v in value for c in _colours_in(v)]
    return []


def test_the_same_figures_built_by_code_in_the_box_come_out_clean(table):
    code = (
        f"link = {LINK!r}\nstyle = {STYLE!r}\n"
        "fig = go.Figure(go.Bar(x=[link, style], y=[1, 2], texttemplate=link, hovertemplate=style, name=link))\n"
        "fig.update_layout(meta=[link], title=link, updatemenus=[dict(buttons=[dict(method='relayout', args=[{'images': [dict(source='/v/1/preview')]}])])])\n"
        "fig.update_layout(images=[dict(source='/v/1/download?format=csv')], map=dict(style='/v/1/preview'))\n"
        "fig2 = px.scatter(df, x='sex', y='creatinine', title=style)"
    )
    outcome = run(code, table, limits=QUICK)
    assert outcome.ok and len(outcome.figures) == 2, outcome.error
    for figure in outcome.figures:
        parsed = json.loads(figure["json"])
        assert "<" not in figure["json"] and not _keys_in(parsed) & FORBIDDEN_KEYS, figure["json"][:400]
        assert parsed["data"], "the figure lost its traces"


def test_an_honest_figure_keeps_its_data_and_looks(table):
    outcome = run(
        "fig = px.histogram(df, x='creatinine', color='sex', title='Creatinine by sex', nbins=5)\n"
        "fig2 = px.box(df, x='sex', y='creatinine')\nfig3 = px.pie(df, names='sex')",
        table,
        limits=QUICK,
    )
    assert outcome.ok, outcome.error
    figures = [json.loads(f["json"]) for f in outcome.figures]
    assert [t["type"] for f in figures for t in f["data"]] == ["histogram", "histogram", "box", "pie"]
    assert figures[0]["layout"]["title"]["text"] == "Creatinine by sex"
    assert figures[0]["layout"]["xaxis"]["title"]["text"] == "creatinine" and figures[0]["layout"]["barmode"] == "relative"
    assert figures[0]["data"][0]["x"], "the histogram lost its values"


def test_a_figure_over_the_value_cap_is_refused():
    with pytest.raises(ValueError, match="values"):
        charts.clean_figure({"data": [{"type": "scatter", "x": list(range(200_000)), "y": list(range(200_000))}]})


# --- 5. the notebook ------------------------------------------------------------------------------------------------

NOTEBOOK = {
    "a shell escape": "!rm -rf ~",
    "a line magic": "%env SECRET=1\nresult = 1",
    "a cell magic": "%%bash\ncurl http://203.0.113.7/",
    "IPython's own object": "try:\n    get_ipython().system('id')\nexcept NameError:\n    pass\nresult = 1",
    "display from IPython": "try:\n    display(df)\nexcept NameError:\n    pass",
    "an unconfined open": "try:\n    key = open('/home/analyst/.ssh/id_rsa').read()\nexcept Exception:\n    key = ''\nresult = len(key)",
    "an import the sandbox refuses": "import subprocess\nsubprocess.run(['id'])",
    "a dunder walk": "result = ().__class__.__base__",
    "exec of a string": "exec('import os')",
    "a help suffix": "df?",
    "os through pandas' own modules": "rc = pd.io.common.os.system('id')\nresult = df.shape[0]",
    "os through numpy's": "rc = np.lib.format.os.system('id')\nresult = 1",
    "subprocess from sys.modules": "m = pd.io.common.os.sys.modules['subprocess']\nresult = 1",
    "a host file read by pandas": "try:\n    t = pd.read_csv('/etc/passwd', sep=':', header=None)\nexcept Exception:\n    t = None\nresult = 1",
    "an address read by pandas": "try:\n    t = pd.read_csv('http://203.0.113.7/x.csv')\nexcept Exception:\n    t = None\nresult = 1",
    "a host file read by numpy": "try:\n    t = np.loadtxt('h')\nexcept Exception:\n    t = None\nresult = 1",
    "a file written by a frame": "df.to_csv('out.csv')\nresult = 1",
    "a store opened by name": "try:\n    s = pd.HDFStore('x.h5')\nexcept Exception:\n    s = None\nresult = 1",
}


@pytest.mark.parametrize("name", list(NOTEBOOK))
def test_code_the_sandbox_would_not_run_as_is_is_not_a_notebook_cell(name):
    from workbench.analysis.present import exportable_code

    assert exportable_code(NOTEBOOK[name]) is not None, name


def test_an_uploaded_tables_column_names_cannot_open_a_chain_to_os():
    from workbench.analysis.present import exportable_code

    hostile_columns = frozenset({"io", "common", "os", "system", "age"})
    assert exportable_code("pd.io.common.os.system('id')", hostile_columns) is not None
    assert exportable_code("result = df.age.mean()", hostile_columns) is None


def test_honest_code_is_exported_as_a_cell():
    from workbench.analysis.present import exportable_code

    honest = (
        "import numpy as np\ndef share(s):\n    return s.mean()\nresult = df.groupby('sex')['creatinine'].agg(share)\nfig = px.bar(result)"
    )
    assert exportable_code(honest) is None
    dates = "d = pd.to_datetime(df['admitted'])\nresult = d.dt.year.value_counts().sort_index().reset_index()\nfig = px.line(result, x='admitted', y='count')"
    assert exportable_code(dates) is None


# --- the count ------------------------------------------------------------------------------------------------------


def test_the_escape_suite_holds_at_least_180_attempts():
    written_for_this_round = len(HOST_INODES) + len(RESOURCES) + len(PARSER) + len(HOSTILE_FIGURES) + len(NOTEBOOK)
    assert written_for_this_round >= 50
    assert len(ESCAPES) + written_for_this_round >= 180


def test_every_host_inode_the_box_could_see_is_unchanged_after_the_suite(host_inodes):
    """Last in the file: the whole walk again (the Python tree, the child, the loader cache, the device nodes)."""
    changed = [p for p in host_inodes["paths"] if _inode_state(p) != host_inodes["before"][p]]
    assert changed == [], changed[:10]
    assert _locks() <= host_inodes["locks"]
    assert len(host_inodes["paths"]) > 1000  # the walk saw the tree, not an empty list
