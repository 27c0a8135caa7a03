from django.urls import path

from config.urls import urlpatterns as project_urlpatterns

from .floor import floor, floor_audited

urlpatterns = [
    path("bench/floor/", floor, name="bench_floor"),
    path("bench/floor/audited/", floor_audited, name="bench_floor_audited"),
    *project_urlpatterns,
]
