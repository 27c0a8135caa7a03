from django.urls import include, path

from . import views

app_name = "cases"

REF = "<str:reference>"

urlpatterns = [
    path("henvisninger/ny/", views.referral_create, name="referral_create"),
    path("henvisninger/", views.my_referrals, name="my_referrals"),
    path("visitation/", views.triage_dashboard, name="triage_dashboard"),
    path("sager/", views.my_cases, name="my_cases"),
    path("kommunens-sager/", views.municipality_case_list, name="municipality_cases"),
    path("delte-sager/", views.partner_cases, name="partner_cases"),
    path(f"sager/{REF}/", views.case_detail, name="detail"),
    path(f"sager/{REF}/start-visitation/", views.start_triage, name="start_triage"),
    path(f"sager/{REF}/cpr/", views.reveal_cpr, name="reveal_cpr"),
    path(f"sager/{REF}/visitation/", views.triage, name="triage"),
    path(f"sager/{REF}/afvis/", views.decline_incoming, name="decline_incoming"),
    path(f"sager/{REF}/videresend/", views.forward, name="forward"),
    path(f"sager/{REF}/borger/", views.edit_person, name="edit_person"),
    path(f"sager/{REF}/notat/", views.add_note, name="add_note"),
    path(f"sager/{REF}/luk/", views.close, name="close"),
    path(f"sager/{REF}/genaabn/", views.reopen, name="reopen"),
    path(f"sager/{REF}/saml/<str:into>/", views.join_duplicate, name="join"),
    path(f"sager/{REF}/samtykke/", views.consent, name="consent"),
    path(
        f"sager/{REF}/samtykke/<int:consent_id>/tilbagekald/",
        views.withdraw_consent,
        name="withdraw_consent",
    ),
    path(f"sager/{REF}/inhabilitet/", views.disqualify, name="disqualify"),
    path(f"sager/{REF}/ansvarlig/", views.reassign, name="reassign"),
    path(f"sager/{REF}/henvis/<str:partner>/", views.refer_partner, name="refer_partner"),
    path(f"sager/{REF}/henvisning/<int:referral_id>/", views.respond_to_referral, name="respond"),
    path(f"sager/{REF}/henvis-videre/", views.refer_onward, name="refer_onward"),
    path(
        f"sager/{REF}/henvis-videre/<int:referral_id>/svar/",
        views.record_onward_outcome,
        name="onward_outcome",
    ),
    path(
        f"sager/{REF}/netvaerksmoeder/ny/",
        views.network_meeting_create,
        name="network_meeting_create",
    ),
    path(
        f"sager/{REF}/netvaerksmoeder/<int:meeting_id>/",
        views.network_meeting_edit,
        name="network_meeting_edit",
    ),
    path("", include("cases.subject_access_urls")),  # cases:subject_access:*, indsigt
]
