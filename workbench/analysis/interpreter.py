"""One question, answered: the prompt (the safe tier's schema with a few example values, short rules, worked
examples, the recent turns), the model's code block, a run in the sandbox, repairs fed the traceback for a bounded
number of rounds, and a short answer in words. Every prompt and reply is kept on the turn for review.

The table handed in here must be the safe tier (SYNTHETIC or ANONYMIZED): its values are the only ones a prompt
ever holds.
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench.analysis.sandbox import Limits, Outcome, run

SYSTEM = """You are a careful data analyst. You answer questions about one table by writing Python.
The table is already loaded as the pandas DataFrame `df`; `pd` (pandas), `np` (numpy), `px` (plotly.express)
and `go` (plotly.graph_objects) are already imported.

Reply with exactly one ```python code block that:
- computes the answer from `df` and assigns it to a variable named `result`: a number, a short string, or a small
  pandas Series/DataFrame (for "by group" questions, a Series or DataFrame indexed by the group);
- when a chart is asked for, also assigns a plotly figure to `fig` (px.bar, px.histogram, px.scatter, px.line, px.box);
- uses the exact column names listed, and drops missing values where they would break the computation;
- does not read or write files and imports only pandas, numpy, scipy, sklearn, statsmodels, plotly or math.
Write no explanation outside the code block."""

EXAMPLES = [
    (
        "Table: 5,210 rows, 4 columns.\nColumns:\n- `ward` (text; 0 missing; 6 distinct; e.g. 'A', 'C', 'F')\n"
        "- `age` (integer; 12 missing; range 18 to 97, mean 61.3)\n- `los_days` (decimal; 0 missing; range 0.5 to 44.0, mean 5.1)\n"
        "- `readmitted` (boolean; 0 missing; e.g. True, False)\n\nQuestion: average length of stay by ward as a bar chart",
        '```python\nresult = df.groupby("ward")["los_days"].mean().round(2).sort_values(ascending=False)\n'
        'fig = px.bar(result.reset_index(), x="ward", y="los_days", title="Average length of stay by ward (days)")\n```',
    ),
    (
        "Question: what share of patients over 65 were readmitted?",
        '```python\nolder = df[df["age"] > 65]\nresult = round(float(older["readmitted"].mean()), 4)\n```',
    ),
]


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
        }


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
    def __init__(self, model, *, repairs: int = 2, history_turns: int = 3, limits: Limits | None = None, scratch: Path | None = None):
        self.model, self.repairs, self.history_turns = model, repairs, history_turns
        self.limits, self.scratch = limits or Limits(), scratch

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
        messages = self._prompt(question, frame, history)
        for attempt in range(self.repairs + 1):
            turn.attempts = attempt + 1
            reply = self._chat(turn, messages, on_event)
            turn.code = extract_code(reply.text)
            on_event("code", turn.code)
            turn.outcome = run(turn.code, data_file, limits=self.limits, scratch=self.scratch)
            on_event("outcome", turn.outcome)
            if (turn.outcome.error or {}).get("type") == "SandboxUnavailable":  # the host, not the code: no repair helps
                turn.failed = turn.outcome.error["message"]
                break
            problem = self._problem(turn.outcome)
            if not problem:
                break
            messages = [
                *messages,
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": f"{problem}\nWrite the whole corrected code as one ```python block."},
            ]
        else:
            turn.failed = self._problem(turn.outcome)
        if turn.outcome and turn.outcome.ok and summarise:
            turn.answer = self._summary(turn, on_event)
        elif turn.outcome and turn.outcome.ok:
            turn.answer = result_preview(turn.outcome)
        else:
            turn.answer = f"I could not answer this: {(turn.outcome.error or {}).get('message', 'the code failed')}" if turn.outcome else ""
        turn.seconds = time.perf_counter() - started
        return turn

    def _prompt(self, question: str, frame: pd.DataFrame, history) -> list[dict]:
        messages = [{"role": "system", "content": SYSTEM}]
        for user, assistant in EXAMPLES:
            messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        schema = describe_table(frame)
        recent = [t for t in history if t.code][-self.history_turns :]
        if recent:
            messages.append({"role": "user", "content": f"{schema}\n\nQuestion: {recent[0].question}"})
            for index, previous in enumerate(recent):
                messages.append({"role": "assistant", "content": f"```python\n{previous.code}\n```"})
                follow = recent[index + 1].question if index + 1 < len(recent) else question
                messages.append({"role": "user", "content": f"Question: {follow}"})
        else:
            messages.append({"role": "user", "content": f"{schema}\n\nQuestion: {question}"})
        return messages

    def _chat(self, turn: Turn, messages: list[dict], on_event):
        on_event("model", "start")
        reply = self.model.chat(messages, on_token=lambda token: on_event("token", token))
        turn.model_seconds += reply.seconds
        turn.exchanges.append(
            {
                "prompt": messages,
                "reply": reply.text,
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "seconds": round(reply.seconds, 3),
                "decode_tokens_per_second": round(reply.decode_tokens_per_second, 2),
            }
        )
        return reply

    @staticmethod
    def _problem(outcome: Outcome | None) -> str:
        if outcome is None:
            return "No code was run."
        if not outcome.ok:
            return f"Running that code failed:\n```\n{outcome.error_text[-1500:]}\n```"
        if not outcome.result and not outcome.figures:
            return "The code ran but did not assign the answer to `result`."
        return ""

    def _summary(self, turn: Turn, on_event) -> str:
        preview = result_preview(turn.outcome)
        chart = " A chart was drawn." if turn.outcome.figures else ""
        messages = [
            {"role": "system", "content": "You state results of a data analysis in plain words, briefly, with the numbers given."},
            {
                "role": "user",
                "content": f"Question: {turn.question}\nResult of the analysis:\n{preview[:3000]}\n{chart}\n"
                "Answer the question in one or two sentences, using these numbers. No code.",
            },
        ]
        on_event("summary", "start")
        reply = self._chat(turn, messages, on_event)
        return reply.text.strip()
