from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "workbench.analysis"
    verbose_name = "Analysis (LLM code interpreter)"
