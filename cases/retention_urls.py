# The administrator's retention pages (closed cases past the retention period, confirmation,
# the run's report). Its own urlconf, mounted at sletning/ in config/urls.py.
from django.urls import path

from . import retention_views

app_name = "retention"

urlpatterns = [
    path("", retention_views.overview, name="overview"),
    path("kommune/<int:pk>/", retention_views.municipality, name="municipality"),
    path("kommune/<int:pk>/bekraeft/", retention_views.confirm, name="confirm"),
    path("koersel/<int:pk>/", retention_views.run_detail, name="run"),
    path("koersel/<int:pk>/start-igen/", retention_views.restart, name="restart"),
]
