"""The sandbox that runs generated code: it computes what it is asked on the safe tier's file, and contains every
escape attempt below with a clear message, while the process that started it (a worker) carries on."""

import os

import pandas as pd
import pytest
from django.conf import settings

from workbench.analysis.sandbox import Limits, run

QUICK = Limits(cpu_seconds=4, wall_seconds=20, memory_bytes=2 * 1024**3, file_bytes=16 * 1024**2)
OS = "pd.io.common.os"  # a route to the os module that the import guard does not see; the OS layers must hold


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
    yield {"folder": folder, "values": ["RAW-BYTES-7f3a", "MASTER-KEY-9c1e", "ENV-SECRET-4b2d", settings.SECRET_KEY]}
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
    assert outcome.layers == {"landlock_abi": outcome.layers["landlock_abi"], "seccomp": True} and outcome.layers["landlock_abi"] >= 1


def test_an_error_comes_back_as_a_traceback_of_the_code_only(table):
    outcome = run("x = 1\ny = df['no_such_column']", table)
    assert not outcome.ok and outcome.error["type"] == "KeyError"
    assert "line 2" in outcome.error["traceback"] and "_child.py" not in outcome.error_text


ESCAPES = {
    "read /etc/passwd with open": ('print(open("/etc/passwd").read())', "only in the working folder"),
    "read /etc/passwd with pandas": ('print(pd.read_csv("/etc/passwd"))', "Permission denied"),
    "read /etc/passwd through os": (f'print({OS}.read({OS}.open("/etc/passwd", 0), 100))', "Permission denied"),
    "list the data folder": (f"print({OS}.listdir({{folder!r}}))", "Permission denied"),
    "read a RAW file": ("print(open({raw!r}, 'rb').read())", "only in the working folder"),
    "read a RAW file through os": (f"print({OS}.read({OS}.open({{raw!r}}, 0), 100))", "Permission denied"),
    "read the master key": ("print(pd.read_csv({key!r}))", "Permission denied"),
    "environment variables": (f"print(dict({OS}.environ))", None),
    "the worker's environment in /proc": (
        f'print({OS}.read({OS}.open("/proc/%d/environ" % {OS}.getppid(), 0), 10000))',
        "Permission denied",
    ),
    "socket to 127.0.0.1 (Redis)": (
        f'm = {OS}.sys.modules["socket"]\ns = m.socket()\ns.connect(("127.0.0.1", 6379))',
        "Operation not permitted",
    ),
    "socket to a public address": (
        f'm = {OS}.sys.modules["socket"]\ns = m.socket(m.AF_INET, m.SOCK_DGRAM)\ns.sendto(b"x", ("8.8.8.8", 53))',
        "Operation not permitted",
    ),
    "subprocess": (f'print({OS}.sys.modules["subprocess"].run(["id"], capture_output=True).stdout)', "Operation not permitted"),
    "os.system": (f'print("status", {OS}.system("id > /tmp/pwned"))', None),
    "os.popen": (f'print({OS}.popen("id").read())', "Operation not permitted"),
    "ctypes calling system()": (f'c = {OS}.sys.modules["ctypes"]\nprint("status", c.CDLL(None).system(b"id"))', None),
    "import ctypes": ("import ctypes", "importing 'ctypes' is not allowed"),
    "fork": (f"print({OS}.fork())", "Operation not permitted"),
    "fork bomb": (f"while True:\n    {OS}.fork()", "Operation not permitted"),
    "memory bomb": ("x = bytearray(10**11)", "MemoryError"),
    "memory bomb, step by step": ("x = []\nwhile True:\n    x.append(bytearray(10**8))", "MemoryError"),
    "infinite loop": ("while True:\n    pass", "CPU time"),
    "gigabytes of output": ('while True:\n    print("x" * 100000)', "printed more than"),
    "write outside the work folder": ('df.to_csv("/tmp/escaped.csv")', "Permission denied"),
    "write into the data folder": ("df.to_csv({folder!r} + '/planted.csv')", "Permission denied"),
    "open a path that climbs out": ('open("../escaped.txt", "w").write("x")', "only in the working folder"),
    "__import__": ('__import__("os").system("id")', "'__import__' is not allowed"),
    "importlib": ('import importlib\nimportlib.import_module("os")', "importing 'importlib' is not allowed"),
    "builtins": ("import builtins", "importing 'builtins' is not allowed"),
    "__builtins__": ('__builtins__["__import__"]("os")', "'__builtins__' is not allowed"),
    "pickle that runs a command": (f'{OS}.sys.modules["pickle"].loads(b"cos\\nsystem\\n(S\'id\'\\ntR.")', None),
    "import pickle": ("import pickle", "importing 'pickle' is not allowed"),
    "walk the subclasses": ("print(().__class__.__base__.__subclasses__())", "is not allowed"),
    "walk frames up from a traceback": (
        "try:\n    1/0\nexcept Exception as e:\n    g = e.__traceback__.tb_frame.f_back.f_globals",
        "is not allowed",
    ),
    "walk frames from a generator": ("g = (x for x in [1])\nprint(g.gi_frame.f_back)", "is not allowed"),
    "getattr with a string": ('print(getattr(pd, "__builtins__"))', "is not allowed"),
    "kill the worker": (f"{OS}.kill({OS}.getppid(), 9)", "Operation not permitted"),
    "exec and eval": ('exec("import os")', "'exec' is not allowed"),
}


@pytest.mark.parametrize("name", list(ESCAPES))
def test_an_escape_attempt_is_contained_with_a_clear_message_and_the_caller_survives(name, table, secrets):
    code, expected = ESCAPES[name]
    folder = str(secrets["folder"])
    code = code.format(folder=folder, raw=folder + "/raw.parquet.enc", key=folder + "/master.key")
    outcome = run(code, table, limits=QUICK)
    everything = outcome.stdout + outcome.error_text + str(outcome.result)
    for value in secrets["values"]:
        assert value not in everything, f"{name}: leaked {value[:6]}…"
    assert "uid=" not in everything, f"{name}: a command ran"
    assert not os.path.exists("/tmp/escaped.csv") and not os.path.exists("/tmp/pwned")
    assert not (secrets["folder"] / "planted.csv").exists()
    if expected:
        assert not outcome.ok, f"{name}: the code ran to the end"
        assert expected in outcome.error_text, f"{name}: {outcome.error_text[-300:]}"
    # the process that started the sandbox is alive and the next run works
    assert run("result = int(df.shape[0])", table, limits=QUICK).result == {"kind": "value", "value": 5}
