"""Print a user's API token, making it when missing: `manage.py api_token USERNAME [--regenerate]`."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from creditdesk.tokens import issue_token


class Command(BaseCommand):
    help = "Print the API token of a user (made when missing); --regenerate replaces it."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--regenerate", action="store_true", help="Replace the token; the old one stops working."
        )

    def handle(self, *args, username, regenerate, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive.")
        self.stdout.write(issue_token(user, regenerate=regenerate).key)
