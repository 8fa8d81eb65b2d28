#!/usr/bin/env python
"""Django's command line for the system of record: ``python sor/manage.py <command>``."""

import os
import sys
from pathlib import Path

# Run as a script, Python puts sor/ on the path; the packages `sor` and `stack` sit one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sor.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
