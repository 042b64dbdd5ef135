"""Synthetic free text: a small language model trained here, on this table's text, that writes new text for
each synthetic row given the row's other columns.

The model is MOSTLY AI's language engine (`mostlyai-engine`, Apache-2.0) with its LSTM trained from scratch: it
trains its own tokenizer and needs no downloaded weights. It learns the rows' context (the modelled columns,
as JSON) followed by the text, so a note for a stage-4 patient reads like one.

What it learns from is never the raw text. Every entity the scanner finds, and every value of the row's own
identifier columns (its name, phone, record number…), is replaced by its type's tag before training
(`<PERSON> seen in clinic on <DATE_TIME>`), as the ANONYMIZED tier does; an ANONYMIZED version's text is used as
it is. After sampling, the tags of names, phones, e-mails and addresses are filled with fresh surrogates that
belong to no one, and the text is searched for every identifier of the real table (the identifier columns'
values and the entities found in the real text): each one found is replaced by its tag and counted in the
report, so a name the scanner missed and the model learnt anyway still never reaches the copy.

Trained with `epsilon`, the network is fitted under DP-SGD (opacus, through the engine): the text model's
(ε, δ) hold for the rows it learnt from; as for the deep generator, the context columns' domain is public.
"""

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings

from workbench.synthesis.base import SynthesisError

MODEL = "MOSTLY_AI/LSTMFromScratch-3m"
MAX_CONTEXT_COLUMNS = 6  # the row's columns the text is conditioned on (see `choose_context`); each one lengthens every sequence
KEY = "__row"
KEPT = (
    "ModelStore/model-data/model.safetensors",
    "ModelStore/model-data/config.json",
    "ModelStore/model-data/generation_config.json",
    "ModelStore/model-data/tokenizer.json",
    "ModelStore/model-data/tokenizer_config.json",
    "ModelStore/model-data/model-configs.json",
    # a site's pretrained model fine-tuned with LoRA: the adapter only (the base weights stay in the site's folder)
    "ModelStore/model-data/adapter_model.safetensors",
    "ModelStore/model-data/adapter_config.json",
    "ModelStore/model-data/special_tokens_map.json",
    "ModelStore/model-data/chat_template.jinja",
    "ModelStore/tgt-stats/stats.json",
    "ModelStore/ctx-stats/stats.json",
)
CONTEXT_ENCODINGS = {
    "category": "LANGUAGE_CATEGORICAL",
    "bool": "LANGUAGE_CATEGORICAL",
    "int": "LANGUAGE_NUMERIC",
    "float": "LANGUAGE_NUMERIC",
    "date": "LANGUAGE_DATETIME",
    "datetime": "LANGUAGE_DATETIME",
}
TAG = re.compile(r"<([A-Z][A-Z0-9_]{1,40})>")
FILLED_TAGS = {"PERSON": "name", "PHONE_NUMBER": "phone", "EMAIL_ADDRESS": "email", "ADDRESS": "address", "LOCATION": "address"}
WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)  # a word of the vocabulary measures
WORDS = re.compile(r"\w+", re.UNICODE)  # the words identifiers are matched on


def _engine():
    from workbench.synthesis.deep import _engine as engine

    try:
        import xgrammar  # noqa: F401  (the engine's language path imports it)
    except ImportError:
        raise SynthesisError(
            "Writing synthetic text needs the GPU worker's packages (pip install -r requirements-gpu.txt); this worker "
            "does not have them. Leave the text column out, or run a worker that has them."
        ) from None
    return engine()


def available() -> bool:
    try:
        _engine()
    except SynthesisError:
        return False
    return True


