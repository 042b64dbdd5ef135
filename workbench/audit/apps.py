from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "workbench.audit"
    label = "audit"
