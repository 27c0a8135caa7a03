from django.urls import path

from . import views

app_name = "stalkingpakke"

REF = "sager/<str:reference>"

urlpatterns = [
    path("stalkingpakken/", views.package_index, name="index"),
    path("stalkingpakken/<str:kind>/", views.tool_page, name="tool"),
    path(f"{REF}/logskema/", views.incident_log_page, name="incident_log"),
    path(f"{REF}/logskema/import/", views.import_csv, name="import_csv"),
    path(f"{REF}/logskema/tidslinje.svg", views.timeline_chart, name="timeline_chart"),
    path(f"{REF}/logskema/<int:sequence>/ret/", views.correct_entry, name="correct_entry"),
    path(f"{REF}/logskema/<int:sequence>/bilag/", views.add_attachment, name="add_attachment"),
    path(f"{REF}/bilag/<int:attachment_id>/", views.download_attachment, name="attachment"),
    path(f"{REF}/handleplan/", views.action_plan, name="action_plan"),
    path(f"{REF}/skema/<str:kind>/", views.tool_form, name="tool_form"),
    path(f"{REF}/dokumenter/<str:kind>/bestil/", views.request_document, name="request_document"),
    path(
        f"{REF}/dokumenter/<int:document_id>/status/", views.document_status, name="document_status"
    ),
    path(f"{REF}/dokumenter/<int:document_id>/igen/", views.retry_document, name="retry_document"),
    path(
        f"{REF}/dokumenter/<int:document_id>/hent/",
        views.download_document,
        name="download_document",
    ),
]
