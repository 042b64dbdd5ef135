"""The installed llama.cpp runs on a CPU from ten years ago: under QEMU's user-mode emulation of an Intel Haswell
(AVX2, FMA, F16C, BMI2; no AVX-512, no AMX) the portable build loads the small model and generates, while a native
build of the same version made on this machine (when `make bench-llm-build` has left one in the wheelhouse) dies
there with SIGILL, as it did on a real Intel Xeon VM."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from workbench.analysis.weights import MODELS

pytestmark = pytest.mark.slow
QEMU = shutil.which("qemu-x86_64")
GENERATE = """
import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=128, n_threads=1, verbose=False, seed=0)
print("generated", repr(llm.create_completion("def add(a, b):\\n    return", max_tokens=3, temperature=0.0)["choices"][0]["text"]))
"""


def _under_haswell(tmp_path: Path, python_path: str | None = None) -> subprocess.CompletedProcess:
    if QEMU is None:
        if os.environ.get("CI"):
            pytest.fail("qemu-user is not installed (.ci/run installs it)")
        pytest.skip("qemu-user is not installed (apt-get install qemu-user)")
    model = Path(settings.LLM_MODEL_DIR) / MODELS["qwen2.5-coder-0.5b"].file
    script = tmp_path / "generate.py"
    script.write_text(GENERATE)
    env = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"} | ({"PYTHONPATH": python_path} if python_path else {})
    return subprocess.run(
        [QEMU, "-cpu", "Haswell-v4", sys.executable, str(script), str(model)], capture_output=True, text=True, env=env, timeout=900
    )


def test_the_portable_build_generates_on_an_emulated_haswell(tmp_path):
    done = _under_haswell(tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "generated" in done.stdout


def test_a_native_build_dies_on_the_same_emulated_cpu(tmp_path):
    wheels = sorted((Path.home() / ".cache" / "workbench" / "wheels").glob("llama-cpp-python-*-native/*.whl"))
    if not wheels:
        pytest.skip("no native wheel in the wheelhouse (make bench-llm-build builds one)")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        wheel.extractall(tmp_path / "native")
    done = _under_haswell(tmp_path, str(tmp_path / "native"))
    assert done.returncode in (-4, 132), (done.returncode, done.stderr[-500:])  # SIGILL (132 = 128 + 4 from QEMU)
