"""Start-up checks: a server or worker with a missing key or an unwritable data dir refuses to start."""

import base64
import binascii
import os

from django.conf import settings
from django.core.checks import Error, register


@register(deploy=False)
def check_keys_and_data_dir(app_configs=None, **kwargs) -> list[Error]:
    errors = []
    if settings.SECRET_KEY_MISSING:
        errors.append(
            Error(
                "WORKBENCH_SECRET_KEY is not set.", hint="Set it in the environment, or run `manage.py init_embedded`.", id="workbench.E001"
            )
        )
    if not settings.MASTER_KEY_B64:
        errors.append(
            Error(
                "WORKBENCH_MASTER_KEY is not set.", hint="Set a base64 32-byte key, or run `manage.py init_embedded`.", id="workbench.E002"
            )
        )
    else:
        try:
            if len(base64.b64decode(settings.MASTER_KEY_B64, validate=True)) != 32:
                raise ValueError
        except (ValueError, binascii.Error):
            errors.append(Error("WORKBENCH_MASTER_KEY must be base64 of exactly 32 bytes.", id="workbench.E003"))
    if settings.DATA_DIR.exists() and not os.access(settings.DATA_DIR, os.W_OK):
        errors.append(Error(f"The data dir {settings.DATA_DIR} is not writable.", id="workbench.E004"))
    return errors
