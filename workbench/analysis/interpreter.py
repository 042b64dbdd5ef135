"""One question, answered: the prompt (the safe tier's schema with a few example values, short rules, worked
examples, the recent turns), the model's code block, a run in the sandbox, repairs fed the traceback for a bounded
number of rounds, and a short answer in words. Every prompt and reply is kept on the turn for review.

The table handed in here must be the safe tier (SYNTHETIC or ANONYMIZED): its values are the only ones a prompt
ever holds.
"""

import difflib
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench.analysis.answers import AnswerForm, fill
from workbench.analysis.look import look
from workbench.analysis.sandbox import Limits, Outcome, run

SYSTEM = """You are a careful data analyst. You answer questions about one table by writing Python.
The table is already loaded as the pandas DataFrame `df`; `pd` (pandas), `np` (numpy), `px` (plotly.express)
and `go` (plotly.graph_objects) are already imported.

Reply with exactly one ```python code block that:
- computes the answer from `df` and assigns it to a variable named `result`: a number, a short string, a small
  pandas Series/DataFrame (for "by group" questions, indexed by the group), or — when the question names the parts
  of its answer — a dict with exactly those names as keys;
- for a question with several parts, starts with one comment line per part (# 1. ..., # 2. ...) and answers each;
- follows every constraint of the question (method, filters, rounding, split sizes, random_state);
- uses only the column names of this table, spelled exactly; the worked examples' columns are not in this table;
- filters on values exactly as the table spells them (see the values listed);
- drops missing values only in the columns it uses (df.dropna(subset=[...])), never the whole table;
- computes every number from `df`, never copies one from the description;
- when a chart is asked for, also assigns a plotly figure to `fig` (px.bar, px.histogram, px.scatter, px.line, px.box);
- does not read or write files and imports only pandas, numpy, scipy, sklearn, statsmodels, plotly or math.
Write no explanation outside the code block."""

EXAMPLES = [
    (
        "Table: 5,210 rows, 4 columns.\nColumns:\n- `ward_code` (text; 0 missing; 6 distinct; e.g. 'A', 'C', 'F')\n"
        "- `age_years` (integer; 12 missing; range 18 to 97, mean 61.3)\n- `stay_days` (decimal; 0 missing; range 0.5 to 44.0, mean 5.1)\n"
        "- `came_back` (boolean; 0 missing; e.g. True, False)\n\nQuestion: average length of stay by ward as a bar chart",
        '```python\nresult = df.groupby("ward_code")["stay_days"].mean().round(2).sort_values(ascending=False)\n'
        'fig = px.bar(result.reset_index(), x="ward_code", y="stay_days", title="Average length of stay by ward (days)")\n```',
    ),
    (
        "Question: Among patients over 65 (drop rows with a missing age), what share came back, and how many such patients "
        "are there? Share as a fraction rounded to four decimals. Answer format: @share[value] @patients[count].\n"
        'Answer with `result = {"share": ..., "patients": ...}` — a dict with exactly these 2 keys, in this order, each a '
        "single number or short text (not a Series or DataFrame). Round numbers to 4 decimals.",
        '```python\n# 1. share of patients over 65 who came back\n# 2. number of patients over 65\nolder = df.dropna(subset=["age_years"])\n'
        'older = older[older["age_years"] > 65]\nresult = {"share": round(float(older["came_back"].mean()), 4), "patients": int(len(older))}\n```',
    ),
]


CODE_STOP = ["\n```\n", "\n``` \n"]


@dataclass
class Candidate:
    """One sampled program, after its repairs: what it gave, and the key it votes with."""

    code: str
    outcome: Outcome | None
    attempts: int
    problem: str = ""
    key: str = ""
    record: dict | None = None  # the named answers, when the question asked for a form

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "ok": bool(self.outcome and self.outcome.ok and not self.problem),
            "attempts": self.attempts,
            "problem": self.problem,
            "answer": self.key,
        }