def training_texts(frame: pd.DataFrame, columns: list[str], identifiers: dict[str, str | None]) -> tuple[pd.DataFrame, list[str]]:
    """The text columns as the model learns them, every entity and every value of the row's identifier columns
    replaced by its tag; with the strings found, which the copy must never hold (see `scrub`)."""
    from workbench.privacy.policy import find_entities, replace_entities

    known = [[] for _ in range(len(frame))]
    secrets_ = set()
    for name, entity in identifiers.items():
        tag = f"<{entity or 'ID'}>"
        for position, value in enumerate(frame[name].astype("string").tolist()):
            if value is None or value is pd.NA or len(value.strip()) < 3 or (value.strip().isdigit() and len(value.strip()) < 5):
                continue  # a short number (a row's sequence number) is not searched for: "123" is a platelet count too
            known[position].append((value.strip(), tag))
            secrets_.add(value.strip())
            if entity == "PERSON":  # a note may name the patient by surname or first name alone
                known[position].extend((part, tag) for part in value.split() if len(part) >= 3)
    out = {}
    for name in columns:
        texts = frame[name].astype("string").astype(object).where(frame[name].notna(), None).tolist()
        spans = find_entities(texts)
        rows_with = {}
        for position, (text, found) in enumerate(zip(texts, spans)):
            for span in found:
                value = text[span["start"] : span["end"]].strip()
                if _identifying(value, span["type"]):
                    rows_with.setdefault(value, set()).add(position)
        # an entity in many rows' text is the template's wording ("g/dL. Call"), not someone's identifier
        common = max(3, int(0.01 * len(texts)))
        secrets_ |= {value for value, rows in rows_with.items() if len(rows) <= common}
        out[name] = replace_entities(frame[name].reset_index(drop=True), secret=b"", style="tag", known=known, spans=spans)
    return pd.DataFrame(out), sorted(secrets_, key=len, reverse=True)


def _identifying(value: str, kind: str) -> bool:
    """An entity string that points at someone on its own: a full name, or a number, code, e-mail or address.
    A lone first name or a bare date is not searched for (it would flag every copy that says "John")."""
    if len(value) < 4:
        return False
    if kind == "PERSON":
        return len(value.split()) >= 2
    if kind in ("DATE_TIME", "NRP", "AGE"):
        return False
    return any(c.isdigit() for c in value) or "@" in value or len(value.split()) >= 2


def choose_context(texts: pd.DataFrame, context: pd.DataFrame, kinds: dict[str, str]) -> list[str]:
    """The columns the text is conditioned on: those whose value the row's text states most often (a note that
    gives the row's bilirubin), then the first others, MAX_CONTEXT_COLUMNS in all."""
    usable = [c for c in context.columns if kinds.get(c) in CONTEXT_ENCODINGS]
    if not usable or texts.empty:
        return []
    joined = texts.astype("string").fillna("").agg(" ".join, axis=1).reset_index(drop=True)
    sample = joined.sample(min(len(joined), 2000), random_state=0).index
    stated = {}
    for name in usable:
        values = context[name].reset_index(drop=True).iloc[sample].astype("string")
        hits = [
            v is not pd.NA and len(v) >= 2 and re.search(r"(?<![\w.])" + re.escape(v) + r"(?![\w])", joined.iloc[i]) is not None
            for i, v in zip(sample, values)
        ]
        stated[name] = float(np.mean(hits)) if hits else 0.0
    ranked = sorted((c for c in usable if stated[c] >= 0.05), key=lambda c: -stated[c])
    rest = [c for c in usable if c not in ranked]
    return (ranked + rest)[:MAX_CONTEXT_COLUMNS]


def local_model(setting: str | None) -> str:
    """The text model to train: the LSTM from scratch, or a causal language model in a local folder (never a name to
    download: a setting that is not a folder with a config.json is refused)."""
    if not setting:
        return MODEL
    folder = Path(setting).expanduser()
    if not (folder / "config.json").is_file():
        raise SynthesisError(
            f"The text model folder '{folder}' (WORKBENCH_TEXT_MODEL) has no config.json: bring the model's weights, configuration "
            "and tokenizer as a local folder; models are never downloaded."
        )
    return str(folder.resolve())


