"""The deep generator: MOSTLY AI's TabularARGN (`mostlyai-engine`, Apache-2.0), an autoregressive network that
learns each column given the others, in any order. It runs on the `gpu` queue and on a CPU where no GPU is
present (tests do). Its packages (PyTorch among them) are optional: `requirements-gpu.txt`, installed on GPU
workers and in the development environment, so the base install stays light.

The engine learns from a workspace folder it writes itself, and that folder holds the training rows in plain
Parquet while it trains. It is made private (mode 0700) under WORKBENCH_SCRATCH_DIR (point it at a tmpfs on
GPU nodes) and removed as soon as training ends; what is kept is the trained network and the column
statistics it samples from, which are stored encrypted like every other model.

The engine's value protection is on: rare categories are never sampled as themselves (they are replaced by
common ones) and numeric extremes are clipped to a protected range, so a single person's outlier does not
reappear in the synthetic copy.

With `epsilon` the network is trained under DP-SGD (opacus, through the engine) and training stops when the
accountant reaches it; the (ε, δ) hold for the rows it was fitted on, and the ε reached is reported. As for the DP
marginal generator, the domain (the categories and value ranges the engine samples from) is treated as public: the
engine's DP value protection, which finds the ranges with noisy histograms, was tried first and on a 150-row table
at ε = 2 lost the scale of a numeric column altogether (weights of 80–250 came out as 0–9).
"""

import base64
import io
import logging
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings

from workbench.synthesis.base import Generator, Plan, SynthesisError, as_booleans, as_numbers, from_numbers

ENCODINGS = {
    "category": "TABULAR_CATEGORICAL",
    "bool": "TABULAR_CATEGORICAL",
    "int": "TABULAR_NUMERIC_AUTO",
    "float": "TABULAR_NUMERIC_AUTO",
    "date": "TABULAR_DATETIME",
    "datetime": "TABULAR_DATETIME",
}
KEPT = ("ModelStore/model-data/model-weights.pt", "ModelStore/model-data/model-configs.json", "ModelStore/tgt-stats/stats.json")


def _engine():
    try:
        from mostlyai import engine
    except ImportError:
        raise SynthesisError(
            "The deep generator needs the GPU worker's packages (pip install -r requirements-gpu.txt); "
            "this worker does not have them. Use the copula or dp method, or run a worker that has them."
        ) from None
    logging.getLogger("mostlyai").setLevel(logging.WARNING)
    return engine


def available() -> bool:
    try:
        _engine()
    except SynthesisError:
        return False
    return True


