from django.apps import AppConfig


class SynthesisConfig(AppConfig):
    name = "workbench.synthesis"
    label = "synthesis"
