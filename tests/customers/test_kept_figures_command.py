"""The one base of the commands that rebuild or --check kept figures (customers.management.kept_figures):
each command keeps its own day option, and every --check reports drift the same way (exit status 1)."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command, load_command_class

from customers.management.kept_figures import KeptFiguresCommand
from tests.factories import TODAY


@pytest.mark.parametrize(
    ("app", "name", "day_option"),
    [
        ("calls", "rebuild_standings", "date"),
        ("reports", "rebuild_worth_it", "today"),
        ("reports", "rebuild_lateness", "today"),
    ],
)
def test_every_rebuild_command_is_a_kept_figures_command_with_its_own_day_option(app, name, day_option):
    command = load_command_class(app, name)
    assert isinstance(command, KeptFiguresCommand)
    options = command.create_parser("manage.py", name).parse_args(
        ["--check", f"--{day_option}", "2026-01-31"]
    )
    assert options.check is True and getattr(options, day_option) == dt.date(2026, 1, 31)


class Drifting(KeptFiguresCommand):
    """A command whose every check finds 23 rows drifted, and whose rebuild notes the day it got."""

    def rebuild(self, day):
        self.stdout.write(f"rebuilt as of {day}")

    def check_drift(self, day):
        self.show_drift([f"row {n}" for n in range(23)])
        return f"23 rows differ as of {day}"


def test_a_check_shows_the_first_lines_of_drift_and_fails_with_its_summary():
    err = StringIO()
    with pytest.raises(CommandError, match="23 rows differ as of 2026-01-31"):
        call_command(Drifting(), check=True, today=dt.date(2026, 1, 31), stderr=err)
    lines = err.getvalue().splitlines()
    assert lines[:2] == ["row 0", "row 1"] and lines[-1] == "... and 3 more" and len(lines) == 21


def test_a_rebuild_without_a_day_is_as_of_today():
    out = StringIO()
    call_command(Drifting(), stdout=out)
    assert out.getvalue().strip() == f"rebuilt as of {TODAY}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["rebuild_standings", "rebuild_worth_it", "rebuild_lateness"])
def test_every_rebuild_command_runs_as_manage_py_runs_it(name):
    """`manage.py` runs the system checks first (BaseCommand.check, which call_command skips by default):
    a drift check under that name broke all three commands on the command line."""
    out = StringIO()
    call_command(name, "--check", skip_checks=False, stdout=out, stderr=StringIO())
    assert out.getvalue()
