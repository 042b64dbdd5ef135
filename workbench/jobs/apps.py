from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "workbench.jobs"
    label = "jobs"
