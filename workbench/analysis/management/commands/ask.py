import json
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import pyarrow.parquet as pq
from django.core.management.base import BaseCommand, CommandError

from workbench.analysis.interpreter import Interpreter, result_preview
from workbench.analysis.llm import ModelUnavailable, get_model
from workbench.datasets.commandline import ingested


class Command(BaseCommand):
    help = (
        "Ask a question of a CSV, Excel or Parquet file through the same path as the web page (prompt, look, candidates, "
        "sandbox, checks, repairs) and print the answer, the code and the printed output. The file goes to the model as "
        "its schema and a few example values: use a synthetic or anonymised file, not raw data. "
        "With --batch FILE.jsonl (or --serve, reading standard input) many questions are answered with the model loaded "
        'once: each line {"file": ..., "question": ..., "id": ...} gives one JSON line out.'
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?")
        parser.add_argument("question", nargs="?")
        parser.add_argument("--model", help="a known model's name or a .gguf path (default: WORKBENCH_LLM_MODEL)")
        parser.add_argument("--repairs", type=int, default=None, help="rounds of repair (default WORKBENCH_ANALYSIS_REPAIRS)")
        parser.add_argument("--candidates", type=int, default=None, help="candidate programs (default WORKBENCH_ANALYSIS_CANDIDATES)")
        parser.add_argument("--no-summary", action="store_true", help="print the result instead of a sentence from the model")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the whole turn (prompts, replies, outcome) as JSON")
        parser.add_argument("--stream", action="store_true", help="print the model's tokens as they come")
        parser.add_argument("--batch", metavar="FILE", help="a JSON-lines file of questions; one JSON line out per question")
        parser.add_argument("--serve", action="store_true", help="read JSON-lines questions from standard input until it ends")

    def handle(self, *args, file, question, model, repairs, candidates, no_summary, as_json, stream, batch, serve, **options):
        if not (batch or serve):
            if not file:
                raise CommandError("Give a file and a question, or --batch FILE.jsonl, or --serve.")
            if not (question or "").strip():
                raise CommandError("Ask a question (the second argument).")
        if batch and not Path(batch).is_file():
            raise CommandError(f"No such file: {batch}")
        try:
            llm = get_model(model)
        except ModelUnavailable as error:
            raise CommandError(str(error)) from None
        interpreter = Interpreter.from_settings(llm, repairs=repairs, candidates=candidates)

        def event(kind, value):
            if stream and kind == "token":
                sys.stderr.write(value)
                sys.stderr.flush()

        if batch or serve:
            lines = open(batch, encoding="utf-8") if batch else sys.stdin
            try:
                self._many(interpreter, lines, summarise=not no_summary)
            finally:
                if batch:
                    lines.close()
            return
        with ingested(file) as (parquet, _), tempfile.TemporaryDirectory() as scratch:
            frame = pq.read_table(parquet).to_pandas(date_as_object=False)
            interpreter.scratch = Path(scratch)
            turn = interpreter.ask(question, frame, Path(parquet), summarise=not no_summary, on_event=event)
        if as_json:
            self.stdout.write(json.dumps(turn.to_json(), indent=2, default=str))
            return
        self._print(turn)
        if turn.failed:
            raise CommandError(f"No answer: {turn.failed[:500]}")

    def _print(self, turn) -> None:
        outcome = turn.outcome
        self.stdout.write(f"Answer: {turn.answer}\n")
        if turn.sureness:
            self.stdout.write(f"({turn.sureness})\n")
        self.stdout.write(f"\nCode:\n{turn.code}\n")
        if outcome and outcome.stdout.strip():
            self.stdout.write(f"\nPrinted output:\n{outcome.stdout.rstrip()}\n")
        if outcome and outcome.ok:
            self.stdout.write(f"\nResult:\n{result_preview(outcome)}\n")
            for figure in outcome.figures:
                self.stdout.write(f"\nChart `{figure['name']}`: {len(figure.get('json', '')):,} bytes of plotly JSON\n")
        self.stdout.write(
            f"\n({turn.attempts} attempt{'s' if turn.attempts != 1 else ''}, {len(turn.candidates)} candidate"
            f"{'s' if len(turn.candidates) != 1 else ''}, {turn.seconds:.1f} s, model {turn.model_seconds:.1f} s)\n"
        )
        if outcome and outcome.layers:
            from workbench.analysis.present import describe_layers

            self.stdout.write(f"Sandbox: {describe_layers(outcome.layers)}\n")

    def _many(self, interpreter: Interpreter, lines, *, summarise: bool) -> None:
        """Answer each JSON line's question; a file is read once and kept for the questions that follow it. A bad line
        gets an error line of its own and the rest go on."""
        with ExitStack() as stack, tempfile.TemporaryDirectory() as scratch:
            interpreter.scratch = Path(scratch)
            tables: dict[str, tuple] = {}
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                started = time.perf_counter()
                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise ValueError("a line must be a JSON object")
                    file, question = request.get("file"), request.get("question")
                    if not isinstance(file, str) or not isinstance(question, str) or not question.strip():
                        raise ValueError('each line needs "file" and "question" (text)')
                    if file not in tables:
                        parquet, _ = stack.enter_context(ingested(file))
                        tables[file] = (pq.read_table(parquet).to_pandas(date_as_object=False), Path(parquet))
                    frame, path = tables[file]
                    turn = interpreter.ask(question, frame, path, summarise=summarise)
                    answer = {
                        "id": request.get("id", number),
                        "answer": turn.answer,
                        "ok": not turn.failed and bool(turn.outcome and turn.outcome.ok),
                        "failed": turn.failed,
                        "code": turn.code,
                        "printed": turn.outcome.stdout if turn.outcome else "",
                        "agreement": turn.agreement,
                        "candidates": len(turn.candidates),
                        "seconds": round(turn.seconds, 2),
                    }
                except (ValueError, CommandError, ModelUnavailable) as error:
                    answer = {"id": number, "ok": False, "failed": str(error)[:500], "seconds": round(time.perf_counter() - started, 2)}
                self.stdout.write(json.dumps(answer, default=str) + "\n")
                self.stdout.flush()
