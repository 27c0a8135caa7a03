"""The audit trail's codes in Danish words: what was read or changed ("what") and the route or
reason it was done by ("purpose").

One mapping for everyone who reads the trail: the data protection officer's pages
(cases.audit_views) and the citizen's access log in the subject-access export
(cases.subject_access). The words are therefore neutral ("sagen", "borgerens samtykke"), not
addressed to either reader. The codes themselves stay in the trail and the CSV export.

tests/test_audit_labels.py walks every call that writes the trail and fails on a code without
a label here. A code made from a value (form:{kind}, refer:{partner}) has a label for each
value there is today and a label for its family, so a new value still reads in Danish.
"""

from django.utils.translation import gettext_lazy as _

WHAT_LABELS = {
    # The case and its pages (reads).
    "case": _("Sagen"),
    "cpr": _("Det fulde CPR-nummer"),
    "incident_log": _("Logskemaet"),
    "action_plan": _("Handleplanen"),
    "attachment": _("Et bilag"),
    "form:checklist": _("Tjeklisten »Er der tale om stalking?«"),
    "form:assessment": _("Afdækningen af situationen"),
    "form:typology": _("Skemaet om typer af stalking"),
    "form:advice": _("Gode råd til den udsatte"),
    "form:conversation": _("Skemaet til samtalen med en person, der stalker"),
    "form:referral_list": _("Henvisningslisten"),
    "form:action_plan": _("Handleplanen"),
    "form:incident_log": _("Logskemaet"),
    "document:action_plan": _("Handleplanen som PDF"),
    "document:incident_log": _("Logskemaet som PDF"),
    "document:assessment": _("Afdækningen som PDF"),
    "document:advice": _("Folderen med gode råd"),
    "document:subject_access": _("Indsigt (PDF)"),
    "document:retry": _("En PDF, der laves igen"),
    "subject_access:pdf": _("Indsigt (PDF)"),
    "subject_access:json": _("Indsigt (JSON-fil)"),
    "incident_log:chart": _("Tidslinjen i logskemaet"),
    "incident_log:correct": _("Logskemaet"),
    "incident_log:attach": _("Logskemaet"),
    "incident_log:import": _("Logskemaet"),
    "incident_log:import_preview": _("Rækker fra en CSV-fil, vist før import til logskemaet"),
    # The forms and confirmation pages of the case flow (reads).
    "case_form:triage": _("Visitationen"),
    "case_form:note": _("Formularen til et journalnotat"),
    "case_form:person": _("Formularen til at rette oplysningerne om borgeren"),
    "case_form:close": _("Formularen til at lukke sagen"),
    "case_form:reopen": _("Formularen til at genåbne sagen"),
    "case_form:decline": _("Formularen til at afvise en henvisning"),
    "case_form:forward": _("Formularen til at videresende en henvisning til en anden kommune"),
    "case_form:respond": _("Formularen til at svare på en henvisning"),
    "case_form:join": _("Formularen til at lægge sager sammen"),
    "case_form:join_target": _("Formularen til at lægge sager sammen (den eksisterende sag)"),
    "case_form:refer_police": _("Formularen til at henvise sagen til politiet"),
    "case_form:refer_dsc": _("Formularen til at henvise sagen til Dansk Stalking Center"),
    "case_form:consent": _("Formularen til at registrere samtykke"),
    "case_form:withdraw_consent": _("Formularen til at trække et samtykke tilbage"),
    "case_form:disqualify": _("Formularen til at registrere inhabilitet"),
    "case_form:reassign": _("Formularen til at give sagen en anden ansvarlig"),
    "case_form:network_meeting": _("Formularen til et netværksmøde"),
    "case_form:refer_onward": _(
        "Formularen til at henvise borgeren til en afdeling eller en ekstern aktør"
    ),
    "case_form:onward_outcome": _(
        "Formularen til at registrere svaret fra en afdeling eller en ekstern aktør"
    ),
    # Lists of cases: one entry per page shown, without a case.
    "list:triage_dashboard": _("Listen »Visitation« (sager til visitation)"),
    "list:my_cases": _("Listen »Mine sager«"),
    "list:partner_cases": _("Listen »Delte sager«"),
    # Changes to a case.
    "start_triage": _("Visitationen er påbegyndt"),
    "triage:not_stalking": _("Visitationen: ikke stalking"),
    "triage:route": _("Visitationen: sagen er sendt videre"),
    "refer:police": _("Henvisning til politiet"),
    "refer:dsc": _("Henvisning til Dansk Stalking Center"),
    "referral:accepted": _("Svar på en henvisning: modtaget"),
    "referral:declined": _("Svar på en henvisning: afvist"),
    "decline_referral": _("Afvisning af en henvisning"),
    "forward_referral": _("Videresendelse af en henvisning til en anden kommune"),
    "consent:police": _("Samtykke til deling med politiet"),
    "consent:dsc": _("Samtykke til deling med Dansk Stalking Center"),
    "withdraw_consent:police": _("Tilbagetrukket samtykke til deling med politiet"),
    "withdraw_consent:dsc": _("Tilbagetrukket samtykke til deling med Dansk Stalking Center"),
    "close": _("Lukning af sagen"),
    "reopen": _("Genåbning af sagen"),
    "join_duplicate": _("Sammenlægning med en anden sag"),
    "note": _("Et journalnotat"),
    "person": _("Oplysningerne om borgeren (navn, kontakt, forhold)"),
    "disqualify": _("Registrering af inhabilitet"),
    "reassign": _("Skift af ansvarlig for sagen"),
    # A mark from a referral forwarded in could not reach this case: the one it names is
    # responsible for it. Flagged for the municipality to hand the case over.
    "disqualify_conflict": _(
        "Inhabilitet fra en anden sag om borgeren kunne ikke registreres: den inhabile er "
        "ansvarlig for sagen og skal have den overdraget"
    ),
    "network_meeting": _("Et netværksmøde"),
    "refer_onward": _("Henvisning til en afdeling i kommunen eller en ekstern aktør"),
    "onward_outcome:accepted": _("Svar fra en afdeling eller ekstern aktør: modtaget"),
    "onward_outcome:declined": _("Svar fra en afdeling eller ekstern aktør: afvist"),
    "onward_outcome:completed": _("Svar fra en afdeling eller ekstern aktør: afsluttet"),
    "incident": _("En registrering i logskemaet"),
    "incident_correction": _("En rettelse i logskemaet"),
    "incident_import": _("En import til logskemaet"),
    # Outside the cases: roles, logins, consultations, retention, this trail.
    "handover": _("Overdragelse af en rolle til en efterfølger"),
    "role_assignment": _("En rolletildeling (givet, ændret eller fjernet i administrationen)"),
    "user": _("En brugerkonto (oprettet eller slettet i administrationen)"),
    "user:password": _("En brugers adgangskode (sat i administrationen)"),
    "group": _("En gruppe (slettet i administrationen)"),
    "otp_device": _("En brugers anden faktor (tilføjet, ændret eller slettet i administrationen)"),
    "otp_backup_codes": _("Reservekoder til totrinslogin"),
    "otp_backup_code_used": _("En reservekode til totrinslogin er brugt"),
    "consultation:ask": _("Sparring: et spørgsmål er stillet"),
    "consultation:answer": _("Sparring: et spørgsmål er besvaret"),
    "consultation:withdraw": _("Sparring: et spørgsmål er trukket tilbage"),
    "consultation:expired": _("Sparring: et spørgsmål er slettet efter opbevaringstiden"),
    "retention_list": _("Listen over sager, der skal slettes efter opbevaringsreglen"),
    "retention_run": _("Sletning efter opbevaringsreglen"),
    "retention_run:restart": _("Sletning efter opbevaringsreglen, startet igen"),
    "audit_export": _("Udtræk af revisionssporet (CSV)"),
    "audit_search": _("Søgning i revisionssporet"),
    "audit_review": _("Gennemsyn af revisionssporet"),
    "audit_admin": _("Revisionssporet i administrationen"),
    "disqualification_admin": _("Inhabiliteter i administrationen"),
}
# Families of codes with a common label: for a value without a label of its own.
WHAT_PREFIX_LABELS = {
    "case_form:": _("En formular på sagen"),
    "document_status:": _("Status for en PDF"),
    "document:": _("Et PDF-dokument"),
    "form:": _("Et skema på sagen"),
    "incident_log:": _("Logskemaet"),
    "subject_access:": _("Indsigt"),
    "list:": _("En liste over sager"),
    "triage:": _("Visitationen"),
    "refer:": _("Henvisning til en samarbejdspartner"),
    "referral:": _("Svar på en henvisning"),
    "onward_outcome:": _("Svar fra en afdeling eller ekstern aktør"),
    "consent:": _("Samtykke til deling"),
    "withdraw_consent:": _("Tilbagetrukket samtykke til deling"),
    "consultation:": _("Sparring"),
    "retention_run:": _("Sletning efter opbevaringsreglen"),
    "retention_years:": _("Kommunens opbevaringstid er ændret"),
    # Fields of a user or group changed in the administration; the code names the fields.
    "user:": _("En brugers status, rettigheder, grupper eller e-mail (ændret i administrationen)"),
    "group:": _("En gruppe eller dens rettigheder (oprettet eller ændret i administrationen)"),
}

