"""The interpreter's loop for right answers (issue 12): the answer's form, look before answering, the checks that send
a program back, candidate voting, and the batch mode of `manage.py ask`. The tests marked slow use the real models;
the others a scripted stand-in for the model (which we do not own), with the real sandbox."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from workbench.analysis.answers import AnswerForm, fill
from workbench.analysis.interpreter import Interpreter
from workbench.analysis.llm import Reply
from workbench.analysis.look import look, touched_columns
from workbench.analysis.sandbox import Limits, run

QUICK = Limits(cpu_seconds=10, wall_seconds=30)


class ScriptedModel:
    name = "scripted"

    def __init__(self, replies: list[str]):
        self.replies, self.prompts, self.options = list(replies), [], []

    def chat(self, messages, *, max_tokens=None, on_token=None, **options):
        self.prompts.append(messages)
        self.options.append(options)
        text = self.replies.pop(0)
        return Reply(text, 100, len(text.split()), 0.01, 0.001)


class FirstScriptedThenReal:
    """The first reply scripted (a program that misses a part of the question), the rest from the real model: the
    check step's repair is then the real model's to make."""

    def __init__(self, first: str, real):
        self.first, self.real, self.prompts = first, real, []
        self.name = real.name

    def chat(self, messages, **options):
        self.prompts.append(messages)
        if len(self.prompts) == 1:
            return Reply(self.first, 100, 10, 0.01, 0.001)
        return self.real.chat(messages, **options)


@pytest.fixture
def wards(tmp_path):
    frame = pd.DataFrame(
        {
            "ward": ["North", "South", "North", " East", "South", "North"],
            "age": [71, 64, np.nan, 80, 55, 90],
            "stay": [3.5, 2.0, 4.0, 8.5, 1.0, 6.0],
            "dose": ["12 mg", "8 mg", "10 mg", "4 mg", "6 mg", "9 mg"],
        }
    )
    path = tmp_path / "wards.parquet"
    frame.to_parquet(path)
    return frame, path


# --- the answer's form -------------------------------------------------------------------------------------------


def test_the_form_is_read_from_the_question_with_its_rounding():
    form = AnswerForm.of("What are the mean and the median age? Round to two decimals. Answer format: @mean_age[value] @median_age[value].")
    assert form.names == ["mean_age", "median_age"] and form.decimals == 2
    assert form.render({"mean_age": 41.23749, "median_age": 40.0}) == "@mean_age[41.24] @median_age[40.00]"
    mixed = AnswerForm.of("Report the share (two decimals) and the mean (four decimals). @share[value] @mean[value]")
    assert mixed.decimals is None  # two roundings asked: the model's own rounding is kept
    per_name = AnswerForm.of("Which year? @year[value] @mean[value rounded to three decimals]")
    assert per_name.decimals_for("mean") == 3 and per_name.decimals_for("year") is None
    assert AnswerForm.of("How many? Round to the nearest whole number. @n[value]").render({"n": 12.6}) == "@n[13]"
    assert not AnswerForm.of("What is the mean age?")


def test_a_count_stays_a_count_and_a_bracket_in_text_cannot_break_the_form():
    form = AnswerForm.of("Round to two decimals. @count[value] @city[name]")
    assert form.render({"count": 7, "city": "Bay [Area]"}) == "@count[7] @city[Bay (Area)]"


def test_the_check_names_what_is_missing_or_empty():
    form = AnswerForm.of("@mean_age[value] @patients[count]")
    assert "'patients'" in form.check({"mean_age": 41.0})
    assert "came out empty" in form.check({"mean_age": float("nan"), "patients": 3})
    assert form.check({"mean_age": 41.0, "patients": 3}) == ""
    assert "must be a dict" in form.check(None)


def test_a_result_is_read_as_the_form_when_it_can_be_without_guessing():
    form = AnswerForm.of("@usa[value] @non_usa[value]")
    series = {
        "kind": "table",
        "columns": ["Origin", "Price"],
        "rows": [["USA", 18.6], ["non-USA", 20.5]],
        "index_columns": 1,
        "total_rows": 2,
    }
    assert fill(form, series) == {"usa": 18.6, "non_usa": 20.5}
    positional = {"kind": "table", "record": True, "columns": ["name", "value"], "rows": [["0", 1.0], ["1", 2.0]], "index_columns": 1}
    assert fill(form, positional) == {"usa": 1.0, "non_usa": 2.0}
    loose = {"kind": "table", "record": True, "columns": ["name", "value"], "rows": [["USA", 1.0], ["Non_USA", 2.0]], "index_columns": 1}
    assert fill(form, loose) == {"usa": 1.0, "non_usa": 2.0}
    assert fill(AnswerForm.of("@n[value]"), {"kind": "value", "value": 4}) == {"n": 4}
    unrelated = {"kind": "table", "columns": ["ward", "stay"], "rows": [["North", 1.0], ["South", 2.0]], "index_columns": 1}
    assert fill(form, unrelated) is None


def test_a_dict_result_comes_back_from_the_sandbox_as_named_answers(tmp_path, wards):
    _, path = wards
    outcome = run('result = {"mean_stay": df["stay"].mean(), "wards": df["ward"].unique()}', path, limits=QUICK, scratch=tmp_path)
    assert outcome.ok, outcome.error
    assert outcome.result["record"] is True and outcome.result["rows"][0] == ["mean_stay", pytest.approx(25.0 / 6)]
    assert outcome.result["rows"][1][1] == "North, South,  East"
    listed = run("result = (1, 'two')", path, limits=QUICK, scratch=tmp_path)
    assert listed.result["record"] and listed.result["rows"] == [["0", 1], ["1", "two"]]


# --- look before answering ---------------------------------------------------------------------------------------


def test_look_finds_the_columns_a_question_names_or_quotes_and_shows_their_spelling(wards):
    frame, _ = wards
    assert touched_columns("mean stay by ward", frame) == ["ward", "stay"]
    assert touched_columns("how many patients were in 'East'?", frame) == ["ward"]  # by a value it quotes
    text = look("mean dose in the North ward, dropping missing age", frame)
    assert "`ward`" in text and "'North' (3)" in text and "spaces around them" in text
    assert "`age`" in text and "1 missing of 6" in text
    assert "`dose`" in text and "starts with a number" in text
    assert look("what is the answer?", frame) == ""


def test_what_look_reveals_reaches_the_prompt_after_the_schema(wards):
    frame, path = wards
    model = ScriptedModel(['```python\nresult = {"n": int((df["ward"].str.strip() == "East").sum())}\n```'])
    turn = Interpreter(model, limits=QUICK).ask("How many patients in 'East'? @n[value]", frame, path, summarise=False)
    last = model.prompts[0][-1]["content"]
    assert last.index("Table:") < last.index("What the question touches") < last.index("Question:")
    assert 'result = {"n": ...}' in last
    assert turn.answer == "@n[1]"


# --- checks --------------------------------------------------------------------------------------------------------


def test_a_column_the_table_lacks_is_sent_back_before_the_code_runs(wards):
    frame, path = wards
    model = ScriptedModel(
        [
            '```python\nresult = {"share": df["readmitted"].mean()}\n```',
            '```python\nresult = {"share": float((df["stay"] > 3).mean())}\n```',
        ]
    )
    turn = Interpreter(model, limits=QUICK).ask("What share stayed over 3 days? @share[value]", frame, path, summarise=False)
    repair = model.prompts[1][-1]["content"]
    assert "no column 'readmitted'" in repair and "'stay'" in repair
    assert len(model.prompts[1]) == len(model.prompts[0])  # the repair is one user message, not a second turn
    assert "A first attempt was" in repair and turn.answer == "@share[0.6666666667]"


def test_code_that_ignores_the_table_or_misses_a_part_is_sent_back(wards):
    frame, path = wards
    model = ScriptedModel(
        [
            '```python\nresult = {"mean": 4.2}\n```',
            '```python\nresult = {"mean": df["stay"].mean()}\n```',
            '```python\nresult = {"mean": df["stay"].mean(), "n": len(df)}\n```',
        ]
    )
    turn = Interpreter(model, repairs=2, limits=QUICK).ask("Mean stay and rows? @mean[value] @n[value]", frame, path, summarise=False)
    assert "does not use `df`" in model.prompts[1][-1]["content"]
    assert "lacks 'n'" in model.prompts[2][-1]["content"]
    assert turn.answer == "@mean[4.166666667] @n[6]" and not turn.failed


def test_an_empty_answer_is_sent_back_with_the_hint_to_check_spelling(wards):
    frame, path = wards
    model = ScriptedModel(
        [
            '```python\nresult = {"mean": df.loc[df["ward"] == "north", "stay"].mean()}\n```',
            '```python\nresult = {"mean": df.loc[df["ward"] == "North", "stay"].mean()}\n```',
        ]
    )
    turn = Interpreter(model, limits=QUICK).ask("Mean stay in the north ward? @mean[value]", frame, path, summarise=False)
    assert "came out empty" in model.prompts[1][-1]["content"] and turn.answer == "@mean[4.5]"


# --- candidates ----------------------------------------------------------------------------------------------------


def test_candidates_vote_and_the_answer_most_agree_on_wins(wards):
    frame, path = wards
    one, other = '```python\nresult = {"n": 3}\n```'.replace("3", 'int((df["stay"] > 3).sum())'), '```python\nresult = {"n": len(df)}\n```'
    model = ScriptedModel([other, one, one])
    turn = Interpreter(model, limits=QUICK, candidates=3, agree=2).ask(
        "How many stayed over 3 days? @n[value]", frame, path, summarise=False
    )
    assert turn.answer == "@n[4]" and turn.agreement == 2 and len(turn.candidates) == 3
    assert turn.sureness == "2 of 3 candidate programs gave this answer"
    assert model.options[0].get("temperature", 0) == 0 and model.options[1]["temperature"] > 0  # greedy first, then sampled
    assert model.options[1]["seed"] != model.options[2]["seed"]


def test_sampling_stops_as_soon_as_enough_candidates_agree(wards):
    frame, path = wards
    same = '```python\nresult = {"n": len(df)}\n```'
    model = ScriptedModel([same, same, same])
    turn = Interpreter(model, limits=QUICK, candidates=3, agree=2).ask("How many rows? @n[value]", frame, path, summarise=False)
    assert len(turn.candidates) == 2 and len(model.replies) == 1 and turn.agreement == 2


def test_a_tie_goes_to_the_greedy_candidate_and_a_failed_one_never_votes(wards):
    frame, path = wards
    model = ScriptedModel(['```python\nresult = {"n": len(df)}\n```', "```python\n1/0\n```", '```python\nresult = {"n": 2}\n```'])
    turn = Interpreter(model, repairs=0, limits=QUICK, candidates=3, agree=2).ask("Rows? @n[value]", frame, path, summarise=False)
    assert turn.answer == "@n[6]" and turn.agreement == 1 and [c.key for c in turn.candidates][1] == ""


# --- the batch mode --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_batch_mode_answers_many_questions_with_the_model_loaded_once_and_a_bad_line_does_not_stop_it(tmp_path, capsys, wards):
    frame, _ = wards
    csv = tmp_path / "wards.csv"
    frame.to_csv(csv, index=False)
    lines = tmp_path / "questions.jsonl"
    lines.write_text(
        json.dumps({"id": "a", "file": str(csv), "question": "How many patients are in the North ward? Answer format: @patients[count]."})
        + "\nnot json\n"
        + json.dumps({"id": "b", "file": str(tmp_path / "missing.csv"), "question": "rows?"})
        + "\n"
        + json.dumps({"id": "c", "file": str(csv), "question": "What is the largest stay? Answer format: @max_stay[value]."})
        + "\n"
    )
    call_command("ask", "--batch", str(lines), "--candidates", "1")
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert [a["id"] for a in answers] == ["a", 2, 3, "c"]
    assert answers[0]["answer"] == "@patients[3]" and answers[3]["answer"] == "@max_stay[8.5]", answers
    assert not answers[1]["ok"] and "Expecting value" in answers[1]["failed"]
    assert not answers[2]["ok"] and "No such file" in answers[2]["failed"]


# --- with the real default model ---------------------------------------------------------------------------------------


def _default_model():
    from workbench.analysis.llm import LocalModel

    return LocalModel.get("qwen2.5-coder-1.5b")


@pytest.mark.slow
def test_the_real_model_answers_in_the_form_asked_for(wards):
    frame, path = wards
    question = "What is the mean stay of patients aged over 60 (drop missing ages), and how many are they? Round to two decimals. Answer format: @mean_stay[value] @patients[count]."
    turn = Interpreter(_default_model(), limits=QUICK).ask(question, frame, path, summarise=False)
    older = frame.dropna(subset=["age"])
    older = older[older["age"] > 60]
    assert re.fullmatch(r"@mean_stay\[\d+\.\d\d\] @patients\[\d+\]", turn.answer), turn.answer
    assert turn.answer == f"@mean_stay[{older['stay'].mean():.2f}] @patients[{len(older)}]"


@pytest.mark.slow
def test_the_real_model_s_candidates_vote_and_the_turn_says_how_many_agreed(wards):
    frame, path = wards
    turn = Interpreter(_default_model(), limits=QUICK, candidates=3, agree=2).ask(
        "How many patients stayed longer than 3 days? Answer format: @patients[count].", frame, path, summarise=False
    )
    assert len(turn.candidates) >= 2 and turn.agreement >= 2, [c.to_json() for c in turn.candidates]
    assert [e["temperature"] for e in turn.exchanges][:2] == [0.0, 0.7]
    assert turn.answer == f"@patients[{int((frame['stay'] > 3).sum())}]"
    assert turn.sureness.endswith("candidate programs gave this answer")


@pytest.mark.slow
def test_the_check_step_sends_a_program_that_misses_a_part_back_and_the_real_model_repairs_it(wards):
    frame, path = wards
    model = FirstScriptedThenReal('```python\nresult = {"longest": df["stay"].max()}\n```', _default_model())
    turn = Interpreter(model, limits=QUICK).ask(
        "What is the longest stay and the shortest stay? Answer format: @longest[value] @shortest[value].", frame, path, summarise=False
    )
    assert "lacks 'shortest'" in model.prompts[1][-1]["content"]
    assert turn.answer == "@longest[8.5] @shortest[1]", turn.answer
    assert turn.candidates[0].attempts == 2
