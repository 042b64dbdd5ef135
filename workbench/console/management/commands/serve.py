"""Run the embedded workbench: one web server and one worker (with the periodic sweeper) in the foreground."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start gunicorn and a Celery worker (queues cpu and gpu, with beat) and stop both on Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("WORKBENCH_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--concurrency", type=int, default=1, help="worker processes")

    def handle(self, *args, host, port, web_workers, concurrency, **options):
        python = sys.executable
        web = [
            python,
            "-m",
            "gunicorn",
            "workbench.wsgi",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(web_workers),
            "--threads",
            "4",
            "--timeout",
            "3600",
            "--access-logfile",
            "-",
        ]
        worker = [
            python,
            "-m",
            "celery",
            "-A",
            "tasks",
            "worker",
            "--beat",
            "--queues",
            "cpu,gpu",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--schedule",
            str(settings.DATA_DIR / "celerybeat-schedule"),
        ]
        processes = [subprocess.Popen(worker), subprocess.Popen(web)]
        self.stdout.write(self.style.SUCCESS(f"Workbench at http://{host}:{port}/  (Ctrl-C stops it)"))
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.5)
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        failed = [p.returncode for p in processes if p.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            raise SystemExit(f"A process stopped unexpectedly (exit {failed[0]}).")
