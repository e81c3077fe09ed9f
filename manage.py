#!/usr/bin/env python
"""Django's command-line utility for Looptrace."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sys.argv[1:2] == ["runserver"]:
        # The development server serves requests: DB_STATEMENT_TIMEOUT_MS applies as in production.
        os.environ.setdefault("LOOPTRACE_SERVES_REQUESTS", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
