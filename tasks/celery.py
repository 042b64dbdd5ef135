"""The Celery app. Workers: `celery -A tasks worker -Q cpu` (CPU nodes) and `-Q gpu` (GPU nodes)."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")

import django  # noqa: E402

django.setup()

app = Celery("workbench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_routes = {"tasks.*": {"queue": "cpu"}}
app.conf.include = ["tasks.analysis", "tasks.datasets", "tasks.jobs", "tasks.privacy", "tasks.releases", "tasks.synthesis"]
if app.conf.broker_url.startswith("filesystem://"):
    # The folder broker has no broadcast channel; cancelling goes through the Job row anyway.
    app.conf.worker_enable_remote_control = False
    app.conf.worker_send_task_events = False
    for folder in app.conf.broker_transport_options.values():
        if isinstance(folder, str):
            os.makedirs(folder, exist_ok=True)
if app.conf.result_backend.startswith("file://"):
    os.makedirs(app.conf.result_backend.removeprefix("file://"), exist_ok=True)


@worker_init.connect
def _check_configuration(**kwargs) -> None:
    from django.core import checks

    errors = [message for message in checks.run_checks() if message.is_serious()]
    if errors:
        raise SystemExit("Refusing to start the worker:\n" + "\n".join(str(e) for e in errors))


import tasks.analysis  # noqa: E402,F401  (register tasks)
import tasks.datasets  # noqa: E402,F401
import tasks.jobs  # noqa: E402,F401
import tasks.privacy  # noqa: E402,F401
import tasks.releases  # noqa: E402,F401
import tasks.synthesis  # noqa: E402,F401
