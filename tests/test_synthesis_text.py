"""Synthetic free text: the text model learns the notes with their identifiers replaced by tags, writes new
notes for the synthetic rows through the job, and no name, record number, phone, e-mail or address of the real
table reaches the copy, its report or its stored model; a request it cannot serve is refused before anything runs."""

import base64
import io
import json
import zipfile

import pandas as pd
import pytest

from workbench.datasets.models import Version
from workbench.jobs.models import Job
from workbench.synthesis import text

IDENTIFIERS = ["patient_name", "mrn", "phone", "email", "address"]

needs_engine = pytest.mark.skipif(not text.available(), reason="the text model's packages (requirements-gpu.txt) are not installed")


def identifiers_of(frame: pd.DataFrame) -> list[str]:
    """Every identifying value of the demo table, as it could appear in a note."""
    values = set()
    for column in IDENTIFIERS:
        values |= {v.strip() for v in frame[column].dropna().astype(str)}
    return sorted(values, key=len, reverse=True)


def test_the_text_the_model_learns_holds_no_identifier_of_the_row_and_the_secrets_are_collected():
    from workbench.console.demo import demo_table

    demo = demo_table().head(60)
    learnt, secrets = text.training_texts(
        demo,
        ["clinical_notes"],
        {"patient_name": "PERSON", "mrn": "MEDICAL_RECORD_NUMBER", "phone": "PHONE_NUMBER", "email": "EMAIL_ADDRESS", "address": "ADDRESS"},
    )
    assert len(learnt) == len(demo) and learnt["clinical_notes"].notna().all()
    notes = " ".join(learnt["clinical_notes"])
    leaked = [v for v in identifiers_of(demo) if v in notes]
    assert not leaked, leaked[:3]
    surnames = {name.split()[-1] for name in demo["patient_name"]}
    assert not [s for s in surnames if f" {s} " in f" {notes} "]
    assert "<PERSON>" in notes and ("<PHONE_NUMBER>" in notes or "<EMAIL_ADDRESS>" in notes)
    # what the copy must never hold: the identifier columns' values, and entities the scanner found in the text
    assert set(demo["patient_name"]) <= set(secrets) and set(demo["mrn"]) <= set(secrets)


def test_a_real_identifier_in_written_text_is_replaced_and_counted_and_tags_become_fresh_surrogates():
    import numpy as np

    written = pd.Series(["Seen <PERSON> today; call <PHONE_NUMBER>.", "Jane Q Doe was seen, MRN1234567.", None, "No names here."])
    scrubbed, found = text.scrub(written, ["Jane Q Doe", "MRN1234567"])
    assert found == 2 and scrubbed[1] == "<REDACTED> was seen, <REDACTED>." and pd.isna(scrubbed[2]) and scrubbed[3] == "No names here."
    # written another way, still found: case, brackets and dashes aside
    again, found = text.scrub(pd.Series(["call (555) 123-4567 or JANE Q. DOE"]), ["555-123-4567", "Jane Q Doe"])
    assert found == 2 and again[0] == "call (<REDACTED> or <REDACTED>", again[0]
    filled = text.fill_tags(scrubbed, np.random.default_rng(0))
    assert "<PERSON>" not in filled[0] and "<PHONE_NUMBER>" not in filled[0] and filled[0].startswith("Seen ")
    assert filled[1] == scrubbed[1]  # other tags stay as they are


def test_write_text_is_for_free_text_only_and_a_direct_identifier_is_refused():
    from workbench.synthesis.base import SynthesisError, check_choices, make_plan

    frame = pd.DataFrame(
        {"age": range(40), "ward": ["A", "B"] * 20, "note": [f"Patient {i} says the knee hurts after a fall" for i in range(40)]}
    )
    schema = [{"name": "age", "type": "int"}, {"name": "ward", "type": "category"}, {"name": "note", "type": "text"}]
    plan, _ = make_plan(frame, schema, None, {"note": "write text"})
    assert plan.texts == ["note"] and plan.fills["note"] == {"how": "text"} and "language model" in plan.reasons["note"]
    with pytest.raises(SynthesisError, match="'ward' is not free text"):
        make_plan(frame, schema, None, {"ward": "write text"})
    scan = {"columns": [{"name": "note", "kind": "direct_identifier", "entity": "PERSON"}]}
    with pytest.raises(SynthesisError, match="direct identifier"):
        check_choices({"note": "write text"}, list(frame.columns), scan)


