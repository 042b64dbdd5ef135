"""What the conversation page and the notebook export make of a turn's record."""

import json

import nbformat
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from workbench.analysis.actions import read_turn
from workbench.analysis.models import Conversation, TurnStatus

_FORMATTER = HtmlFormatter(cssclass="code", nowrap=False)


def turn_view(turn) -> dict:
    record = read_turn(turn)
    outcome = record.get("outcome") or {}
    figures = {}
    for index, figure in enumerate(outcome.get("figures") or []):
        if figure.get("json"):
            figures[f"turn-{turn.pk}-{index}"] = json.loads(figure["json"])
    result = outcome.get("result") or {}
    exchanges = record.get("exchanges") or []
    return {
        "turn": turn,
        "record": record,
        "code_html": highlight(record["code"], PythonLexer(), _FORMATTER) if record.get("code") else "",
        "stdout": outcome.get("stdout", ""),
        "error": (outcome.get("error") or {}).get("message", "") if turn.status == TurnStatus.FAILED or not outcome.get("ok", True) else "",
        "table": result if result.get("kind") == "table" else None,
        "value": result.get("value") if result.get("kind") in ("value", "text") else None,
        "figures": figures,
        "figure_names": list(figures),
        "charts_json": json.dumps(figures) if figures else "",
        "timings": {
            "seconds": record.get("seconds"),
            "model_seconds": record.get("model_seconds"),
            "sandbox_seconds": outcome.get("seconds"),
            "attempts": record.get("attempts"),
            "tokens_per_second": exchanges[0].get("decode_tokens_per_second") if exchanges else None,
            "model": record.get("model"),
        },
    }


def notebook(conversation: Conversation) -> str:
    """The conversation as a Jupyter notebook whose cells rerun the same code on a file the user supplies."""
    version = conversation.version
    cells = [
        nbformat.v4.new_markdown_cell(
            f"# {version.dataset.name}: questions to the workbench\n\n"
            f"Conversation #{conversation.pk} on version {version.number} ({version.tier}). Each question's code ran in the "
            "workbench's sandbox on that version; here it runs on the file you name below (the same columns are expected)."
        ),
        nbformat.v4.new_code_cell(
            "import numpy as np\nimport pandas as pd\nimport plotly.express as px\nimport plotly.graph_objects as go\n\n"
            'FILE = "your-table.parquet"  # or a CSV: the same columns as the version\n'
            'df = pd.read_parquet(FILE) if FILE.endswith(".parquet") else pd.read_csv(FILE)'
        ),
    ]
    for turn in conversation.turns.order_by("number"):
        record = read_turn(turn)
        if not record.get("code"):
            continue
        answer = record.get("answer") or ""
        cells.append(nbformat.v4.new_markdown_cell(f"## {turn.number}. {turn.question}\n\n{answer}"))
        show = "\nfig.show()" if "fig" in record["code"] else ""
        cells.append(nbformat.v4.new_code_cell(record["code"] + show + "\nresult"))
    book = nbformat.v4.new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nbformat.validate(book)
    return nbformat.writes(book)
