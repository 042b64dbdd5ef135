import json

from django.core.management.base import BaseCommand

from workbench.jobs.actions import sweep_stale_jobs


class Command(BaseCommand):
    help = "Fail or requeue jobs whose worker died, and re-send queued jobs no worker picked up (beat runs this periodically)."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(sweep_stale_jobs()))
