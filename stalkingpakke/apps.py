from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StalkingpakkeConfig(AppConfig):
    name = "stalkingpakke"
    verbose_name = _("Stalkingpakken")
