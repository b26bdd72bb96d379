"""`python manage.py import_statement FILE...`: import bank statements (camt.053 or MT940) as the system.

Each file is imported whole or not at all; a refused file is reported with the line and element or tag
at fault, the others still go in, and the command exits non-zero.
"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from banking.services import import_statement_file
from customers.access import SYSTEM


class Command(BaseCommand):
    help = "Import bank statement files (camt.053 001.02/001.08 or MT940) and apply the payments they match."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args, files: list[Path], **options):
        refused = 0
        for path in files:
            try:
                result = import_statement_file(content=path.read_bytes(), file_name=path.name, actor=SYSTEM)
            except OSError as error:
                refused += 1
                self.stderr.write(f"{path}: cannot be read ({error.strerror}).")
            except ValidationError as error:
                refused += 1
                self.stderr.write(f"{path}: refused, nothing imported: {' '.join(error.messages)}")
            else:
                self.stdout.write(f"{path}: {result.summary()}")
        if refused:
            raise CommandError(f"{refused} of {len(files)} file(s) refused.")
