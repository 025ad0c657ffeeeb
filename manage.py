#!/usr/bin/env python
"""Django's command-line utility for CharterOps."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charterops.settings")
    if sys.argv[1:2] == ["demo"]:
        # The demo command is the embedded demo by definition (production is the default).
        os.environ.setdefault("CHARTEROPS_MODE", "demo")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
