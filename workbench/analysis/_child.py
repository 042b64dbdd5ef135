"""The sandboxed side of a code run, started by `sandbox.run` as `python -I -B child.py FRAMES_FD DATA_FD` inside a
bubblewrap box (its own mount, PID, IPC, network, UTS and user namespaces: a read-only Python tree, a size-capped
tmpfs as the working folder, no /etc, no data folder, no other process). It imports nothing of the workbench (no
settings, no keys) and its environment holds only a PATH and thread counts.

Order matters: a root worker's box first gives up root (`give_up_root`); then the allowed libraries are imported and the table read from the descriptor the parent opened
(they open files and start threads), then the process locks itself in, with boundaries the code cannot undo:

1. Landlock: the file system is read-only Python and its libraries, read-write this folder, nothing else (no /proc,
   no /dev but null and urandom); signals and abstract sockets cannot reach outside the box.
2. seccomp: no new processes (fork, vfork, clone without CLONE_THREAD, execve), no sockets, no ptrace or reading
   other processes' memory, no namespaces or mounts, no SysV or POSIX IPC, no inotify/fanotify, no memfd, no
   prlimit on any process but itself, no BPF or kernel keyrings, no asynchronous I/O contexts, no extended
   attributes written, no file leases, locks or notifications, no change of a file's times, mode or owner; a
   system call of another architecture (int 0x80, x32) kills the whole process.

Then it writes one line to the frames descriptor saying which layers it holds — before any of the model's code
exists in this process, so that code cannot forge it — and only then reads the job (code and limits) from stdin.
The parent checks from outside what it can (namespaces, seccomp mode, no_new_privs, the address-space limit) before
it sends the code. The result is the second line on the frames descriptor; the parent trusts none of it (it parses
with a schema and applies every cap itself). The Python layer below (import allow-list, no dunder walks) gives
clear messages; the OS layers hold even if it is walked around.
"""

import ast
import builtins
import ctypes
import errno
import io
import json
import os
import sys
import traceback

ALLOWED_MODULES = {
    "pandas", "numpy", "scipy", "sklearn", "statsmodels", "plotly", "math", "statistics", "datetime", "re", "json",
    "collections", "itertools", "functools", "decimal", "fractions", "random", "string", "textwrap", "typing",
    "dataclasses", "operator", "calendar", "time", "zoneinfo", "heapq", "bisect", "numbers", "enum", "warnings", "copy",
    "patsy", "unicodedata", "difflib", "pprint",
}  # fmt: skip
FORBIDDEN_NAMES = {
    "__import__", "__builtins__", "__subclasses__", "__globals__", "__code__", "__closure__", "__class__", "__bases__",
    "__base__", "__mro__", "__dict__", "__getattribute__", "__loader__", "__spec__", "__reduce__", "__reduce_ex__",
    "__self__", "__func__", "__wrapped__", "__traceback__", "__frame__", "f_back", "f_globals", "f_locals", "f_builtins",
    "gi_frame", "cr_frame", "ag_frame", "tb_frame", "tb_next", "func_globals", "exec", "eval", "compile", "globals",
    "locals", "vars", "breakpoint", "input", "help", "exit", "quit", "memoryview", "getattr", "setattr", "delattr",
}  # fmt: skip
REMOVED_BUILTINS = {"exec", "eval", "compile", "globals", "locals", "vars", "breakpoint", "input", "help", "exit", "quit",
                    "memoryview", "getattr", "setattr", "delattr", "open", "__import__", "copyright", "credits", "license"}  # fmt: skip


class Refused(Exception):
    """The code asks for something analysis code may not do; the message says what."""


# --- OS boundaries ----------------------------------------------------------------------------------------------

