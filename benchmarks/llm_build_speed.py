"""Decode speed of the portable llama.cpp build (the one `make install` builds: AVX2 baseline, no AVX-512, no AMX)
against a native build of the same version on the same machine (`-DGGML_NATIVE=ON`: everything this CPU has), in
the same run, alternated, each in a fresh process with the same model, threads and prompt.

The native wheel is built once by `make bench-llm-build` into the wheelhouse (never installed: it is unpacked into
a temporary folder that goes first on the native run's PYTHONPATH).

    python benchmarks/llm_build_speed.py --native-wheel PATH.whl [--model qwen2.5-coder-1.5b] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, write_section  # noqa: E402

DECODE = """
import json, sys, time
import llama_cpp
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=2048, n_threads=int(sys.argv[2]), verbose=False, seed=0)
messages = [{"role": "system", "content": "You write long, plain Python."},
            {"role": "user", "content": "Write a Python function that computes summary statistics of a list of numbers, with comments on every line."}]
first, count = None, 0
for chunk in llm.create_chat_completion(messages=messages, max_tokens=int(sys.argv[3]), temperature=0.0, top_k=1, seed=0, stream=True):
    if chunk["choices"][0]["delta"].get("content"):
        first = first if first is not None else time.perf_counter()
        count += 1
print(json.dumps({"tps": (count - 1) / (time.perf_counter() - first), "tokens": count, "from": llama_cpp.__file__}))
"""


def decode(python_path: str | None, model: Path, threads: int, tokens: int) -> dict:
    env = dict(os.environ)
    if python_path:
        env["PYTHONPATH"] = python_path
    done = subprocess.run(
        [sys.executable, "-c", DECODE, str(model), str(threads), str(tokens)], env=env, capture_output=True, text=True, cwd="/"
    )
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-300:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def on_haswell(python_path: str | None, model: Path) -> str:
    """What happens when the build generates on an emulated Haswell (QEMU user mode), in words."""
    import shutil

    from workbench.analysis.buildcheck import describe_exit

    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        return "not run (qemu-user is not installed)"
    env = {"PATH": "/usr/bin:/bin"} | ({"PYTHONPATH": python_path} if python_path else {})
    started = time.perf_counter()
    done = subprocess.run(
        [qemu, "-cpu", "Haswell-v4", sys.executable, "-c", DECODE, str(model), "1", "3"], env=env, capture_output=True, text=True, cwd="/"
    )
    seconds = time.perf_counter() - started
    if done.returncode == 0:
        return f"generated, {seconds:.0f} s under emulation"
    code = -(done.returncode - 128) if done.returncode > 128 else done.returncode  # QEMU reports a signal as 128 + N
    return f"{describe_exit(code)} after {seconds:.1f} s"


def main() -> None:
    from workbench.analysis import buildcheck
    from workbench.analysis.weights import MODELS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--native-wheel", type=Path, required=True)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    model = ROOT / "models" / MODELS[args.model].file
    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(args.native_wheel) as wheel:
            wheel.extractall(folder)
        native_libraries = sorted(Path(folder, "llama_cpp", "lib").glob("libggml-cpu.so*"))
        native_scan = buildcheck.scan_library(native_libraries[0])
        portable_scan = buildcheck.scan_library(next(p for p in buildcheck.libraries() if p.name.startswith("libggml-cpu")))
        speeds = {"portable": [], "native": []}
        for _ in range(args.rounds):
            for name, path in (("portable", None), ("native", folder)):
                result = decode(path, model, args.threads, args.tokens)
                if "error" in result:
                    raise SystemExit(f"{name} build failed: {result['error']}")
                assert (folder in result["from"]) == (name == "native"), result["from"]
                speeds[name].append(result["tps"])
                print(name, round(result["tps"], 2), flush=True)
        emulated = {
            name: on_haswell(path, ROOT / "models" / MODELS["qwen2.5-coder-0.5b"].file)
            for name, path in (("portable", None), ("native", folder))
        }
    portable, native = statistics.median(speeds["portable"]), statistics.median(speeds["native"])
    body = (
        f"`make bench-llm-build` (`python benchmarks/llm_build_speed.py --native-wheel … --model {args.model} --rounds {args.rounds}`): "
        f"decode tokens/s of {args.model} Q4_K_M on {args.threads} threads, {args.tokens} tokens of a code answer, greedy, "
        f"median of {args.rounds} fresh processes per build, alternated.\n\n"
        "| build | CMAKE_ARGS | AVX-512 (EVEX) instructions in libggml-cpu | AMX | decode tokens/s |\n|---|---|---:|---:|---:|\n"
        f"| portable (installed) | `-DGGML_NATIVE=OFF`, AVX2/FMA/F16C/BMI2, AVX-512 and AMX off | {portable_scan['evex']:,} | {portable_scan['amx']} | {portable:.2f} |\n"
        f"| native | `-DGGML_NATIVE=ON` | {native_scan['evex']:,} | {native_scan['amx']} | {native:.2f} |\n\n"
        f"**Portable ÷ native: {portable / native:.3f}.** Every round: portable {', '.join(f'{s:.2f}' for s in speeds['portable'])}; "
        f"native {', '.join(f'{s:.2f}' for s in speeds['native'])}. The native build runs only on CPUs with what this one has "
        "(it died with SIGILL on an Intel Xeon VM that advertises AMX); the portable one on any x86-64 CPU with AVX2. "
        f"On an emulated Intel Haswell (2013: AVX2, no AVX-512; `qemu-x86_64 -cpu Haswell-v4`, the small model, 3 tokens): "
        f"portable — {emulated['portable']}; native — {emulated['native']}."
    )
    print(f"portable {portable:.2f} tok/s, native {native:.2f} tok/s, ratio {portable / native:.3f}")
    if not args.no_write:
        write_section("Portable llama.cpp build against a native one (issue 10)", body)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    main()
