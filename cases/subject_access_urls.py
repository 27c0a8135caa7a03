# The citizen's right of access (indsigt): a page on the case and its two downloads.
# Included from cases/urls.py, so the names are "cases:subject_access:<name>"; its permission
# matrix lives beside the feature in tests/test_subject_access.py.
from django.urls import path

from . import subject_access_views as views

app_name = "subject_access"

REF = "sager/<str:reference>/indsigt"

urlpatterns = [
    path(f"{REF}/", views.page, name="page"),
    path(f"{REF}/pdf/", views.order_pdf, name="pdf"),
    path(f"{REF}/indsigt.json", views.download_json, name="json"),
]
