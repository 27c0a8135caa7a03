from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Sager")

    def ready(self):
        from .access import forget_permission_ids
        from .text_search import add_sqlite_function

        # Permissions are created (or re-created, by a test's flush) after a migration: the
        # cached ids of the case permissions must be read again (cases.access).
        post_migrate.connect(forget_permission_ids, dispatch_uid="cases.forget_permission_ids")
        connection_created.connect(add_sqlite_function, dispatch_uid="cases.sqlite_lower")