@dataclass
class Turn:
    question: str
    code: str = ""
    outcome: Outcome | None = None
    answer: str = ""
    attempts: int = 0
    exchanges: list[dict] = field(default_factory=list)  # every prompt and reply, for review
    seconds: float = 0.0
    model_seconds: float = 0.0
    failed: str = ""
    candidates: list[Candidate] = field(default_factory=list)
    agreement: int = 0  # how many candidates gave the chosen answer
    form: list[str] = field(default_factory=list)  # the names the question asked its answer to carry

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "code": self.code,
            "outcome": self.outcome.to_json() if self.outcome else None,
            "answer": self.answer,
            "attempts": self.attempts,
            "exchanges": self.exchanges,
            "seconds": round(self.seconds, 3),
            "model_seconds": round(self.model_seconds, 3),
            "failed": self.failed,
            "candidates": [c.to_json() for c in self.candidates],
            "agreement": self.agreement,
            "form": self.form,
            "tokens": sum(e.get("prompt_tokens", 0) + e.get("completion_tokens", 0) for e in self.exchanges),
        }

    @property
    def sureness(self) -> str:
        """How sure the turn is, in words: how many of the candidates agreed."""
        ran = len(self.candidates)
        if ran <= 1:
            return ""
        return f"{self.agreement} of {ran} candidate programs gave this answer"


def describe_table(frame: pd.DataFrame, *, examples: int = 3) -> str:
    """Names, types, missing counts and a few example values (from this table only), ranges of numbers and dates."""
    lines = [f"Table: {len(frame):,} rows, {len(frame.columns)} columns.", "Columns:"]
    for name in frame.columns:
        values = frame[name]
        present = values.dropna()
        kind = _kind(values)
        parts = [kind, f"{int(values.isna().sum()):,} missing"]
        if kind in ("integer", "decimal") and len(present):
            parts.append(f"range {_short(present.min())} to {_short(present.max())}, mean {_short(present.mean())}")
        elif kind in ("date", "datetime") and len(present):
            parts.append(f"range {present.min()} to {present.max()}")
        else:
            distinct = present.astype(str).value_counts()
            parts.append(f"{len(distinct):,} distinct")
            if len(distinct):
                shown = ", ".join(repr(v[:40]) for v in distinct.index[:examples])
                parts.append(f"e.g. {shown}")
        lines.append(f"- `{name}` ({'; '.join(parts)})")
    return "\n".join(lines)


