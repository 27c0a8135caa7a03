from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from cooperation import twofactor
from cooperation import views as cooperation_views

admin.site.site_header = "Samvirke – administration"
admin.site.site_title = "Samvirke"

urlpatterns = [
    path("", cooperation_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/totrin/opsaetning/", twofactor.setup, name="otp_setup"),
    path("accounts/totrin/kode/", twofactor.verify, name="otp_verify"),
    path("accounts/aktiv/", cooperation_views.keepalive, name="keepalive"),
    path("kontakter/", cooperation_views.directory, name="directory"),
    path("statistik/", cooperation_views.statistics, name="statistics"),
    path("tilgaengelighed/", cooperation_views.accessibility_statement, name="accessibility"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("revision/", include("cases.audit_urls")),
    path("sletning/", include("cases.retention_urls")),
    path("sparring/", include("cooperation.consultation_urls")),
    path("admin/", admin.site.urls),
    path("", include("stalkingpakke.urls")),
    path("", include("cases.urls")),
]
