#!/usr/bin/env python
"""Django's command-line entry point for CreditDesk."""

import os
import sys

# Commands that read only the code and the schema and sign nothing: they run without a production
# key (settings give them a random one for the process). Everything else needs DJANGO_SECRET_KEY.
KEYLESS_COMMANDS = {"makemigrations", "showmigrations", "sqlmigrate", "collectstatic", "help"}

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditdesk.settings")
    if len(sys.argv) > 1 and sys.argv[1] in KEYLESS_COMMANDS:
        os.environ["CREDITDESK_KEYLESS_COMMAND"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
