"""Periodic work of the cooperation app. Tasks take ids or nothing, never personal data."""

import logging
from importlib import import_module

from celery import shared_task
from django.conf import settings

from . import consultations

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def delete_expired_consultations() -> int:
    """Celery beat, daily: consultations past CONSULTATION_RETENTION_YEARS (consultations.py)."""
    deleted = consultations.delete_expired()
    if deleted:
        logger.info("Deleted %d expired consultations", deleted)
    return deleted


@shared_task(ignore_result=True)
def clear_expired_sessions() -> None:
    """Celery beat, hourly: what `manage.py clearsessions` does. A user who closes the browser
    instead of logging out leaves the session's row (login, second factor, sealed list
    searches) behind; Django deletes it only when asked."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
