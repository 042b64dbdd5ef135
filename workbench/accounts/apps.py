from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "workbench.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from workbench.accounts import signins

        # Django announces sign-ins only through these signals; the audit needs every one, by page or API token.
        user_logged_in.connect(signins.signed_in, dispatch_uid="audit-sign-in")
        user_login_failed.connect(signins.sign_in_failed, dispatch_uid="audit-sign-in-failed")
