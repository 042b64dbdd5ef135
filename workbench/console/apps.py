from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "workbench.console"
    label = "console"

    def ready(self) -> None:
        from workbench.console import checks  # noqa: F401  (registers the start-up checks)