# The route that gave access to a read (cases.access.access_route), or why something was done.
PURPOSE_LABELS = {
    "visitator": _("Kommunens stalkingvisitator, der tager imod og visiterer sagerne"),
    "responsible": _("Medarbejderen med ansvaret for sagen"),
    "grant:coordinator": _("Primær koordinator på sagen"),
    "grant:police": _("Sagen er sendt til politiet med borgerens samtykke"),
    "grant:dsc": _("Sagen er sendt til Dansk Stalking Center med borgerens samtykke"),
    "grant:view": _("Læseadgang til sagen"),
    "none": _("Uden adgang efter reglerne; registreret til kontrol"),
    "disqualified": _("Inhabil i sagen; forsøget er registreret til kontrol"),
    "retention": _("Opbevaringsreglen: sletning af gamle sager"),
    "expired": _("Opbevaringstiden for filen er udløbet"),
    "admin": _("Administration"),
    "superuser": _("Superbruger"),
    "cases.view_auditentry": _("Adgang til revisionssporet (databeskyttelsesrådgiver)"),
    "consultation:visitator": _("Sparring med kommunens stalkingvisitatorer"),
    "consultation:dsc": _("Sparring med Dansk Stalking Center"),
    "consultation:asker": _("Den, der stillede spørgsmålet"),
    "": _("Ikke angivet"),
}
PURPOSE_PREFIX_LABELS = {
    "grant:": _("Adgang givet til sagen"),
    "consultation:": _("Sparring"),
}


def _label(code: str, labels: dict, families: dict) -> str:
    if code in labels:
        return str(labels[code])
    prefix = next((p for p in families if code.startswith(p)), None)
    return str(families[prefix]) if prefix else code


def what_label(what: str) -> str:
    """ "form:assessment" -> "Afdækningen af situationen"; an unknown code as it is."""
    return _label(what, WHAT_LABELS, WHAT_PREFIX_LABELS)


def purpose_label(purpose: str) -> str:
    """ "grant:police" -> its words; several routes ("grant:police,grant:dsc", a list read
    through more than one role) each in words; an unknown code as it is."""
    if "," not in purpose:
        return _label(purpose, PURPOSE_LABELS, PURPOSE_PREFIX_LABELS)
    parts = [part for part in purpose.split(",") if part]
    return "; ".join(_label(p, PURPOSE_LABELS, PURPOSE_PREFIX_LABELS) for p in parts)
