"""Periodic work of the cooperation app. Tasks take ids or nothing, never personal data."""

import logging

from celery import shared_task

from . import consultations

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def delete_expired_consultations() -> int:
    """Celery beat, daily: consultations past CONSULTATION_RETENTION_YEARS (consultations.py)."""
    deleted = consultations.delete_expired()
    if deleted:
        logger.info("Deleted %d expired consultations", deleted)
    return deleted