class TextWriter:
    """One language model for every text column of a table, conditioned on the row's modelled columns."""

    def __init__(
        self,
        *,
        max_epochs: float | None = None,
        max_minutes: float | None = None,
        device: str | None = None,
        epsilon: float | None = None,
        delta: float | None = None,
        model: str | None = None,
    ):
        self.model = local_model(model if model is not None else settings.SYNTH_TEXT_MODEL)
        self.max_epochs = float(max_epochs or settings.SYNTH_TEXT_MAX_EPOCHS)
        self.max_minutes = float(max_minutes or settings.SYNTH_TEXT_MAX_MINUTES)
        self.device = device or settings.SYNTH_DEEP_DEVICE
        self.epsilon = epsilon
        self.delta = delta if delta is not None else (settings.DP_DELTA_PER_RUN if epsilon else None)
        self.progress = lambda percent, message: None
        self.spent = None

    def fit(self, texts: pd.DataFrame, context: pd.DataFrame, kinds: dict[str, str], *, seed: int = 0) -> None:
        from workbench.synthesis.deep import _device, dp_config, pack, spent_epsilon, workspace

        engine = _engine()
        self.columns = list(texts.columns)
        self.context = choose_context(texts, context, kinds)
        self.kinds = {c: kinds[c] for c in self.context}
        device = _device(self.device)
        keys = pd.RangeIndex(len(texts))
        target = pd.DataFrame({KEY: keys, **{c: texts[c].astype("string").to_numpy() for c in self.columns}})
        folder = workspace("text-")
        try:
            engine.set_random_state(seed)
            with_context = {"ctx_data": self._context_frame(context, keys), "ctx_primary_key": KEY, "tgt_context_key": KEY}
            engine.split(
                tgt_data=target if self.context else target.drop(columns=[KEY]),
                model_type="LANGUAGE",
                tgt_encoding_types={c: "LANGUAGE_TEXT" for c in self.columns},
                ctx_encoding_types={c: CONTEXT_ENCODINGS[self.kinds[c]] for c in self.context},
                workspace_dir=folder,
                **(with_context if self.context else {}),
            )
            privacy = dp_config(self.epsilon, self.delta)  # all of ε for DP-SGD; the context's domain is public under DP
            engine.analyze(workspace_dir=folder, value_protection=privacy is None)
            engine.encode(workspace_dir=folder)
            engine.train(
                workspace_dir=folder,
                model=self.model,
                max_epochs=self.max_epochs,
                max_training_time=self.max_minutes,
                device=device,
                differential_privacy=privacy,
                update_progress=_Progress(self.progress, "Training the text model"),
            )
            self.spent = spent_epsilon(folder) if self.epsilon else None
            self.archive = pack(folder, KEPT)
        except SynthesisError:
            raise
        except Exception as error:  # the engine's messages can quote the text: name the failure only
            if type(error).__name__ == "JobCancelled":
                raise
            raise SynthesisError(f"The text model failed while training ({type(error).__name__}).") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.device_used = device
        self.rows_fitted = len(texts)

    def sample(self, context: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
        """One text per row of `context` (the synthetic rows), in its order."""
        from workbench.synthesis.deep import _device, unpack, workspace

        engine = _engine()
        keys = pd.RangeIndex(len(context))
        folder = workspace("text-")
        try:
            unpack(self.archive, folder, KEPT)
            engine.set_random_state(seed)
            engine.generate(
                workspace_dir=folder,
                device=_device(self.device),
                update_progress=_Progress(self.progress, "Writing synthetic text"),
                **({"ctx_data": self._context_frame(context, keys)} if self.context else {"sample_size": len(context)}),
            )
            generated = pd.read_parquet(folder / "SyntheticData")
            if not self.context:
                generated[KEY] = range(len(generated))
        except Exception as error:
            if type(error).__name__ == "JobCancelled":
                raise
            raise SynthesisError(f"The text model failed while writing ({type(error).__name__}).") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        generated = generated.set_index(KEY).reindex(keys)
        return pd.DataFrame({c: generated[c].astype(object).where(generated[c].notna(), None) for c in self.columns}).reset_index(drop=True)

    def _context_frame(self, context: pd.DataFrame, keys: pd.RangeIndex) -> pd.DataFrame:
        frame = {KEY: keys}
        for name in self.context:
            values = context[name].reset_index(drop=True)
            if self.kinds[name] in ("date", "datetime"):
                values = pd.to_datetime(values, errors="coerce")
            elif self.kinds[name] in ("int", "float"):
                values = pd.to_numeric(values, errors="coerce")
            else:
                values = values.astype("string")
            frame[name] = values.to_numpy()
        return pd.DataFrame(frame)

    def to_json(self) -> dict:
        return {
            "engine": f"mostlyai-engine {MODEL}" if self.model == MODEL else f"mostlyai-engine, {Path(self.model).name} with LoRA",
            "model": self.model,
            "columns": self.columns,
            "context": self.context,
            "kinds": self.kinds,
            "max_epochs": self.max_epochs,
            "max_minutes": self.max_minutes,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "archive": self.archive,  # zip of the network, its tokenizer and the column statistics, base64
        }


def fill_tags(texts: pd.Series, rng: np.random.Generator) -> pd.Series:
    """The tags of names, phones, e-mails and addresses the model wrote, filled with fresh surrogates; other tags
    (dates, record numbers) are left as tags."""
    from workbench.privacy.operators import _surrogates

    def fill(text):
        if not isinstance(text, str):
            return text

        def one(match):
            kind = FILLED_TAGS.get(match.group(1))
            if kind is None:
                return match.group(0)
            words = rng.integers(0, 2**32, size=(1, 8), dtype=np.uint64).astype(np.uint32)
            return _surrogates(kind, words)[0]

        return TAG.sub(one, text)

    return texts.map(fill)


def scrub(texts: pd.Series, secrets_: list[str]) -> tuple[pd.Series, int]:
    """Every real identifier found in the synthetic text replaced by <REDACTED>; returns the text and how many were found.

    Matched on words, case and punctuation aside ("(555) 123-4567" is found as "555 123-4567"), by looking each
    run of words up in a set: linear in the text, whatever the number of identifiers."""
    wanted = {key for key in (_words(s) for s in secrets_) if key}
    if not wanted:
        return texts, 0
    lengths = sorted({len(key) for key in wanted}, reverse=True)
    found = 0

    def clean(text):
        nonlocal found
        if not isinstance(text, str):
            return text
        words = list(WORDS.finditer(text))
        keys = [w.group(0).lower() for w in words]
        spans, position = [], 0
        while position < len(words):
            for length in lengths:
                if position + length <= len(words) and tuple(keys[position : position + length]) in wanted:
                    spans.append((words[position].start(), words[position + length - 1].end()))
                    position += length
                    break
            else:
                position += 1
        for start, end in reversed(spans):
            text = text[:start] + "<REDACTED>" + text[end:]
        found += len(spans)
        return text

    return texts.map(clean), found


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.group(0).lower() for w in WORDS.finditer(text))


