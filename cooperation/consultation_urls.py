# Consultation (sparring) requests between professionals: no personal data, never a case.
# Its own urlconf, mounted at sparring/ in config/urls.py.
from django.urls import path

from . import consultation_views

app_name = "consultations"

urlpatterns = [
    path("", consultation_views.consultation_list, name="list"),
    path("ny/", consultation_views.ask, name="ask"),
    path("<int:pk>/", consultation_views.detail, name="detail"),
    path("<int:pk>/traek-tilbage/", consultation_views.withdraw, name="withdraw"),
]
