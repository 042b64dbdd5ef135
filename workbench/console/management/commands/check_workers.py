import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from workbench.jobs.actions import create_job
from workbench.jobs.models import Job


class Command(BaseCommand):
    help = "Send a diagnostic job to each queue and report which worker ran it, or fail after --timeout seconds."

    def add_arguments(self, parser):
        parser.add_argument("--queues", default="cpu", help="comma-separated: cpu,gpu")
        parser.add_argument("--timeout", type=float, default=60.0)

    def handle(self, *args, queues, timeout, **options):
        jobs = {}
        for queue in [q.strip() for q in queues.split(",") if q.strip()]:
            with transaction.atomic():
                job = create_job(kind="diagnostic", user=None, workspace=None, params={"queue": queue})
                Job.objects.filter(pk=job.pk).update(queue=queue)
            jobs[queue] = job.pk
        deadline = time.monotonic() + timeout
        missing = dict(jobs)
        while missing and time.monotonic() < deadline:
            for queue, job_id in list(missing.items()):
                job = Job.objects.get(pk=job_id)
                if job.is_finished:
                    self.stdout.write(f"{queue}: {job.status} on {job.worker or '?'} in {job.duration_seconds or 0:.2f} s")
                    del missing[queue]
            time.sleep(0.3)
        if missing:
            Job.objects.filter(pk__in=missing.values(), status="queued").update(status="cancelled", message="No worker answered")
            raise CommandError(f"No worker answered on queue(s) {', '.join(missing)} within {timeout:.0f} s.")
