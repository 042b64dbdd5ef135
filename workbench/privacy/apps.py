from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "workbench.privacy"
    label = "privacy"
