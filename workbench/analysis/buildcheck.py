"""Is the installed llama.cpp one that runs on any x86-64 server from the last ten years?

Two checks, both run by `make install` right after the wheel is installed, by `manage.py doctor`, and by the tests:

- the libraries hold no instruction above the portable baseline (AVX2, FMA, F16C, BMI2): no EVEX-encoded
  instruction (AVX-512, in every form), no AMX tile instruction, no AVX-VNNI/IFMA/NE-CONVERT, read off
  `objdump -d`. A native build on an AVX-512 or AMX machine fails this; it is the build that died with SIGILL
  (`tilezero`) on an Intel Xeon VM that advertises AMX;
- the model loads and generates, in a subprocess: an illegal instruction kills that process, not the caller, and
  the check says which signal ended it.

    python -m workbench.analysis.buildcheck --model models/....gguf
"""

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

BASELINE = ("avx", "avx2", "fma", "f16c", "bmi2")  # the flags the portable build compiles for
# VEX-encoded instructions beyond the baseline (AMX tiles; AVX-VNNI, AVX-IFMA, AVX-NE-CONVERT, AVX-VNNI-INT8)
_ABOVE_BASELINE = re.compile(
    r"^(tile\w*|ldtilecfg|sttilecfg|tdp\w+|tcmmr\w*|tcmmi\w*|vpdpbusds?|vpdpwssds?|vpmadd52\w+|vbcstne\w+|vcvtne\w*bf16\w*|"
    r"vcvtneeph2ps|vcvtneoph2ps|vpdpb[su][su]ds?|vpdpw[su][su]ds?)$"
)
_INSTRUCTION = re.compile(r"^\s*[0-9a-f]+:\s+((?:[0-9a-f]{2} )+)\s*(?:\{\w+\}\s+)?(\S+)")


def libraries() -> list[Path]:
    """The shared libraries of the installed llama-cpp-python."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.origin:
        return []
    folder = Path(spec.origin).parent / "lib"
    unique: dict[tuple, Path] = {}
    for path in sorted(folder.glob("*.so*")):  # the wheel holds libggml.so, .so.0 and .so.0.25.3 as copies
        if path.is_file() and not path.is_symlink():
            unique.setdefault((path.stat().st_size, path.read_bytes()[:65536]), path)
    return sorted(unique.values())


def scan_library(path: Path) -> dict:
    """Counts of instructions above the baseline in one library, with a few examples; raises when objdump is missing."""
    objdump = shutil.which("objdump")
    if objdump is None:
        raise FileNotFoundError("objdump is not installed (Debian: apt-get install binutils)")
    process = subprocess.Popen([objdump, "-d", "-w", str(path)], stdout=subprocess.PIPE, text=True, errors="replace")
    counts = {"evex": 0, "amx": 0, "vex_above_baseline": 0, "instructions": 0}
    examples: list[str] = []
    for line in process.stdout:
        match = _INSTRUCTION.match(line)
        if not match:
            continue
        counts["instructions"] += 1
        raw, mnemonic = match.group(1).split(), match.group(2)
        kind = None
        if raw[0] == "62":  # EVEX: AVX-512 and its relatives, whatever the register width
            kind = "evex"
        elif mnemonic.startswith(("tile", "ldtilecfg", "sttilecfg", "tdp")):
            kind = "amx"
        elif _ABOVE_BASELINE.match(mnemonic):
            kind = "vex_above_baseline"
        if kind:
            counts[kind] += 1
            if len(examples) < 5:
                examples.append(f"{kind}: {line.strip()[:120]}")
    process.wait()
    return {"library": path.name, **counts, "examples": examples}


def check_instructions() -> tuple[bool, str]:
    """(portable, what was found) for every library of the installed llama.cpp."""
    found = libraries()
    if not found:
        return False, "llama-cpp-python is not installed"
    try:
        reports = [scan_library(path) for path in found]
    except FileNotFoundError as error:
        return False, str(error)
    bad = [r for r in reports if r["evex"] or r["amx"] or r["vex_above_baseline"]]
    if bad:
        detail = "; ".join(f"{r['library']}: {r['evex']} AVX-512, {r['amx']} AMX, {r['vex_above_baseline']} other" for r in bad)
        return False, f"llama.cpp was built for one CPU, not the portable baseline ({detail}); rebuild it with `make install`"
    total = sum(r["instructions"] for r in reports)
    return True, f"{len(reports)} libraries, {total:,} instructions, none above {'/'.join(BASELINE).upper()}"


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def check_cpu() -> tuple[bool, str]:
    flags = cpu_flags()
    if not flags:
        return True, "CPU flags not readable; assumed to meet the baseline"
    lacking = [flag for flag in BASELINE if flag not in flags]
    if lacking:
        return False, f"this CPU lacks {', '.join(lacking).upper()}, which the portable llama.cpp build needs"
    return True, f"this CPU has {'/'.join(BASELINE).upper()}"


_SMOKE = """
import json, sys, time
from llama_cpp import Llama
started = time.perf_counter()
llm = Llama(model_path=sys.argv[1], n_ctx=256, n_threads=int(sys.argv[2]), verbose=False, seed=0)
loaded = time.perf_counter() - started
out = llm.create_completion("def add(a, b):\\n    return", max_tokens=8, temperature=0.0)
print(json.dumps({"load_seconds": round(loaded, 2), "text": out["choices"][0]["text"], "tokens": out["usage"]["completion_tokens"]}))
"""


def describe_exit(code: int) -> str:
    """`killed by signal 4 (SIGILL, illegal instruction)` for a negative return code; the exit status otherwise."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        what = {"SIGILL": "illegal instruction", "SIGKILL": "killed", "SIGSEGV": "segmentation fault", "SIGBUS": "bus error"}
        return f"killed by signal {-code} ({name}, {what.get(name, signal.strsignal(-code) or '')})"
    return f"exit status {code}"


def smoke_generate(model: Path, *, threads: int = 2, timeout: float = 300.0) -> tuple[bool, str]:
    """Load `model` and generate a few tokens in a fresh process; (ok, what happened)."""
    try:
        done = subprocess.run([sys.executable, "-c", _SMOKE, str(model), str(threads)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"the model did not generate within {timeout:g} s"
    if done.returncode != 0:
        hint = " — this llama.cpp build uses instructions this CPU lacks; rebuild it with `make install`" if done.returncode == -4 else ""
        tail = done.stderr.strip().splitlines()[-1:] if done.stderr.strip() else []
        return False, f"the model process was {describe_exit(done.returncode)}{hint}" + (f" ({tail[0][:200]})" if tail else "")
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return False, "the model process printed no result"
    return bool(report["tokens"]), f"loaded in {report['load_seconds']} s and generated {report['tokens']} tokens"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a GGUF file to load and generate with")
    parser.add_argument("--skip-instructions", action="store_true", help="do not read the libraries (a site's own AMX build)")
    args = parser.parse_args()
    ok = True
    checks = [("cpu", check_cpu)]
    if not args.skip_instructions:
        checks.append(("instructions", check_instructions))
    if args.model:
        checks.append(("generation", lambda: smoke_generate(args.model)))
    for name, check in checks:
        passed, message = check()
        ok &= passed
        print(f"llama.cpp {name}: {'ok' if passed else 'FAILED'} — {message}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
