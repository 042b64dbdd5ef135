from django.conf import settings
from django.core.management.base import BaseCommand

from workbench.console.demo import DEMO_USER, setup_demo


class Command(BaseCommand):
    help = "Create the demo owner, workspace and dataset (once). The password is WORKBENCH_DEMO_PASSWORD or generated and printed."

    def handle(self, *args, **options):
        created = setup_demo(password=settings.DEMO_PASSWORD)
        if "password" in created:
            self.stdout.write(self.style.SUCCESS(f"Demo owner: {DEMO_USER} / {created['password']}"))
        else:
            self.stdout.write(f"Demo owner {DEMO_USER} already exists (set WORKBENCH_DEMO_PASSWORD to reset its password).")
        if "job" in created:
            self.stdout.write(f"Demo dataset queued for ingest and profile (job {created['job']}).")
