import getpass
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from workbench.accounts.actions import create_user


class Command(BaseCommand):
    help = "Create the first data owner (may create workspaces). Password from --password, WORKBENCH_OWNER_PASSWORD, or a prompt."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password")
        parser.add_argument("--site-admin", action="store_true", help="also make them a Django admin (users, workers, settings)")

    def handle(self, *args, username, email, password, site_admin, **options):
        password = password or os.environ.get("WORKBENCH_OWNER_PASSWORD") or getpass.getpass(f"Password for {username}: ")
        if len(password) < 10:
            raise CommandError("The password must be at least 10 characters long.")
        try:
            create_user(username=username, password=password, email=email, data_owner=True, site_admin=site_admin)
        except ValidationError as invalid:
            raise CommandError(" ".join(invalid.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Created data owner {username}."))
