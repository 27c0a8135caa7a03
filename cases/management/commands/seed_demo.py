"""Demo organisations, one user per role (password "demo") and cases in every state.

Idempotent: users and organisations are updated in place; demo cases are made once.
Refuses to run unless DEBUG is on, so no production system gets a known password.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from cases import services
from cases.models import (
    Case,
    ChildrenNotification,
    ClosingReason,
    ConsentPartner,
    ConsentScope,
    PersonKind,
    ReferralStatus,
    Relation,
    Urgency,
    YesNoUnknown,
)
from cooperation.models import Organisation, OrganisationKind, Role, RoleAssignment, Unit
from cooperation.roles import forget_roles

User = get_user_model()
PASSWORD = "demo"  # noqa: S105 - demo only, refused without DEBUG

ORGANISATIONS = [
    ("Syd- og Sønderjyllands Politi", OrganisationKind.POLICE, "SSJP", None),
    ("Esbjerg Kommune", OrganisationKind.MUNICIPALITY, "ESB", "SSJP"),
    ("Varde Kommune", OrganisationKind.MUNICIPALITY, "VAR", "SSJP"),
    ("Dansk Stalking Center", OrganisationKind.DSC, "DSC", None),
]
# Esbjerg has one number for the visitation (the acute advice names it); Varde does not.
VISITATION_PHONES = {"ESB": "76 16 10 00"}
UNITS = {
    "ESB": ["Jobcenter", "Familierådgivningen", "Borgerservice", "Akutteamet", "Krisecenter"],
    "VAR": ["Jobcenter", "Familierådgivningen"],
}
# username, first, last, role, organisation code, unit, deputy, phone
USERS = [
    (
        "forstekontakt",
        "Freja",
        "Holm",
        Role.FIRST_CONTACT,
        "ESB",
        "Jobcenter",
        False,
        "76 16 10 01",
    ),
    ("visitator", "Vibeke", "Lund", Role.VISITATOR, "ESB", "Akutteamet", False, "76 16 10 02"),
    ("visitator2", "Victor", "Krogh", Role.VISITATOR, "ESB", "Akutteamet", True, "76 16 10 03"),
    (
        "koordinator",
        "Karen",
        "Møller",
        Role.COORDINATOR,
        "ESB",
        "Familierådgivningen",
        False,
        "76 16 10 04",
    ),
    # A second coordinator: someone to give a case to (Skift ansvarlig).
    (
        "koordinator2",
        "Kasper",
        "Nygaard",
        Role.COORDINATOR,
        "ESB",
        "Akutteamet",
        False,
        "76 16 10 05",
    ),
    ("politi", "Per", "Østergaard", Role.POLICE_CONTACT, "SSJP", None, False, "114"),
    ("dsc", "Dorthe", "Bach", Role.DSC_ADVISOR, "DSC", None, False, "70 20 30 40"),
    ("folgegruppe", "Finn", "Gade", Role.FOLLOW_UP, "ESB", None, False, ""),
    (
        "varde-visitator",
        "Vera",
        "Dahl",
        Role.VISITATOR,
        "VAR",
        "Familierådgivningen",
        False,
        "75 94 00 00",
    ),
]


class Command(BaseCommand):
    help = "Create the demo organisations, users (password 'demo') and cases. Needs DEBUG."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG=1: it sets known passwords.")
        with transaction.atomic():
            organisations = self._organisations()
            users = self._users(organisations)
            created = self._cases(organisations, users)
            self._consultations(organisations, users)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {len(users)} users, {Case.objects.count()} cases ({created} new)."
            )
        )

    def _organisations(self):
        result = {}
        for name, kind, code, district in ORGANISATIONS:
            org, _ = Organisation.objects.update_or_create(
                code=code,
                defaults={
                    "name": name,
                    "kind": kind,
                    "police_district": result.get(district),
                    "visitation_phone": VISITATION_PHONES.get(code, ""),
                },
            )
            result[code] = org
            for unit in UNITS.get(code, []):
                Unit.objects.get_or_create(organisation=org, name=unit)
        return result

    def _users(self, organisations):
        users = {}
        for username, first, last, role, code, unit, deputy, phone in USERS:
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "is_active": True,
                    "email": f"{username}@example.invalid",
                },
            )
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
            RoleAssignment.objects.update_or_create(
                user=user,
                role=role,
                organisation=organisations[code],
                defaults={
                    "unit": Unit.objects.filter(
                        organisation=organisations[code], name=unit
                    ).first(),
                    "is_deputy": deputy,
                    "phone": phone,
                    "email": user.email,
                    "valid_from": datetime.date(2026, 1, 1),
                    "valid_to": None,
                },
            )
            users[username] = user
        admin, _ = User.objects.update_or_create(
            username="admin",
            defaults={
                "is_staff": True,
                "is_superuser": True,
                "first_name": "Administrator",
                "email": "admin@example.invalid",
            },
        )
        admin.set_password(PASSWORD)
        admin.save(update_fields=["password"])
        users["admin"] = admin
        for user in users.values():
            forget_roles(user)
        return users

    def _cases(self, organisations, users) -> int:
        esb = organisations["ESB"]
        if Case.objects.filter(municipality=esb).exists():
            return 0
        first, visitator, coordinator, police = (
            users["forstekontakt"],
            users["visitator"],
            users["koordinator"],
            users["politi"],
        )
        contact_police = [(ConsentPartner.POLICE, s) for s in ConsentScope.values]
        contact_dsc = [
            (ConsentPartner.DSC, ConsentScope.CONTACT),
            (ConsentPartner.DSC, ConsentScope.SITUATION),
        ]

        def refer(actor=first, **kwargs):
            defaults = {
                "municipality": esb,
                "safe_contact": "Kun sms til det nye nummer",
                "reason": "Borgeren fortæller om gentagne, uønskede henvendelser i flere måneder.",  # noqa: E501
            }
            return services.refer(actor=actor, **{**defaults, **kwargs})

        # 1. Police case: active, routed to the coordinator and the police (all consents).
        police_case = refer(
            full_name="Mette Sørensen",
            cpr="0304851234",
            children_in_household=True,
            relation=Relation.EX_PARTNER,
            urgency=Urgency.HIGH,
            consents=contact_police,
            safe_contact="Mobil 20 30 40 50, ikke efter kl. 17",
            safe_contact_time="Hverdage 9-16",
        )
        services.start_triage(actor=visitator, case=police_case)
        services.triage(
            actor=visitator,
            case=police_case,
            is_stalking=True,
            reasoning="Vedvarende kontakt og overvågning gennem et halvt år; borgeren er bange.",
            children_notification=ChildrenNotification.SENT,
            coordinator=coordinator,
            to_police=True,
        )
        services.add_note(
            actor=coordinator,
            case=police_case,
            text="Første samtale holdt. Borgeren fører logskema fra i dag.",
        )
        # 2. Active with the coordinator only, not shared with the police; DSC consent.
        dsc_case = refer(
            full_name="Jonas Ærø Kjær",
            birth_date=datetime.date(1990, 6, 14),
            person_kind=PersonKind.EMPLOYEE,
            relation=Relation.CITIZEN_TO_EMPLOYEE,
            stalker_works_in_municipality=YesNoUnknown.NO,
            consents=contact_dsc,
        )
        services.start_triage(actor=visitator, case=dsc_case)
        services.triage(
            actor=visitator,
            case=dsc_case,
            is_stalking=True,
            reasoning="En borger opsøger medarbejderen privat og på arbejdet.",
            coordinator=coordinator,
            to_dsc=True,
        )
        # Since then the citizen has agreed to involve the police: the case page offers to refer
        # it there (not done, so one active case stays unshared with the police).
        services.record_consent(
            actor=coordinator,
            case=dsc_case,
            partner=ConsentPartner.POLICE,
            scopes=[ConsentScope.CONTACT, ConsentScope.INCIDENT_LOG],
        )
        # 3. In triage.
        in_triage = refer(full_name="Bo Nielsen", birth_date=datetime.date(1978, 2, 1))
        services.start_triage(actor=visitator, case=in_triage)
        # 4. Referred, and overdue.
        overdue = refer(full_name="Anna Lykke", urgency=Urgency.ACUTE)
        received = timezone.now() - datetime.timedelta(days=14)
        # Acute: due the day it arrived (services._triage_deadline), so overdue since then.
        Case.objects.filter(pk=overdue.pk).update(
            received_at=received, triage_deadline=timezone.localdate(received)
        )
        # The referral and its timeline say the same day as "Modtaget".
        overdue.referrals.update(created_at=received)
        overdue.events.update(created_at=received)
        # 5. Referred by the police (mutual referral); possible duplicate of case 2.
        refer(
            actor=police,
            full_name="Jonas Ærø Kjær",
            birth_date=datetime.date(1990, 6, 14),
            reason="Borgeren har anmeldt chikane og ønsker hjælp fra kommunen.",
        )
        # 6. Closed: not stalking, advice given.
        closed = refer(full_name="Lise Holm")
        services.start_triage(actor=visitator, case=closed)
        services.triage(
            actor=visitator,
            case=closed,
            is_stalking=False,
            reasoning="En enkelt konflikt med en nabo, ingen gentagelser.",
            advice_given="Rådgivet om mægling og om at kontakte politiet, hvis det gentager sig.",
        )
        # 7. Closed after the work was done.
        resolved = refer(full_name="Sofie Friis", consents=contact_dsc)
        services.start_triage(actor=visitator, case=resolved)
        services.triage(
            actor=visitator,
            case=resolved,
            is_stalking=True,
            reasoning="Stalking efter brud; borgeren ønsker et forløb.",
            coordinator=coordinator,
        )
        services.close(
            actor=coordinator,
            case=resolved,
            reason=ClosingReason.RESOLVED,
            comment="Henvendelserne er ophørt, og borgeren føler sig tryg.",
        )
        # 8. Closed six years ago: past the retention rule, so /sletning/ has one to show.
        old = refer(full_name="Karen Vestergaard")
        services.start_triage(actor=visitator, case=old)
        services.triage(
            actor=visitator,
            case=old,
            is_stalking=False,
            reasoning="Henvendelserne stoppede, før sagen blev visiteret.",
            advice_given="Rådgivet om at kontakte kommunen igen, hvis det starter igen.",
        )
        long_ago = timezone.now() - datetime.timedelta(days=6 * 366)
        Case.objects.filter(pk=old.pk).update(
            received_at=long_ago - datetime.timedelta(days=10),
            triage_deadline=timezone.localdate(long_ago),
            triaged_at=long_ago,
            closed_at=long_ago,
        )
        self._stalkingpakke(police_case, coordinator)
        self._network_meeting(police_case, coordinator)
        self._onward_referrals(police_case, coordinator)
        return 8

    def _network_meeting(self, case, coordinator):
        """The police case's network meeting: roles and organisations, no employees' names."""
        services.record_network_meeting(
            actor=coordinator,
            case=case,
            held_on=timezone.localdate(),
            participants="Mette (borgeren), primær koordinator (Familierådgivningen), politiets "
            "kontaktperson, Jobcentret, Krisecenteret",
            purpose="Fælles overblik over sikkerheden i hjemmet og på arbejdet, og hvem der "
            "gør hvad de næste to uger.",
            agreements="Politiet vurderer et tilhold inden en uge. Jobcentret aftaler en sikker "
            "vej til og fra arbejdet. Koordinatoren samler logskemaet til politiet.",
            next_meeting=timezone.localdate() + datetime.timedelta(days=14),
        )

    def _onward_referrals(self, case, coordinator):
        """The police case's referrals onward: the job centre has answered, the victim
        counselling has not yet (so "Registrer svar" is there to try)."""
        jobcentre = Unit.objects.get(organisation=case.municipality, name="Jobcenter")
        referral = services.refer_onward(
            actor=coordinator,
            case=case,
            unit=jobcentre,
            reason="En sikker vej til og fra arbejdet og mulighed for hjemmearbejde i en periode.",
        )
        services.record_onward_outcome(
            actor=coordinator, referral=referral, status=ReferralStatus.ACCEPTED
        )
        services.refer_onward(
            actor=coordinator,
            case=case,
            external="Offerrådgivningen i Esbjerg",
            reason="Samtaler om at leve med frygten, og hjælp til at forberede et retsmøde.",
        )

    def _stalkingpakke(self, case, coordinator):
        """The police case gets a log, a plan and an assessment, and its PDFs are made
        through the same Celery task the page uses."""
        from stalkingpakke import documents, incident_log, services
        from stalkingpakke.content import default_content
        from stalkingpakke.models import ToolKind

        def local(days_ago: int, at: datetime.time) -> datetime.datetime:
            day = timezone.localdate() - datetime.timedelta(days=days_ago)
            return timezone.make_aware(datetime.datetime.combine(day, at))

        example = default_content()["incident_log"]["example"]
        for days_ago, item in zip((40, 33, 26), example, strict=False):
            # On the time of day the example's text tells of ("mellem 21.40 og 22.30").
            at = datetime.time.fromisoformat(item["occurred_at"].split("T")[1])
            incident_log.add_entry(
                actor=coordinator,
                case=case,
                data={
                    "occurred_at": local(days_ago, at),
                    "place": item["place"]["da"],
                    "what_happened": item["what_happened"]["da"],
                    "behaviours": item["behaviours"],
                    "witnesses": item["witnesses"]["da"],
                    "evidence": item["evidence"]["da"],
                    "reported_to_police": item["reported_to_police"],
                    "police_journal_number": item["police_journal_number"],
                    "effect": item["effect"]["da"],
                },
            )
        for days_ago in range(20, 0, -2):
            incident_log.add_entry(
                actor=coordinator,
                case=case,
                data={
                    "occurred_at": local(
                        days_ago, datetime.time(19 + days_ago % 4, 10 * (days_ago % 6))
                    ),
                    "place": "Hjemme, Skovvej 12",
                    "what_happened": "Flere opkald fra skjult nummer og en sms om, at han "
                    "»bare vil snakke«.",
                    "behaviours": ["calls", "messages"],
                    "evidence": "Skærmbillede af opkaldslisten",
                    "effect": "Utryg, sov dårligt.",
                },
            )
        services.save_action_plan(
            actor=coordinator,
            case=case,
            goals="Mette skal føle sig tryg i hjemmet og på arbejdet.",
            safety_measures="Nyt telefonnummer, alarm fra politiet, aftale med arbejdspladsen.",
            next_review=timezone.localdate() + datetime.timedelta(days=14),
            items=[
                {
                    "who": "Karen Møller (koordinator)",
                    "what": "Samtale hver uge",
                    "deadline": timezone.localdate() + datetime.timedelta(days=7),
                    "status": "in_progress",
                },
                {"who": "Mette", "what": "Føre logskema og gemme beviser", "status": "in_progress"},
                {"who": "Politiet", "what": "Vurdere tilhold", "status": "not_started"},
            ],
        )
        services.save_form(
            actor=coordinator,
            case=case,
            kind=ToolKind.ASSESSMENT,
            answers={
                "risk:ex_intimate_partner": "yes",
                "risk:recent_separation": "yes",
                "risk:escalation": "yes",
                "risk:approaching_home": "yes",
                "risk:fear_of_exposed": "yes",
                "risk:weapons_access": "unknown",
            },
        )
        for kind in ("action_plan", "incident_log"):
            documents.request_document(actor=coordinator, case=case, kind=kind)

    # Two consultations (sparring), each made once: the key is who asked and the question.
    # One open to Esbjerg's visitator from the first contact, one to DSC that DSC answered.
    CONSULTATION_OPEN = (
        "En borger, jeg har kontakt med i jobcentret, fortæller, at en tidligere kollega "
        "dukker op, hvor hun handler, og skriver til hende på sociale medier flere gange om "
        "ugen. Hun vil ikke anmelde det. Er det noget, jeg skal henvise til dig, eller kan jeg "
        "nøjes med at give hende rådene fra stalkingpakken?"
    )
    CONSULTATION_ANSWERED = (
        "Hvordan taler vi bedst med en borger, der er bange for, at det bliver værre, hvis "
        "politiet kontakter den, der stalker? Borgeren har fået et tilhold tidligere."
    )
    CONSULTATION_ANSWER = (
        "Tag frygten alvorligt, og læg en sikkerhedsplan sammen med borgeren, før noget sker. "
        "Fortæl, hvad politiet kan gøre, og at borgeren kan få en kontaktperson der. Brud på "
        "et tilhold kan anmeldes hver gang; hjælp borgeren med at føre logskema. Ring gerne "
        "til vores linje for fagpersoner, hvis I vil tale det igennem."
    )

    def _consultations(self, organisations, users):
        from cooperation import consultations
        from cooperation.models import Consultation, ConsultationKind

        def once(asker, question, kind, organisation):
            existing = Consultation.objects.filter(asked_by=asker, question=question).first()
            if existing is not None:
                return existing, False
            made = consultations.ask(
                actor=asker, to_kind=kind, organisation=organisation, question=question
            )
            return made, True

        once(
            users["forstekontakt"],
            self.CONSULTATION_OPEN,
            ConsultationKind.VISITATOR,
            organisations["ESB"],
        )
        answered, new = once(
            users["koordinator"],
            self.CONSULTATION_ANSWERED,
            ConsultationKind.DSC,
            organisations["DSC"],
        )
        if new:
            consultations.answer(
                actor=users["dsc"], consultation=answered, answer=self.CONSULTATION_ANSWER
            )
