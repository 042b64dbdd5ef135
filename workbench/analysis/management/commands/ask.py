import json
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workbench.analysis.interpreter import Interpreter, result_preview
from workbench.analysis.llm import ModelUnavailable, get_model
from workbench.analysis.sandbox import Limits
from workbench.datasets.commandline import ingested


class Command(BaseCommand):
    help = (
        "Ask a question of a CSV, Excel or Parquet file through the same path as the web page (prompt, sandbox, repairs) "
        "and print the answer, the code and the printed output. The file goes to the model as its schema and a few "
        "example values: use a synthetic or anonymised file, not raw data."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("question")
        parser.add_argument("--model", help="a known model's name or a .gguf path (default: WORKBENCH_LLM_MODEL)")
        parser.add_argument("--repairs", type=int, default=None, help="rounds of error repair (default WORKBENCH_ANALYSIS_REPAIRS)")
        parser.add_argument("--no-summary", action="store_true", help="print the result instead of a sentence from the model")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the whole turn (prompts, replies, outcome) as JSON")
        parser.add_argument("--stream", action="store_true", help="print the model's tokens as they come")

    def handle(self, *args, file, question, model, repairs, no_summary, as_json, stream, **options):
        if not question.strip():
            raise CommandError("Ask a question (the second argument).")
        try:
            llm = get_model(model)
        except ModelUnavailable as error:
            raise CommandError(str(error)) from None
        interpreter = Interpreter(
            llm,
            repairs=settings.ANALYSIS_REPAIRS if repairs is None else repairs,
            limits=Limits.from_settings(),
        )

        def event(kind, value):
            if stream and kind == "token":
                sys.stderr.write(value)
                sys.stderr.flush()

        with ingested(file) as (parquet, _), tempfile.TemporaryDirectory() as scratch:
            frame = pq.read_table(parquet).to_pandas()
            interpreter.scratch = Path(scratch)
            turn = interpreter.ask(question, frame, Path(parquet), summarise=not no_summary, on_event=event)
        if as_json:
            self.stdout.write(json.dumps(turn.to_json(), indent=2, default=str))
            return
        outcome = turn.outcome
        self.stdout.write(f"Answer: {turn.answer}\n")
        self.stdout.write(f"\nCode:\n{turn.code}\n")
        if outcome and outcome.stdout.strip():
            self.stdout.write(f"\nPrinted output:\n{outcome.stdout.rstrip()}\n")
        if outcome and outcome.ok:
            self.stdout.write(f"\nResult:\n{result_preview(outcome)}\n")
            for figure in outcome.figures:
                self.stdout.write(f"\nChart `{figure['name']}`: {len(figure.get('json', '')):,} bytes of plotly JSON\n")
        self.stdout.write(
            f"\n({turn.attempts} attempt{'s' if turn.attempts != 1 else ''}, {turn.seconds:.1f} s, model {turn.model_seconds:.1f} s)\n"
        )
        if outcome and outcome.layers:
            from workbench.analysis.present import describe_layers

            self.stdout.write(f"Sandbox: {describe_layers(outcome.layers)}\n")
        if turn.failed:
            raise CommandError(f"No answer: {turn.failed[:500]}")
