import json

from django.core.management.base import BaseCommand, CommandError

from workbench.console import doctor


class Command(BaseCommand):
    help = (
        "Check that the workbench can do its job here: database, broker, a worker per queue, the model file and its "
        "sha256, the llama.cpp build and a generation in a subprocess, each sandbox layer, the Presidio model, the data "
        "folder, the master key and free disk. Exits 1 when something the workbench needs fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("--before-start", action="store_true", help="skip the worker checks (workers are not started yet)")
        parser.add_argument("--skip-generation", action="store_true", help="do not load the model to generate")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, before_start, skip_generation, json: bool, **options):
        marks = {doctor.OK: self.style.SUCCESS("ok  "), doctor.WARN: self.style.WARNING("warn"), doctor.FAIL: self.style.ERROR("FAIL")}

        def show(check: doctor.Check) -> None:
            if not json:
                self.stdout.write(f"{marks[check.status]}  {check.name:<22} {check.detail}")

        checks = doctor.run_checks(workers=not before_start, generation=not skip_generation, on_check=show)
        doctor.save_report(checks)
        failed = [c.name for c in checks if c.status == doctor.FAIL]
        if json:
            self.stdout.write(_dumps(checks))
        if failed:
            raise CommandError(f"{len(failed)} check(s) failed: {', '.join(failed)}")
        if not json:
            self.stdout.write(self.style.SUCCESS("The workbench can do its job on this machine."))


def _dumps(checks) -> str:
    from dataclasses import asdict

    return json.dumps([asdict(c) for c in checks], indent=2)
