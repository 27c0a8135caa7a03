# The data protection officer's pages (audit search, export, review of flagged accesses).
# Kept as its own urlconf so it can grow without touching cases.urls.
from django.urls import path

from . import audit_views

app_name = "audit"

urlpatterns = [
    path("", audit_views.search, name="search"),
    path("eksport.csv", audit_views.export, name="export"),
    path("til-gennemsyn/", audit_views.review, name="review"),
]
