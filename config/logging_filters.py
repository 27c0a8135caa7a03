"""Filters for LOGGING in config/settings.py (module-level functions: dictConfig imports them)."""

import logging


def above_debug(record: logging.LogRecord) -> bool:
    """Drops DEBUG records. On the django.template logger: Django logs at DEBUG each variable
    a template cannot resolve together with the whole template context, which on
    cases/cpr_revealed.html holds the full CPR number (tests/test_no_personal_data.py)."""
    return record.levelno > logging.DEBUG
