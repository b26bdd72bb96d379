"""What the two CSV import commands share: arguments, the progress bar and the error listing."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from audit.context import Channel, as_system
from invoices.imports import DEFAULT_BATCH, count_rows


class ImportCommand(BaseCommand):
    importer = None
    noun = "rows"

    def add_arguments(self, parser):
        parser.add_argument(
            "file", type=Path, help="The CSV file (UTF-8, comma-separated, with a header row)."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH,
            help="Rows checked and written at once (invoices on PostgreSQL: the whole file, in SQL).",
        )
        parser.add_argument(
            "--max-errors", type=int, default=100, help="How many bad rows to list (all are counted)."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (e.g. in cron jobs).")

    @as_system(Channel.IMPORT)  # the audit trail: imports are by "system" through "import"
    def handle(self, *args, file: Path, batch_size: int, max_errors: int, no_progress: bool, **options):
        if not file.is_file():
            raise CommandError(f"No file at {file}.")
        started = time.perf_counter()
        with tqdm(total=count_rows(file), unit=" rows", disable=no_progress, file=self.stderr._out) as bar:
            report = self.importer(file, batch_size=batch_size, progress=bar.update)
        seconds = time.perf_counter() - started
        if not report.ok:
            for error in report.errors[:max_errors]:
                self.stderr.write(str(error))
            if len(report.errors) > max_errors:
                self.stderr.write(f"... and {len(report.errors) - max_errors} more.")
            raise CommandError(f"{len(report.errors)} error(s) in {report.rows} rows: nothing was imported.")
        result = report.result
        self.stdout.write(
            f"{report.rows} rows in {seconds:.1f} s: {result.created} {self.noun} created, "
            f"{result.updated} updated, {result.unchanged} unchanged."
        )