@pytest.fixture
def raw(uploaded):
    from workbench.console.demo import demo_table

    return uploaded(demo_table().to_csv(index=False).encode(), filename="demo.csv")


def post(api, user, version, body, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return api(user, "post", f"/api/v1/versions/{version.pk}/synthesize", data=body, content_type="application/json")


@needs_engine
@pytest.mark.django_db
def test_the_demo_s_notes_round_trip_through_the_job_with_no_training_identifier_in_the_copy(
    api, client, users, raw, settings, django_capture_on_commit_callbacks
):
    from workbench.console.demo import demo_table

    settings.SYNTH_TEXT_MAX_EPOCHS = 40  # about 40 s here: enough to write notes; the test is about what reaches the copy
    settings.SYNTH_DEEP_DEVICE = "cpu"
    plan = api("alice", "get", f"/api/v1/versions/{raw.pk}/synthesis-plan").json()["plan"]
    notes = next(c for c in plan["columns"] if c["column"] == "clinical_notes")
    assert notes["text"] and plan["text_model"]
    response = post(api, "alice", raw, {"seed": 2, "columns": {"clinical_notes": "write text"}}, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job"]["id"])
    assert job.status == "succeeded", job.error
    assert job.queue == settings.SYNTH_DEEP_QUEUE  # the text model runs where the deep generator does
    synthetic = Version.objects.get(pk=job.result["version"])
    download = api("bob", "get", f"/api/v1/versions/{synthetic.pk}/download?format=csv")
    copy = pd.read_csv(io.StringIO(b"".join(download.streaming_content).decode()))
    written = copy["clinical_notes"].dropna()
    assert len(written) >= 0.9 * len(copy) and written.str.len().median() > 10  # text, one per row
    demo = demo_table()
    body = "\n".join(written)
    assert not [v for v in identifiers_of(demo) if v in body]
    assert not set(written) & set(demo["clinical_notes"])  # no real note copied
    report = api("bob", "get", f"/api/v1/versions/{synthetic.pk}/evaluation").json()["report"]
    measures = report["text"]["clinical_notes"]
    assert measures["synthetic_texts"] == len(written) and measures["real_texts"] > 0 and "identifiers_found" in measures
    assert report["generator"]["text"]["columns"] == ["clinical_notes"]
    assert "clinical_notes" in [c["column"] for c in report["unmodelled"]]  # scored like every column, with its reason
    assert report["fidelity"]["columns_scored"] == len(copy.columns)
    # the stored model: the network, its tokenizer and statistics, none of them holding a real identifier
    from workbench.storage import read_encrypted_json, sibling_path, unwrap_key

    model = read_encrypted_json(sibling_path(synthetic.file, "model"), unwrap_key(synthetic.dataset.wrapped_key))
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(model["text"]["archive"]))) as archive:
        stored = " ".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist() if n.endswith(".json"))
    assert not [v for v in identifiers_of(demo) if v in stored]
    assert not [n for n in demo["patient_name"] if n in json.dumps(report)]
    client.force_login(users["bob"])
    page = client.get(f"/v/{synthetic.pk}/").content.decode()
    assert 'aria-label="synthetic text"' in page


