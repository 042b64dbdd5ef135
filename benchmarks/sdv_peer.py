"""The SDV side of benchmarks/synthesis_bench.py. Runs inside the separate peer environment (.venv-sdv:
SDV and SDMetrics are under licences we may benchmark against but not ship), never imported by the product.

    .venv-sdv/bin/python benchmarks/sdv_peer.py fit WORKDIR [--ctgan-epochs N]
    .venv-sdv/bin/python benchmarks/sdv_peer.py quality WORKDIR
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import pandas as pd

warnings.filterwarnings("ignore")


def _metadata(frame: pd.DataFrame):
    from sdv.metadata import Metadata

    return Metadata.detect_from_dataframes({"table": frame})


def fit(workdir: Path, epochs: int) -> None:
    from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer

    timings = {}
    for table in sorted(p for p in workdir.iterdir() if p.is_dir()):
        train = pd.read_csv(table / "train.csv")
        metadata = _metadata(train)
        for name, make in (
            ("sdv_gaussian_copula", lambda m: GaussianCopulaSynthesizer(m)),
            ("sdv_ctgan", lambda m: CTGANSynthesizer(m, epochs=epochs)),
        ):
            started = time.perf_counter()
            synthesizer = make(metadata)
            synthesizer.fit({"table": train})  # SDV 2 takes a dict of one table
            synthetic = synthesizer.sample(num_rows=len(train))
            if isinstance(synthetic, dict):
                synthetic = synthetic["table"]
            timings[f"{table.name}/{name}"] = time.perf_counter() - started
            synthetic.to_csv(table / f"{name}.csv", index=False)
            print(f"{table.name} {name}: {timings[f'{table.name}/{name}']:.1f} s", flush=True)
    (workdir / "sdv_timings.json").write_text(json.dumps(timings, indent=2))


def quality(workdir: Path) -> None:
    from sdmetrics.reports.single_table import QualityReport

    scores = {}
    for table in sorted(p for p in workdir.iterdir() if p.is_dir()):
        train = pd.read_csv(table / "train.csv")
        columns = list(train.columns)  # every column of every copy, modelled by our plan or not
        real = train[columns]
        metadata = _metadata(real).to_dict()
        for synthetic_path in sorted(table.glob("*.csv")):
            if synthetic_path.name in ("train.csv", "holdout.csv"):
                continue
            synthetic = pd.read_csv(synthetic_path)[columns]
            report = QualityReport()
            report.generate(real, synthetic, metadata["tables"]["table"], verbose=False)
            scores[f"{table.name}/{synthetic_path.stem}"] = round(100 * report.get_score(), 2)
    (workdir / "sdmetrics_quality.json").write_text(json.dumps(scores, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["fit", "quality"])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--ctgan-epochs", type=int, default=300)
    args = parser.parse_args()
    fit(args.workdir, args.ctgan_epochs) if args.mode == "fit" else quality(args.workdir)