_LANDLOCK_CREATE_RULESET, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT_SELF = 444, 445, 446
_PR_SET_NO_NEW_PRIVS = 38


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def lock_file_system(read_only: list[str], read_write: list[str]) -> int:
    """Landlock: only these folders, for the rest of this process's life. Returns the ABI version used."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        raise OSError(ctypes.get_errno(), "Landlock is not available on this kernel")
    # ABI 1: 13 file-system rights; ABI 2 adds REFER, ABI 3 TRUNCATE, ABI 5 IOCTL_DEV
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= 1 << 13
    if abi >= 3:
        rights |= 1 << 14
    if abi >= 5:
        rights |= 1 << 15
    read = (1 << 0) | (1 << 2) | (1 << 3)  # EXECUTE, READ_FILE, READ_DIR
    attr = _RulesetAttr(handled_access_fs=rights, handled_access_net=0, scoped=(1 | 2) if abi >= 6 else 0)  # abstract sockets, signals
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 8
    ruleset = libc.syscall(_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    for paths, access in ((read_only, read), (read_write, rights)):
        for path in paths:
            if not os.path.exists(path):
                continue
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            allowed = access if os.path.isdir(path) else access & ((1 << 0) | (1 << 1) | (1 << 2) | (1 << 14) | (1 << 15))
            rule = _PathBeneath(allowed_access=allowed, parent_fd=fd)
            if libc.syscall(_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)) < 0:
                raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            os.close(fd)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")
    if libc.syscall(_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    os.close(ruleset)
    return abi


def lock_system_calls(seccomp) -> None:
    """seccomp (the `pyseccomp` module, imported before the file system was locked): everything allowed but what
    could leave the box or reach past its limits."""
    refuse = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    # int 0x80 and x32 system calls bypass a filter written for x86-64: they kill the process, not one thread
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    for call in FORBIDDEN_CALLS:
        try:
            rules.add_rule(refuse, call)
        except Exception:  # a name this libseccomp does not know: by number, the same on every architecture since 5.1
            if call in NEW_CALLS:
                rules.add_rule(refuse, NEW_CALLS[call])
    # calls newer than this list are refused too (a default-allow filter would let them through); glibc falls back
    for number in range(FIRST_UNLISTED, FIRST_UNLISTED + 80):
        rules.add_rule(seccomp.ERRNO(errno.ENOSYS), number)
    clone_thread = 0x00010000
    rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, clone_thread, 0))  # processes, not threads
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")  # its flags are out of reach: glibc falls back to clone
    rules.add_rule(refuse, "prlimit64", seccomp.Arg(0, seccomp.NE, 0))  # its own limits only (pid 0)
    # leases and locks reach host processes through files the box can read; directory notifications watch them. The
    # kernel reads the command as 32 bits: the rule compares those only (high bits set must not slip past)
    for command in FORBIDDEN_FCNTL:
        rules.add_rule(refuse, "fcntl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, command))
    rules.load()


FORBIDDEN_CALLS = (
    # new programs and processes (threads stay allowed through clone above)
    "execve", "execveat", "fork", "vfork",
    # the network, and other processes
    "socket", "socketpair", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open", "pidfd_getfd",
    "pidfd_send_signal", "kcmp", "process_madvise", "setpriority", "sched_setaffinity", "sched_setscheduler",
    "ioprio_set", "migrate_pages", "move_pages",
    # namespaces, mounts, privileges
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "mount_setattr", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick", "setuid", "setgid", "setreuid", "setregid", "setresuid",
    "setresgid", "setfsuid", "setfsgid", "setgroups", "capset", "prctl", "seccomp", "personality",
    "open_by_handle_at", "name_to_handle_at",
    # memory and state outside the address-space limit, watching the file system
    "shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop",
    "semctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
    "memfd_create", "memfd_secret", "inotify_init", "inotify_init1", "inotify_add_watch", "fanotify_init",
    "fanotify_mark", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    # the kernel itself
    "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "init_module",
    "finit_module", "delete_module", "reboot", "swapon", "swapoff", "syslog", "acct", "quotactl", "lookup_dcookie",
    "vhangup", "iopl", "ioperm", "modify_ldt", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "sethostname", "setdomainname",
    # host-wide resources no rlimit counts: the machine's asynchronous I/O contexts (aio-max-nr), extended
    # attributes (kernel memory outside the tmpfs size), locks that block host writers
    "io_setup", "io_submit", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
    "setxattr", "lsetxattr", "fsetxattr", "setxattrat", "removexattr", "lremovexattr", "fremovexattr", "removexattrat",
    "flock", "mknod", "mknodat",
    # metadata of files the box can see: times, modes and owners of the host's inodes (device nodes included)
    "utime", "utimes", "utimensat", "futimesat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown",
    "lchown", "fchownat",
    # newer calls: xattrs by descriptor and path, file attributes, mounts by attribute, other processes' memory,
    # the mount table, LSM attributes, quotas
    "setxattrat", "removexattrat", "file_setattr", "open_tree_attr", "process_mrelease", "listmount", "statmount",
    "lsm_set_self_attr", "quotactl_fd",
)  # fmt: skip
# system calls numbered since Linux 5.1 have one number on every architecture; libseccomp 2.5 does not know the newest
NEW_CALLS = {
    "pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_open": 434,
    "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442, "quotactl_fd": 443, "memfd_secret": 447,
    "process_mrelease": 448, "fchmodat2": 452, "statmount": 457, "listmount": 458, "lsm_set_self_attr": 460,
    "setxattrat": 463, "removexattrat": 466, "open_tree_attr": 467, "file_setattr": 469,
}  # fmt: skip
FIRST_UNLISTED = 470  # every call from here on is refused with ENOSYS until this list is reviewed
_F_SETLK, _F_SETLKW, _F_OFD_SETLK, _F_OFD_SETLKW, _F_SETLEASE, _F_NOTIFY = 6, 7, 37, 38, 1024, 1026
FORBIDDEN_FCNTL = (_F_SETLK, _F_SETLKW, _F_OFD_SETLK, _F_OFD_SETLKW, _F_SETLEASE, _F_NOTIFY)


# --- the Python layer -------------------------------------------------------------------------------------------


def check_source(code: str) -> ast.Module:
    try:
        tree = ast.parse(code, filename="<analysis>")
    except SyntaxError as error:
        raise SyntaxError(f"{error.msg} (line {error.lineno})") from None
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Name):
            name = node.id
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in FORBIDDEN_NAMES - {"help", "input", "exit", "quit"}
        ):
            name = node.value
        if name and (name in FORBIDDEN_NAMES or (name.startswith("__") and name.endswith("__") and name not in ("__name__", "__init__"))):
            raise Refused(f"line {node.lineno}: '{name}' is not allowed in analysis code")
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] not in ALLOWED_MODULES:
                    raise Refused(
                        f"line {node.lineno}: importing '{module}' is not allowed (allowed: {', '.join(sorted(ALLOWED_MODULES))})"
                    )
    return tree


def safe_builtins(workdir: str) -> dict:
    real_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level or name.split(".")[0] not in ALLOWED_MODULES:
            raise Refused(f"importing '{name}' is not allowed")
        return real_import(name, globals, locals, fromlist, level)

    def guarded_open(file, mode="r", *args, **kwargs):
        path = os.path.realpath(os.path.join(workdir, os.fspath(file)))
        if not (path == workdir or path.startswith(workdir + os.sep)):
            raise Refused("files can be opened only in the working folder")
        return open(path, mode, *args, **kwargs)

    allowed = {name: value for name, value in vars(builtins).items() if name not in REMOVED_BUILTINS}
    allowed["__import__"] = guarded_import
    allowed["open"] = guarded_open
    return allowed


# --- results ----------------------------------------------------------------------------------------------------


def describe(value, limits: dict):
    import numpy as np
    import pandas as pd

    if isinstance(value, dict) and 0 < len(value) <= limits["table_rows"]:  # named answers: {"mean_age": 41.2, ...}
        return {
            "kind": "table",
            "columns": ["name", "value"],
            "rows": [[str(name)[:200], _cell(part, limits)] for name, part in value.items()],
            "total_rows": len(value),
            "index_columns": 1,
            "columns_name": None,
            "record": True,
        }
    if isinstance(value, list | tuple) and 0 < len(value) <= 20 and all(not isinstance(v, list | tuple | dict) for v in value):
        return describe({str(i): part for i, part in enumerate(value)}, limits)  # positional answers: "0", "1", ...
    if isinstance(value, pd.Series):
        value = value.to_frame()
    if isinstance(value, pd.DataFrame):
        shown = value.head(limits["table_rows"])
        return {
            "kind": "table",
            "columns": [str(c) for c in shown.reset_index().columns],
            "rows": json.loads(shown.reset_index().to_json(orient="values", date_format="iso", default_handler=str)),
            "total_rows": len(value),
            "index_columns": 0 if isinstance(value.index, pd.RangeIndex) and value.index.name is None else value.index.nlevels,
            "columns_name": None if value.columns.name is None else str(value.columns.name),
        }
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int | float | str | bool) or value is None:
        return {"kind": "value", "value": value if not isinstance(value, str) else value[: limits["output_bytes"]]}
    return {"kind": "text", "value": repr(value)[: limits["output_bytes"]]}


def _cell(value, limits: dict):
    """One named answer as a plain cell: numbers and text as they are, a short list (or Series) as 'a, b, c'."""
    import numpy as np
    import pandas as pd

    if isinstance(value, pd.Series | pd.Index | np.ndarray | pd.api.extensions.ExtensionArray | list | tuple | set):
        items = list(value)[:50]
        return ", ".join(str(_cell(item, limits)) for item in items)[: limits["output_bytes"]]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, bool | int | float | str) or value is None:
        return value if not isinstance(value, str) else value[: limits["output_bytes"]]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)[: limits["output_bytes"]]


def figures_of(namespace: dict, limits: dict) -> list[dict]:
    try:
        from plotly.basedatatypes import BaseFigure
    except ImportError:
        return []
    out, seen = [], set()
    for name, value in list(namespace.items()):
        if isinstance(value, BaseFigure) and id(value) not in seen:
            seen.add(id(value))
            text = value.to_json()
            if len(text) > limits["figure_bytes"]:
                out.append(
                    {"name": name, "error": f"the figure is {len(text) // 1024:,} KB, over the {limits['figure_bytes'] // 1024:,} KB cap"}
                )
            else:
                out.append({"name": name, "json": text})
    return out[:5]


class CappedOutput(io.TextIOBase):
    """Printed output, stopped with a clear message past the cap (the file-size limit is the backstop)."""

    def __init__(self, stream, cap: int):
        self.stream, self.cap, self.written = stream, cap, 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.written += len(text)
        if self.written > self.cap:
            raise Refused(f"the code printed more than {self.cap // 1024:,} KB; print less (a summary, or df.head())")
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def _write_frame(fd: int, document: dict) -> None:
    data = (json.dumps(document, default=str) + "\n").encode("utf-8", "replace")
    while data:
        data = data[os.write(fd, data) :]


def _load_seccomp():
    """pyseccomp, with its two libraries named: ctypes' own search would start a program (ldconfig) to find them."""
    import ctypes.util

    search = ctypes.util.find_library
    ctypes.util.find_library = lambda name: {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}.get(name) or search(name)
    try:
        import pyseccomp
    finally:
        ctypes.util.find_library = search
    return pyseccomp