class TabularARGN(Generator):
    method = "deep"

    def __init__(
        self,
        *,
        max_epochs: float | None = None,
        max_minutes: float | None = None,
        device: str | None = None,
        epsilon: float | None = None,
        delta: float | None = None,
    ):
        self.max_epochs = float(max_epochs or settings.SYNTH_DEEP_MAX_EPOCHS)
        self.max_minutes = float(max_minutes or settings.SYNTH_DEEP_MAX_MINUTES)
        self.device = device or settings.SYNTH_DEEP_DEVICE
        self.epsilon = epsilon
        self.delta = (settings.DP_DELTA_PER_RUN if delta is None else delta) if epsilon else None
        self.spent = None
        self.progress = lambda percent, message: None

    def fit(self, frame: pd.DataFrame, plan: Plan, *, seed: int = 0) -> None:
        engine = _engine()
        self.plan = plan
        self.columns = list(plan.modelled)
        self.decimals = {}
        if not self.columns:
            self.archive = ""
            return
        device = _device(self.device)
        table = pd.DataFrame({name: self._to_engine(frame[name], plan.kinds[name]) for name in self.columns})
        folder = workspace("deep-")
        try:
            engine.set_random_state(seed)
            engine.split(
                tgt_data=table,
                model_type="TABULAR",
                workspace_dir=folder,
                tgt_encoding_types={n: ENCODINGS[plan.kinds[n]] for n in self.columns},
            )
            privacy = dp_config(self.epsilon, self.delta)
            engine.analyze(workspace_dir=folder, value_protection=privacy is None)  # under DP the domain is public
            engine.encode(workspace_dir=folder)
            engine.train(
                workspace_dir=folder,
                max_epochs=self.max_epochs,
                max_training_time=self.max_minutes,
                device=device,
                differential_privacy=privacy,
                update_progress=_TrainingProgress(self.progress),
            )
            self.spent = spent_epsilon(folder) if self.epsilon else None
            self.archive = pack(folder)
        except SynthesisError:
            raise
        except Exception as error:  # the engine's messages can quote values: name the failure only
            if type(error).__name__ == "JobCancelled":  # the job's progress callback: a cancel, not a failure
                raise
            raise SynthesisError(f"The deep generator failed while training ({type(error).__name__}).") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.device_used = device
        self.rows_fitted = len(frame)

    def sample(self, rows: int, *, seed: int = 0) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        out = {}
        if self.columns:
            engine = _engine()
            folder = workspace("deep-")
            try:
                unpack(self.archive, folder)
                engine.set_random_state(seed)
                engine.generate(
                    workspace_dir=folder, sample_size=rows, device=_device(self.device), rare_category_replacement_method="SAMPLE"
                )
                generated = pd.read_parquet(folder / "SyntheticData")
            except Exception as error:
                raise SynthesisError(f"The deep generator failed while sampling ({type(error).__name__}).") from None
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            out = {name: self._from_engine(generated[name], self.plan.kinds[name], name) for name in self.columns}
        return self.plan.complete(pd.DataFrame(out, index=pd.RangeIndex(rows)), rows, rng)

    def _to_engine(self, values: pd.Series, kind: str) -> pd.Series:
        if kind in ("category", "bool"):
            return values.astype("string")
        if kind in ("date", "datetime"):
            return pd.to_datetime(values, errors="coerce")
        if kind == "float":
            from workbench.synthesis.copula import _decimals

            numbers = as_numbers(values, kind)
            self.decimals[values.name] = _decimals(numbers[~np.isnan(numbers)])
        return pd.Series(as_numbers(values, kind), index=values.index)

    def _from_engine(self, values: pd.Series, kind: str, name: str) -> pd.Series:
        values = values.reset_index(drop=True)
        if kind == "bool":
            return as_booleans(values.astype("string"))
        if kind == "category":
            return values.astype("object").where(values.notna(), None)
        if kind in ("date", "datetime"):
            stamps = pd.to_datetime(values, errors="coerce")
            return stamps.dt.normalize() if kind == "date" else stamps
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return from_numbers(numbers, kind, self.decimals.get(name, 0))

    def to_json(self) -> dict:
        return {
            "method": self.method,
            "engine": "mostlyai-engine TabularARGN",
            "max_epochs": self.max_epochs,
            "max_minutes": self.max_minutes,
            "decimals": self.decimals,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "epsilon_reached": self.spent,
            "archive": self.archive,  # zip of the network's weights and the column statistics, base64
            "plan": self.plan.to_json(),
        }


class _TrainingProgress:
    """The engine's progress callback, turned into the job's progress (20–50 %)."""

    def __init__(self, report):
        self.report = report

    def __call__(self, total=None, completed=None, advance=None, message=None, **kwargs):
        if total and completed is not None:
            self.report(20 + 30 * min(completed / total, 1.0), "Training the deep generator")
        return None


def dp_config(epsilon: float | None, delta: float | None):
    """The engine's DP-SGD settings for a total ε, all of it for training (the domain is public; see above)."""
    if not epsilon:
        return None
    from mostlyai.engine.domain import DifferentialPrivacyConfig

    return DifferentialPrivacyConfig(max_epsilon=epsilon, delta=delta, value_protection_epsilon=0.0)


def spent_epsilon(folder: Path) -> float | None:
    """The ε the engine's accountant reached: its progress log's last row."""
    log = folder / "ModelStore/model-data/progress-messages.csv"
    try:
        frame = pd.read_csv(log)
    except (OSError, ValueError):
        return None
    if "dp_eps" not in frame.columns or frame["dp_eps"].dropna().empty:
        return None
    return round(float(frame["dp_eps"].dropna().iloc[-1]), 4)


def gpu_free() -> bool:
    """A CUDA device this process may use (the automatic choice tries the deep generator only there)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _device(setting: str) -> str:
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def workspace(prefix: str) -> Path:
    """A private working folder (mode 0700) under WORKBENCH_SCRATCH_DIR for the engine; the caller removes it."""
    scratch = Path(settings.SCRATCH_DIR)
    scratch.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=scratch))


def pack(folder: Path, names=KEPT) -> str:
    """The trained model's files (`names`, those present) as a base64 zip, to store encrypted with the version."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            if (folder / name).exists():
                archive.write(folder / name, name)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def unpack(archive: str, folder: Path, names=KEPT) -> None:
    """The stored model's files back into a working folder; only the names expected (an entry is never a path)."""
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(archive))) as files:
        for name in files.namelist():
            if name not in names:
                continue
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files.read(name))
