"""What every `guanxi` command shares: the "cli" audit channel and how errors are shown."""

import sys

from django.core.management.base import BaseCommand

from guanxi.core.context import channel
from guanxi.core.errors import GuanxiError


def error_lines(error: GuanxiError) -> list[str]:
    """`error: <field>: <message>`, one line per problem."""
    lines = []
    for field, messages in error.errors.items():
        for message in messages:
            lines.append(
                f"error: {message}" if field == "__all__" else f"error: {field}: {message}"
            )
    return lines or [f"error: {error.message}"]


class GuanxiCommand(BaseCommand):
    """Writes are recorded as made through the CLI; a GuanxiError prints and exits with 2."""

    requires_system_checks = []  # `guanxi check` runs them; other commands start faster

    def execute(self, *args, **options):
        with channel("cli"):
            try:
                return super().execute(*args, **options)
            except GuanxiError as e:
                for line in error_lines(e):
                    self.stderr.write(line)
                sys.exit(2)