def measures(real: pd.Series, synthetic: pd.Series, learnt: pd.Series, found: int, *, written: pd.Series | None = None) -> dict:
    """How the synthetic text compares with the real: lengths, vocabulary, copies of training text (the model's
    output, tags unfilled, against the tagged text it learnt), identifiers found."""
    from scipy.stats import ks_2samp

    real_text, synthetic_text = (values.dropna().astype(str) for values in (real, synthetic))
    # an empty text is no text (a CSV of the copy reads it back as missing)
    real_text, synthetic_text = real_text[real_text != ""], synthetic_text[synthetic_text != ""]
    if real_text.empty or synthetic_text.empty:
        return {"real_texts": len(real_text), "synthetic_texts": len(synthetic_text), "identifiers_found": found}
    real_words = [w.lower() for t in real_text for w in WORD.findall(t)]
    synthetic_words = [w.lower() for t in synthetic_text for w in WORD.findall(t)]
    vocabulary = set(real_words)
    top = set(pd.Series(real_words).value_counts().index[:1000]) if real_words else set()
    synthetic_top = set(pd.Series(synthetic_words).value_counts().index[:1000]) if synthetic_words else set()
    lengths_real, lengths_synthetic = real_text.str.len(), synthetic_text.str.len()
    output = synthetic_text if written is None else written.dropna().astype(str)
    counts = learnt.dropna().astype(str).value_counts()
    copies = output.isin(set(counts.index))
    rare = output.isin(set(counts[counts < 5].index))  # a template line many notes share discloses no one; a rare note may
    return {
        "real_texts": len(real_text),
        "synthetic_texts": len(synthetic_text),
        "missing_share_real": round(float(real.isna().mean()), 4),
        "missing_share_synthetic": round(float(synthetic.isna().mean()), 4),
        "median_length_real": float(lengths_real.median()),
        "median_length_synthetic": float(lengths_synthetic.median()),
        "length_similarity": round(1 - float(ks_2samp(lengths_real, lengths_synthetic).statistic), 4),
        "known_word_share": round(float(np.mean([w in vocabulary for w in synthetic_words])) if synthetic_words else 0.0, 4),
        "top_words_overlap": round(len(top & synthetic_top) / max(1, len(top | synthetic_top)), 4),
        "copies_of_training_text": int(copies.sum()),
        "copies_of_rare_training_text": int(rare.sum()),
        "identifiers_found": found,
    }


class _Progress:
    def __init__(self, report, message: str):
        self.report, self.message = report, message

    def __call__(self, total=None, completed=None, advance=None, message=None, **kwargs):
        if total and completed is not None:
            self.report(50 + 15 * min(completed / total, 1.0), self.message)
        return None