@pytest.mark.django_db
def test_write_text_on_a_column_that_is_not_free_text_is_refused_and_starts_nothing(api, raw, django_capture_on_commit_callbacks):
    response = post(api, "alice", raw, {"columns": {"stage": "write text"}}, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and "'stage' is not free text" in response.json()["error"], response.content
    response = post(api, "alice", raw, {"columns": {"patient_name": "write text"}}, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and "direct identifier" in response.json()["error"], response.content
    assert not Job.objects.filter(kind="synthesize").exists()


@pytest.mark.django_db
def test_write_text_without_the_text_model_s_packages_says_what_to_install(api, raw, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(text, "available", lambda: False)
    response = post(api, "alice", raw, {"columns": {"clinical_notes": "write text"}}, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and "requirements-gpu.txt" in response.json()["error"], response.content
    assert not Job.objects.filter(kind="synthesize").exists()


@pytest.mark.django_db
def test_the_text_model_s_epsilon_is_checked_and_spent_from_the_same_budget(api, raw, settings, django_capture_on_commit_callbacks):
    from workbench.synthesis.models import PrivacySpend

    settings.DP_BUDGET_EPSILON = 3.0
    for body, message in [
        ({"text_epsilon": 1.0}, 'applies when a column is set to "write text"'),
        ({"columns": {"clinical_notes": "write text"}, "text_epsilon": -1}, "text_epsilon must be a number above 0"),
        ({"columns": {"clinical_notes": "write text"}, "text_epsilon": 5.0}, "would spend ε = 5"),
        ({"method": "deep", "epsilon": 2.0, "columns": {"clinical_notes": "write text"}, "text_epsilon": 1.5}, "would spend ε = 3.5"),
    ]:
        response = post(api, "alice", raw, body, django_capture_on_commit_callbacks)
        assert response.status_code == 400 and message in response.json()["error"], (body, response.content)
    assert not PrivacySpend.objects.exists() and not Job.objects.filter(kind="synthesize").exists()


def tiny_causal_model(folder, texts: list[str]):
    """A causal language model made here from a configuration (a 2-layer GPT-2 with a byte-level BPE tokenizer trained on
    `texts`): what a site brings as a local folder, without downloading anything."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer, tokenizer.decoder = pre_tokenizers.ByteLevel(add_prefix_space=False), decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<unk>", "<s>", "</s>", "<pad>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.save_pretrained(folder)
    config = GPT2Config(
        vocab_size=len(fast), n_positions=256, n_embd=32, n_layer=2, n_head=2,
        bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
    )  # fmt: skip
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


@needs_engine
def test_a_sites_pretrained_model_is_fine_tuned_with_lora_under_dp_sgd_and_only_the_adapter_is_kept(tmp_path, settings):
    from workbench.console.demo import demo_table
    from workbench.synthesis.run import synthesize

    demo = demo_table().head(150)
    folder = tiny_causal_model(tmp_path / "site-model", [str(t) for t in demo["clinical_notes"]])
    settings.SYNTH_TEXT_MODEL = str(folder)
    from tests.test_synthesis import ingest

    real, schema = ingest(demo, tmp_path)
    synthetic, report, model = synthesize(
        real.to_pandas(), schema, method="copula", choices={"clinical_notes": "write text"}, text_epsilon=4.0, text_epochs=2, seed=1
    )
    written = report["generator"]["text"]
    assert written["engine"] == "mostlyai-engine, site-model with LoRA" and model["text"]["model"] == str(folder.resolve())
    assert written["epsilon"] == 4.0 and 0 < written["epsilon_reached"] <= 4.0  # DP-SGD stopped within its ε
    files = zipfile.ZipFile(io.BytesIO(base64.b64decode(model["text"]["archive"]))).namelist()
    adapter = [name for name in files if name.endswith("adapter_model.safetensors")]
    assert adapter and not any(name.endswith("/model.safetensors") for name in files)  # the base weights stay at the site
    assert synthetic["clinical_notes"].map(lambda t: isinstance(t, str)).mean() > 0.5 and len(synthetic) == len(demo)


def test_a_text_model_setting_that_is_not_a_local_model_folder_is_refused_and_nothing_is_downloaded(tmp_path, settings):
    from workbench.synthesis.base import SynthesisError

    settings.SYNTH_TEXT_MODEL = "gpt2"  # a hub name: never fetched
    with pytest.raises(SynthesisError, match="no config.json"):
        text.TextWriter()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SynthesisError, match="never downloaded"):
        text.local_model(str(tmp_path / "empty"))
    assert text.local_model("") == text.MODEL