def _read_job() -> dict:
    data = sys.stdin.buffer.read()
    sys.stdin.close()
    return json.loads(data)


def main(frames_fd: int, data_fd: int) -> None:
    workdir = os.getcwd()
    os.set_inheritable(frames_fd, False)
    result: dict = {"ok": False}
    import numpy as np
    import pandas as pd
    import plotly.express as px
    import plotly.graph_objects as go

    seccomp = _load_seccomp()
    if data_fd >= 0:
        with os.fdopen(data_fd, "rb") as handle:  # opened by the parent; closed before the code exists
            import pyarrow.parquet as pq

            df = pq.read_table(handle).to_pandas(date_as_object=False)  # dates as datetime64: .dt works on them
    else:
        df = pd.DataFrame()
    prefixes = sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, *[p for p in sys.path if p and os.path.isdir(p)]})
    layers: dict = {}
    try:
        layers["landlock_abi"] = lock_file_system(
            prefixes + ["/usr/lib", "/lib", "/lib64", "/usr/lib64", "/usr/share/zoneinfo", "/dev/null", "/dev/urandom"], [workdir]
        )
    except OSError as error:
        layers["landlock_error"] = str(error)
    try:
        lock_system_calls(seccomp)
        layers["seccomp"] = True
    except OSError as error:
        layers["seccomp_error"] = str(error)
    _write_frame(frames_fd, {"layers": layers})
    job = _read_job()  # sent by the parent only once it has checked the layers from outside
    limits = job["limits"]
    sys.stdout = sys.stderr = CappedOutput(sys.__stdout__, 16 * limits["output_bytes"])
    namespace = {"df": df, "pd": pd, "np": np, "px": px, "go": go, "__name__": "__analysis__", "__builtins__": safe_builtins(workdir)}
    try:
        tree = check_source(job["code"])
        exec(compile(tree, "<analysis>", "exec"), namespace)  # noqa: S102  (the point of this process)
        result["ok"] = True
        if "result" in namespace:
            result["result"] = describe(namespace["result"], limits)
        result["figures"] = figures_of(namespace, limits)
    except Refused as error:
        result["error"] = {"type": "Refused", "message": str(error)}
    except BaseException as error:  # noqa: BLE001 — every failure of the code goes back to the model, as text
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == "<analysis>"]
        lines = "".join(traceback.format_list(frames)[-5:])
        message = "".join(traceback.format_exception_only(type(error), error)).strip()
        result["error"] = {"type": type(error).__name__, "message": message[:2000], "traceback": lines[-4000:]}
    try:
        sys.stdout.flush()
    except BaseException:  # noqa: BLE001 — the parent stops reading past its cap
        pass
    _write_frame(frames_fd, result)


def give_up_root(identity: str) -> None:
    """A root worker's box starts as root in its user namespace (root mapped to the host's root, so that bubblewrap
    could bind a tree only root can reach), holding only CAP_SETUID and CAP_SETGID there: it becomes the
    unprivileged uid it was given, which clears every capability, before anything else runs."""
    uid, gid = (int(part) for part in identity.split(":"))
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if 0 in os.getresuid() or 0 in os.getresgid():
        raise SystemExit("the box could not give up root")


if __name__ == "__main__":
    if len(sys.argv) > 3:
        give_up_root(sys.argv[3])
    main(int(sys.argv[1]), int(sys.argv[2]))
