import base64
import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    requires_system_checks = []
    help = "Create the data dir and, for the embedded run only, generate the secret key and master key beside it."

    def handle(self, *args, **options):
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.DATA_DIR, 0o700)
        for name, make in [
            ("secret.key", lambda: secrets.token_urlsafe(50)),
            ("master.key", lambda: base64.b64encode(os.urandom(32)).decode()),
        ]:
            path = settings.DATA_DIR / name
            if path.exists():
                continue
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(make() + "\n")
            self.stdout.write(f"Generated {path} (keep it with backups of the data dir; in production use WORKBENCH_MASTER_KEY).")