def _kind(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_integer_dtype(values):
        return "integer"
    if pd.api.types.is_float_dtype(values):
        return "decimal"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    return "text"


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def extract_code(reply: str) -> str:
    """The first fenced code block (python or not); a reply with no fence is taken as code if it parses."""
    blocks = re.findall(r"```(?:python|py)?[ \t]*\n(.*?)```", reply, flags=re.S)
    if blocks:
        return blocks[0].strip()
    unterminated = re.search(r"```(?:python|py)?[ \t]*\n(.*)", reply, flags=re.S)  # the reply ran out of tokens
    if unterminated:
        return unterminated.group(1).strip()
    return reply.strip()


def result_preview(outcome: Outcome, rows: int = 20) -> str:
    if not outcome or not outcome.result:
        return outcome.stdout.strip()[:2000] if outcome else ""
    result = outcome.result
    if result["kind"] == "table":
        frame = pd.DataFrame(result["rows"][:rows], columns=result["columns"])
        more = f"\n… {result['total_rows'] - rows:,} more rows" if result["total_rows"] > rows else ""
        return frame.to_string(index=False) + more
    return str(result["value"])


class Interpreter:
    """The loop: prompt (schema, what the question touches, the answer's form), candidates sampled and run in the
    sandbox, each repaired on a traceback or a failed check, and the answer most candidates agree on.

    `candidates` programs at most; sampling stops as soon as `agree` of them give the same answer, or when the time
    budget is spent. The first candidate is greedy (temperature 0); the others are sampled at `temperature`.
    """

    def __init__(
        self,
        model,
        *,
        repairs: int = 2,
        history_turns: int = 3,
        limits: Limits | None = None,
        scratch: Path | None = None,
        candidates: int = 1,
        agree: int = 2,
        temperature: float = 0.7,
        budget_seconds: float = 45.0,
        look: bool = True,
        checks: bool = True,
        form: bool = True,
    ):
        self.model, self.repairs, self.history_turns = model, repairs, history_turns
        self.limits, self.scratch = limits or Limits(), scratch
        self.candidates, self.agree, self.temperature = max(1, candidates), max(1, agree), temperature
        self.budget_seconds, self.use_look, self.use_checks, self.use_form = budget_seconds, look, checks, form

    @classmethod
    def from_settings(cls, model, **overrides) -> "Interpreter":
        """The interpreter as the site configured it (WORKBENCH_ANALYSIS_*), with any argument overridden."""
        from django.conf import settings

        from workbench.analysis.sandbox import Limits

        options = {
            "repairs": settings.ANALYSIS_REPAIRS,
            "history_turns": settings.ANALYSIS_HISTORY_TURNS,
            "limits": Limits.from_settings(),
            "candidates": settings.ANALYSIS_CANDIDATES,
            "agree": settings.ANALYSIS_AGREE,
            "budget_seconds": settings.ANALYSIS_BUDGET_SECONDS,
        }
        options.update({k: v for k, v in overrides.items() if v is not None})
        return cls(model, **options)

    def ask(
        self,
        question: str,
        frame: pd.DataFrame,
        data_file: Path,
        *,
        history: list[Turn] | tuple = (),
        summarise: bool = True,
        on_event: Callable[[str, object], None] = lambda kind, value: None,
    ) -> Turn:
        """Answer `question` on `frame` (the safe tier; `data_file` is the same table as plain Parquet for the sandbox)."""
        started = time.perf_counter()
        turn = Turn(question)
        form = AnswerForm.of(question) if self.use_form else AnswerForm()
        turn.form = list(form.names)
        messages = self._prompt(question, frame, history, form)
        for index in range(self.candidates):
            if index:
                on_event("candidate", index + 1)
            candidate = self._candidate(turn, messages, frame, data_file, form, index, on_event, started)
            turn.candidates.append(candidate)
            if turn.failed:  # the host, not the code: no other candidate would fare better
                break
            votes = Counter(c.key for c in turn.candidates if c.key)
            if votes and votes.most_common(1)[0][1] >= self.agree:
                break
            if time.perf_counter() - started > self.budget_seconds:  # the time budget: no new candidate after it
                break
        chosen = self._choose(turn.candidates)
        turn.code, turn.outcome, turn.attempts = chosen.code, chosen.outcome, sum(c.attempts for c in turn.candidates)
        turn.agreement = sum(1 for c in turn.candidates if c.key and c.key == chosen.key)
        if not turn.failed and chosen.problem:
            turn.failed = chosen.problem
        record = chosen.record
        if record is None and form and turn.outcome and turn.outcome.ok:
            record = fill(form, turn.outcome.result)  # a program that failed a check: the parts it has, shown as such
        if turn.outcome and turn.outcome.ok and form and record:
            turn.answer = form.render(record)  # the form asked for, written by us, not by the model
        elif turn.outcome and turn.outcome.ok and summarise:
            turn.answer = self._summary(turn, on_event, messages)
        elif turn.outcome and turn.outcome.ok:
            turn.answer = result_preview(turn.outcome)
        else:
            reason = (turn.outcome.error or {}).get("message") if turn.outcome else ""
            turn.answer = f"I could not answer this: {reason or turn.failed or 'the code failed'}"
        turn.seconds = time.perf_counter() - started
        return turn

    def _candidate(
        self, turn: Turn, messages: list[dict], frame, data_file, form: AnswerForm, index: int, on_event, deadline_start: float
    ) -> Candidate:
        temperature = 0.0 if index == 0 else self.temperature
        code, outcome, problem, base = "", None, "", messages
        repairs = self.repairs if index == 0 else min(self.repairs, 1)  # a sampled candidate that fails twice is dropped
        done = 0
        for attempt in range(repairs + 1):
            if attempt and time.perf_counter() - deadline_start > self.budget_seconds:
                break  # out of time: what this candidate has is what it gives
            done += 1
            reply = self._chat(turn, messages, on_event, temperature=temperature, seed=index)
            code = extract_code(reply.text)
            on_event("code", code)
            # the last attempt runs whatever it is: a typed-in row count can be right, and a wrong column fails anyway
            problem = self._static_problem(code, frame) if self.use_checks and attempt < repairs else ""
            if not problem:
                outcome = run(code, data_file, limits=self.limits, scratch=self.scratch)
                on_event("outcome", outcome)
                if (outcome.error or {}).get("type") == "SandboxUnavailable":
                    turn.failed = outcome.error["message"]
                    return Candidate(code, outcome, attempt + 1, problem=turn.failed)
                problem = self._problem(outcome, form)
            if not problem:
                record = fill(form, outcome.result) if form else None
                return Candidate(code, outcome, attempt + 1, key=self._key(outcome, form, record), record=record)
            messages = self._repair(base, code, problem)
        return Candidate(code, outcome, done, problem=problem)

    @staticmethod
    def _repair(messages: list[dict], code: str, problem: str) -> list[dict]:
        """The same prompt, its last message extended with the code that failed and why: one question, one reply,
        as in the worked examples (a second user turn makes a small model answer the examples again)."""
        last = messages[-1]
        content = (
            f"{last['content']}\n\nA first attempt was:\n```python\n{code}\n```\n{problem}\n"
            "Write the whole corrected code as one ```python block."
        )
        return [*messages[:-1], {"role": "user", "content": content}]

    @staticmethod
    def _choose(candidates: list[Candidate]) -> Candidate:
        """The answer most candidates agree on; a tie goes to the earliest (the greedy one first)."""
        votes = Counter(c.key for c in candidates if c.key)
        if not votes:
            return candidates[0]
        best = max(votes.values())
        for candidate in candidates:
            if candidate.key and votes[candidate.key] == best:
                return candidate
        return candidates[0]

    @staticmethod
    def _key(outcome: Outcome, form: AnswerForm, record: dict | None) -> str:
        """What a candidate votes with: its answer in the form asked for, or its result's numbers and words."""
        if form and record is not None:
            return form.render(record)
        return _fingerprint(result_preview(outcome))

    def _prompt(self, question: str, frame: pd.DataFrame, history, form: AnswerForm) -> list[dict]:
        messages = [{"role": "system", "content": SYSTEM}]
        for user, assistant in EXAMPLES:
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        schema = describe_table(frame)
        details = look(question, frame) if self.use_look else ""
        ask = "\n\n".join(part for part in (details, f"Question: {question}", form.instruction()) if part)
        recent = [t for t in history if t.code][-self.history_turns :]
        if recent:
            messages.append({"role": "user", "content": f"{schema}\n\nQuestion: {recent[0].question}"})
            for index, previous in enumerate(recent):
                messages.append({"role": "assistant", "content": f"```python\n{previous.code}\n```"})
                follow = ask if index + 1 == len(recent) else f"Question: {recent[index + 1].question}"
                messages.append({"role": "user", "content": follow})
        else:
            messages.append({"role": "user", "content": f"{schema}\n\n{ask}"})
        return messages

    def _chat(self, turn: Turn, messages: list[dict], on_event, *, temperature: float = 0.0, seed: int = 0, code: bool = True):
        on_event("model", "start")
        options = {"temperature": temperature, "seed": seed} if temperature else {}
        if code:
            options["stop"] = CODE_STOP  # the code block is all we use: no tokens spent on an explanation after it
        reply = self.model.chat(messages, on_token=lambda token: on_event("token", token), **options)
        turn.model_seconds += reply.seconds
        turn.exchanges.append(
            {
                "prompt": messages,
                "reply": reply.text,
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "seconds": round(reply.seconds, 3),
                "decode_tokens_per_second": round(reply.decode_tokens_per_second, 2),
                "temperature": temperature,
            }
        )
        return reply

    @staticmethod
    def _static_problem(code: str, frame: pd.DataFrame) -> str:
        """Problems seen in the code before it runs: columns this table does not have, an answer not computed from df."""
        if not code.strip():
            return "There was no code. Reply with one ```python block that computes `result` from `df`."
        if not re.search(r"\bdf\b", code):
            return "The code does not use `df`: compute the answer from the table `df`, do not type numbers in."
        columns = {str(c) for c in frame.columns}
        made = set(re.findall(r"""\[\s*['"]([^'"]+)['"]\s*\]\s*=(?!=)""", code))
        made |= set(re.findall(r"(\w+)\s*=", code)) | set(re.findall(r"""[=:]\s*['"]([^'"]+)['"]""", code))
        used = re.findall(r"""\bdf\s*(?:\.loc\[[^\]]*?,\s*)?\[\s*\[?\s*['"]([^'"]+)['"]""", code)
        used += re.findall(r"""(?:subset|columns|by)\s*=\s*\[?\s*['"]([^'"]+)['"]""", code)
        used += re.findall(r"""\.groupby\(\s*\[?\s*['"]([^'"]+)['"]""", code)
        unknown = sorted({name for name in used if name not in columns and name not in made})
        if not unknown:
            return ""
        hints = []
        for name in unknown[:4]:
            close = difflib.get_close_matches(name, list(columns), n=1, cutoff=0.6) or difflib.get_close_matches(
                name.lower(), [c.lower() for c in columns], n=1, cutoff=0.6
            )
            hints.append(f"'{name}'" + (f" (did you mean '{_original(close[0], columns)}'?)" if close else ""))
        shown = ", ".join(f"'{c}'" for c in list(frame.columns)[:60])
        return f"`df` has no column {', '.join(hints)}. Its columns are: {shown}. Use those names exactly."

    @staticmethod
    def _problem(outcome: Outcome | None, form: AnswerForm | None = None) -> str:
        if outcome is None:
            return "No code was run."
        if not outcome.ok:
            return f"Running that code failed:\n```\n{outcome.error_text[-1500:]}\n```"
        if not outcome.result and not outcome.figures:
            return "The code ran but did not assign the answer to `result`."
        result = outcome.result or {}
        if form:
            problem = form.check(fill(form, result))
            if problem:
                return problem
        if result.get("kind") == "table" and result.get("total_rows") == 0:
            return (
                "The result is an empty table: the filter matched no rows. Check the exact spelling of the values you "
                "filter on (see the values listed above)."
            )
        if result.get("kind") == "value" and isinstance(result.get("value"), float | type(None)) and result.get("value") is None:
            return "The result came out empty (NaN): drop missing values of the columns you use, and check your filters."
        return ""

    def _summary(self, turn: Turn, on_event, messages: list[dict]) -> str:
        """The answer in words: the same conversation (so the model process reuses the evaluated prompt, and the next
        question on this table does too), the chosen code, its result, and a request for one or two sentences."""
        preview = result_preview(turn.outcome)
        chart = " A chart was drawn." if turn.outcome.figures else ""
        ask = [
            *messages,
            {"role": "assistant", "content": f"```python\n{turn.code}\n```"},
            {
                "role": "user",
                "content": f"That code gave:\n{preview[:3000]}\n{chart}\nNow answer the question in one or two plain "
                "sentences with these numbers. No code.",
            },
        ]
        on_event("summary", "start")
        reply = self._chat(turn, ask, on_event, code=False)
        return reply.text.strip()


def _original(lowered: str, columns: set[str]) -> str:
    return next((c for c in columns if c.lower() == lowered.lower()), lowered)


def _fingerprint(text: str) -> str:
    """A result's numbers (to 4 significant digits) and words, so that two programs that print the same answer in
    slightly different layouts vote together."""
    numbers = [f"{float(n):.4g}" for n in re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)]
    words = sorted(set(re.findall(r"[A-Za-z][A-Za-z_]+", text.lower())))
    return " ".join(numbers[:40]) + " | " + " ".join(words[:40])
