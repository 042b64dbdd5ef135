from django.core.management.base import BaseCommand, CommandError

from workbench.audit.actions import count, verify_chain


class Command(BaseCommand):
    help = "Check the audit log's sealed hash chain; name the first event that does not hold (exit 1)."

    def handle(self, *args, **options):
        problem = verify_chain()
        if problem is not None:
            raise CommandError(f"The audit log does not verify at {problem}.")
        self.stdout.write(f"The audit log verifies: {count():,} events, chain and head intact.")
