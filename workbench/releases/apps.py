from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "workbench.releases"
    label = "releases"
