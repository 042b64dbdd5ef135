import json

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Fail or requeue jobs whose worker died, and re-send queued jobs no worker picked up (beat runs this periodically)."

    def handle(self, *args, **options):
        from tasks.jobs import sweep

        self.stdout.write(json.dumps(sweep()))
