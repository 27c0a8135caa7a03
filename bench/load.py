"""Fill the bench database: organisations, 200 users with roles, 10,000 cases in realistic
states, referrals, consents, guardian grants, 100,000 notes and the case timelines.

Rows are written with COPY (and bulk_create for the small tables), not through the services:
the services would take an hour. The rows are the ones the services would leave behind
(see cases.services: refer, start_triage, triage, close, add_note).
"""

import datetime
import random
import string
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from cases.cpr import cpr_index, encrypt_cpr
from cases.deadlines import add_working_days
from cases.models import (
    Case,
    CaseEvent,
    CaseSequence,
    CaseState,
    CaseUserObjectPermission,
    ChildrenNotification,
    ClosingReason,
    Consent,
    ConsentPartner,
    ConsentScope,
    EventKind,
    Note,
    PersonKind,
    Referral,
    ReferralKind,
    ReferralStatus,
    Relation,
    Urgency,
    YesNoUnknown,
)
from cooperation.models import Organisation, OrganisationKind, Role, RoleAssignment, Unit
from stalkingpakke.models import FilledForm, ToolKind, ToolVersion

User = get_user_model()

N_CASES = 10_000
N_NOTES = 100_000
N_USERS = 200

# code, name, police district code, share of the cases, visitators, coordinators, follow-up
MUNICIPALITIES = [
    ("AAR", "Aarhus Kommune", "OJP", 0.60, 4, 30, 2),
    ("ESB", "Esbjerg Kommune", "SSJP", 0.25, 3, 14, 1),
    ("VAR", "Varde Kommune", "SSJP", 0.15, 2, 8, 1),
]
POLICE = [("OJP", "Østjyllands Politi", 10), ("SSJP", "Syd- og Sønderjyllands Politi", 10)]
DSC_ADVISORS = 8
UNITS = ["Jobcenter", "Familierådgivningen", "Borgerservice", "Akutteamet", "Krisecenter"]

STATE_WEIGHTS = [
    (CaseState.REFERRED, 0.05),
    (CaseState.IN_TRIAGE, 0.05),
    (CaseState.ACTIVE, 0.30),
    (CaseState.CLOSED, 0.60),
]
URGENCY_WEIGHTS = [(Urgency.NORMAL, 0.75), (Urgency.HIGH, 0.20), (Urgency.ACUTE, 0.05)]
NOTE_WEIGHT = {
    CaseState.REFERRED: 0.1,
    CaseState.IN_TRIAGE: 0.4,
    CaseState.ACTIVE: 1.6,
    CaseState.CLOSED: 1.0,
}
CLOSING_AFTER_WORK = [
    ClosingReason.RESOLVED,
    ClosingReason.RESOLVED,
    ClosingReason.RESOLVED,
    ClosingReason.MOVED_AWAY,
    ClosingReason.CITIZEN_DECLINED,
    ClosingReason.TRANSFERRED,
    ClosingReason.OTHER,
]

_FIRST = "Anne Mette Hanne Kirsten Susanne Lene Maria Marianne Camilla Louise Sofie Emma Ida"
_FIRST += " Freja Peter Jens Lars Michael Henrik Søren Thomas Jesper Mads Rasmus Jonas Mikkel"
_LAST = "Nielsen Jensen Hansen Pedersen Andersen Christensen Larsen Sørensen Rasmussen Jørgensen"
_LAST += " Petersen Madsen Kristensen Olsen Thomsen Christiansen Poulsen Johansen Møller Østergaard"
_LAST += " Kjær Holm Lund Dahl Bach Friis Gade Krogh Lykke"
FIRST_NAMES = _FIRST.split(" ")
LAST_NAMES = _LAST.split(" ")
SENTENCES = [
    "Borgeren oplyser, at der fortsat kommer mange sms'er om aftenen.",
    "Samtale holdt i dag; borgeren fører logskema og har gemt skærmbilleder.",
    "Aftalt opfølgning i næste uge via det sikre nummer.",
    "Den, der stalker, er set ved borgerens arbejdsplads to gange.",
    "Borgeren er bange for at gå alene hjem og har fået hjælp af en kollega.",
    "Politiet er orienteret om de seneste hændelser.",
    "Handleplanen er gennemgået, og borgeren er enig i de næste skridt.",
    "Der er talt om sikkerhed på sociale medier og skift af adgangskoder.",
    "Borgeren har haft kontakt til Dansk Stalking Center for rådgivning.",
    "Ingen nye hændelser siden sidste samtale.",
    "Børnene er orienteret på en måde, der passer til deres alder.",
    "Borgeren ønsker at flytte og har fået vejledning om hemmelig adresse.",
]


_PARTNER_KIND = {
    ConsentPartner.POLICE: ReferralKind.TO_POLICE,
    ConsentPartner.DSC: ReferralKind.TO_DSC,
}


def _pick(rng, weighted):
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def _text(rng, low, high):
    n = rng.randint(low, high)
    return " ".join(rng.choice(SENTENCES) for _ in range(n))


def _copy(model, columns, rows):
    """COPY rows (tuples in the order of `columns`, model attnames) into the model's table."""
    table = model._meta.db_table
    cols = ", ".join(f'"{model._meta.get_field(c).column}"' for c in columns)
    sql = f'COPY "{table}" ({cols}) FROM STDIN'
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _reset_sequences(*models):
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # noqa: S608
                f'COALESCE((SELECT MAX(id) FROM "{table}"), 1))'
            )


class _Loader:
    def __init__(self, seed=42):
        self.rng = random.Random(seed)
        self.now = timezone.now().replace(microsecond=0)
        self.deadline_cache = {}

    # ---- organisations and people -------------------------------------------------------
    def organisations(self):
        orgs = {}
        pk = 1
        for code, name, _ in POLICE:
            orgs[code] = Organisation(pk=pk, name=name, kind=OrganisationKind.POLICE, code=code)
            pk += 1
        for code, name, district, *_ in MUNICIPALITIES:
            orgs[code] = Organisation(
                pk=pk,
                name=name,
                kind=OrganisationKind.MUNICIPALITY,
                code=code,
                police_district_id=orgs[district].pk,
            )
            pk += 1
        orgs["DSC"] = Organisation(
            pk=pk, name="Dansk Stalking Center", kind=OrganisationKind.DSC, code="DSC"
        )
        Organisation.objects.bulk_create(orgs.values())
        units = [
            Unit(organisation=orgs[code], name=name)
            for code, *_ in MUNICIPALITIES
            for name in UNITS
        ]
        Unit.objects.bulk_create(units)
        self.units = defaultdict(dict)
        for unit in Unit.objects.all():
            self.units[unit.organisation_id][unit.name] = unit.pk
        self.orgs = orgs
        _reset_sequences(Organisation)

    def users(self):
        rng = self.rng
        plan = []  # (username, role, org code, unit name, deputy)
        for code, _, _, _, n_vis, n_coord, n_follow in MUNICIPALITIES:
            plan += [
                (f"{code.lower()}-visitator-{i}", Role.VISITATOR, code, "Akutteamet", i > 1)
                for i in range(1, n_vis + 1)
            ]
            plan += [
                (f"{code.lower()}-koordinator-{i}", Role.COORDINATOR, code, UNITS[1], False)
                for i in range(1, n_coord + 1)
            ]
            plan += [
                (f"{code.lower()}-folgegruppe-{i}", Role.FOLLOW_UP, code, None, False)
                for i in range(1, n_follow + 1)
            ]
        for code, _, n in POLICE:
            plan += [
                (f"{code.lower()}-politi-{i}", Role.POLICE_CONTACT, code, None, i > 1)
                for i in range(1, n + 1)
            ]
        plan += [
            (f"dsc-raadgiver-{i}", Role.DSC_ADVISOR, "DSC", None, i > 1)
            for i in range(1, DSC_ADVISORS + 1)
        ]
        # The rest are first contacts, spread like the cases.
        remaining = N_USERS - len(plan)
        shares = [m[3] for m in MUNICIPALITIES]
        counts = [int(remaining * s) for s in shares]
        counts[0] += remaining - sum(counts)
        for (code, *_), n in zip(MUNICIPALITIES, counts, strict=True):
            for i in range(1, n + 1):
                username = f"{code.lower()}-forstekontakt-{i}"
                plan.append((username, Role.FIRST_CONTACT, code, rng.choice(UNITS), False))
        users = []
        for pk, (username, *_rest) in enumerate(plan, start=1):
            users.append(
                User(
                    pk=pk,
                    username=username,
                    first_name=rng.choice(FIRST_NAMES),
                    last_name=rng.choice(LAST_NAMES),
                    email=f"{username}@example.invalid",
                    # Unusable password: the bench logs in by making sessions directly.
                    password="!" + "".join(rng.choices(string.ascii_letters, k=40)),
                    is_active=True,
                    date_joined=self.now,
                )
            )
        User.objects.bulk_create(users)
        assignments = []
        self.holders = defaultdict(list)  # (org code, role) -> [user pk]
        for pk, (_username, role, code, unit, deputy) in enumerate(plan, start=1):
            org = self.orgs[code]
            assignments.append(
                RoleAssignment(
                    user_id=pk,
                    role=role,
                    organisation=org,
                    unit_id=self.units[org.pk].get(unit) if unit else None,
                    is_deputy=deputy,
                    phone=f"7{rng.randint(1000000, 9999999)}",
                    email=f"{plan[pk - 1][0]}@example.invalid",
                    valid_from=datetime.date(2024, 1, 1),
                )
            )
            self.holders[(code, role)].append(pk)
        RoleAssignment.objects.bulk_create(assignments)
        _reset_sequences(User, RoleAssignment)
        return len(users)

    # ---- cases ---------------------------------------------------------------------------
    def _deadline(self, received_at):
        day = timezone.localdate(received_at)
        if day not in self.deadline_cache:
            self.deadline_cache[day] = add_working_days(day, 5)
        return self.deadline_cache[day]

    def _ago(self, low_days, high_days):
        return self.now - datetime.timedelta(seconds=self.rng.uniform(low_days, high_days) * 86400)

    def _person(self, code, people):
        rng = self.rng
        if people[code] and rng.random() < 0.03:
            return rng.choice(people[code])  # the same person referred again: a duplicate
        birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randint(0, 365 * 55))
        person = {
            "full_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "birth_date": birth,
            "cpr": None,
        }
        if rng.random() < 0.6:
            person["cpr"] = birth.strftime("%d%m%y") + f"{rng.randint(0, 9999):04d}"
        people[code].append(person)
        return person

    def cases(self):
        rng = self.rng
        people = defaultdict(list)
        coord_weights = {}
        for code, *_ in MUNICIPALITIES:
            coords = self.holders[(code, Role.COORDINATOR)]
            # A few coordinators carry many cases, most carry some.
            coord_weights[code] = [1 / (k + 1) ** 0.8 for k in range(len(coords))]
        specs = []
        for _ in range(N_CASES):
            code = _pick(rng, [(m[0], m[3]) for m in MUNICIPALITIES])
            state = _pick(rng, STATE_WEIGHTS)
            received_at = {
                CaseState.REFERRED: lambda: self._ago(0, 14),
                CaseState.IN_TRIAGE: lambda: self._ago(1, 20),
                CaseState.ACTIVE: lambda: self._ago(10, 540),
                CaseState.CLOSED: lambda: self._ago(20, 1100),
            }[state]()
            spec = {
                "code": code,
                "state": state,
                "received_at": received_at,
                "urgency": _pick(rng, URGENCY_WEIGHTS),
                "person": self._person(code, people),
                "children": rng.random() < 0.35,
                "triaged_at": None,
                "closed_at": None,
                "closing_reason": "",
                "coordinator": None,
                "police": False,
                "dsc": False,
            }
            visitators = self.holders[(code, Role.VISITATOR)]
            spec["triager"] = rng.choice(visitators)
            spec["main_visitator"] = visitators[0]
            if state in (CaseState.ACTIVE, CaseState.CLOSED):
                spec["triaged_at"] = min(
                    received_at + datetime.timedelta(days=rng.uniform(1, 7)),
                    self.now - datetime.timedelta(hours=1),
                )
                not_stalking = state == CaseState.CLOSED and rng.random() < 0.35
                if not not_stalking:
                    if rng.random() < 0.9:
                        coords = self.holders[(code, Role.COORDINATOR)]
                        spec["coordinator"] = rng.choices(coords, coord_weights[code])[0]
                    spec["police"] = rng.random() < 0.3
                    spec["dsc"] = rng.random() < 0.12
                    if not (spec["coordinator"] or spec["police"] or spec["dsc"]):
                        spec["police"] = True
                if state == CaseState.CLOSED:
                    if not_stalking:
                        spec["closed_at"] = spec["triaged_at"]
                        spec["closing_reason"] = ClosingReason.NOT_STALKING
                    else:
                        spec["closed_at"] = min(
                            spec["triaged_at"] + datetime.timedelta(days=rng.uniform(20, 300)),
                            self.now - datetime.timedelta(hours=2),
                        )
                        spec["closing_reason"] = rng.choice(CLOSING_AFTER_WORK)
            specs.append(spec)
        specs.sort(key=lambda s: s["received_at"])
        self.specs = specs
        self._write_cases()

    def _write_cases(self):
        rng = self.rng
        sequences = defaultdict(int)
        rows = []
        for pk, s in enumerate(self.specs, start=1):
            s["pk"] = pk
            org = self.orgs[s["code"]]
            year = timezone.localdate(s["received_at"]).year
            sequences[(s["code"], year)] += 1
            s["reference"] = f"{s['code']}-{year}-{sequences[(s['code'], year)]:04d}"
            person = s["person"]
            cpr = person["cpr"]
            state = s["state"]
            if state == CaseState.REFERRED:
                responsible = s["main_visitator"]
            elif state == CaseState.IN_TRIAGE:
                responsible = s["triager"]
            else:
                responsible = s["coordinator"] or s["triager"]
            s["responsible"] = responsible
            triaged = s["triaged_at"] is not None
            children_notification = ""
            if triaged and s["children"]:
                children_notification = rng.choice(ChildrenNotification.values)
            rows.append(
                (
                    pk,
                    s["reference"],
                    org.pk,
                    state,
                    s["urgency"],
                    s["received_at"],
                    self._deadline(s["received_at"]),
                    responsible,
                    PersonKind.EMPLOYEE if rng.random() < 0.1 else PersonKind.CITIZEN,
                    person["full_name"],
                    encrypt_cpr(cpr) if cpr else "",
                    cpr_index(cpr) if cpr else "",
                    cpr[-4:] if cpr else "",
                    person["birth_date"],
                    f"Kun sms til {rng.randint(20000000, 99999999)}",
                    rng.choice(["", "Hverdage 9-16", "Efter kl. 17", "Kun formiddag"]),
                    s["children"],
                    rng.choice(Relation.values),
                    rng.choice(YesNoUnknown.values),
                    (s["closing_reason"] != ClosingReason.NOT_STALKING) if triaged else None,
                    _text(rng, 1, 3) if triaged else "",
                    children_notification,
                    s["triaged_at"],
                    s["closing_reason"],
                    _text(rng, 1, 2) if s["closed_at"] else "",
                    s["closed_at"],
                    None,
                    1 + (3 if triaged else 0) + (1 if s["closed_at"] else 0),
                    s["received_at"],
                    s["closed_at"] or s["triaged_at"] or s["received_at"],
                )
            )
        columns = [
            "id",
            "reference",
            "municipality_id",
            "state",
            "urgency",
            "received_at",
            "triage_deadline",
            "responsible_id",
            "person_kind",
            "full_name",
            "cpr_encrypted",
            "cpr_index",
            "cpr_last4",
            "birth_date",
            "safe_contact",
            "safe_contact_time",
            "children_in_household",
            "relation",
            "stalker_works_in_municipality",
            "is_stalking",
            "triage_reasoning",
            "children_notification",
            "triaged_at",
            "closing_reason",
            "closing_comment",
            "closed_at",
            "merged_into_id",
            "version",
            "created_at",
            "updated_at",
        ]
        _copy(Case, columns, rows)
        CaseSequence.objects.bulk_create(
            CaseSequence(organisation=self.orgs[code], year=year, last_number=n)
            for (code, year), n in sequences.items()
        )
        _reset_sequences(Case, CaseSequence)

    # ---- what the services add around a case ---------------------------------------------
    def _onward(self, referrals, s, kind, to_org, to_user):
        """A referral made at triage (to the coordinator, the police or DSC)."""
        created_at = s["triaged_at"]
        if s["closed_at"]:
            status, r_at, r_by = ReferralStatus.COMPLETED, s["closed_at"], s["responsible"]
        elif created_at > self.now - datetime.timedelta(days=14) and self.rng.random() < 0.5:
            status, r_at, r_by = ReferralStatus.SENT, None, None
        else:
            status = ReferralStatus.ACCEPTED
            r_at, r_by = created_at + datetime.timedelta(hours=5), to_user
        org_pk = self.orgs[s["code"]].pk
        referrals.append(
            (s["pk"], kind, status, s["triager"], org_pk, to_org, to_user, "", "", created_at)
            + (r_at, r_by)
        )

    def referrals_consents_grants(self):
        rng = self.rng
        ct = ContentType.objects.get_for_model(Case)
        perm = {p.codename: p.pk for p in Permission.objects.filter(content_type=ct)}
        referrals, consents, grants = [], [], []
        dsc_org = self.orgs["DSC"]
        dsc_holders = self.holders[("DSC", Role.DSC_ADVISOR)]
        police_code = {m[0]: m[2] for m in MUNICIPALITIES}
        for s in self.specs:
            org = self.orgs[s["code"]]
            district = org.police_district_id
            police_holders = self.holders[(police_code[s["code"]], Role.POLICE_CONTACT)]
            closed_at, triaged_at, state = s["closed_at"], s["triaged_at"], s["state"]
            # 1. The referral to the visitator, from a first contact or (mutual) the police.
            if rng.random() < 0.08:
                from_user, from_org = rng.choice(police_holders), district
            else:
                from_user = rng.choice(self.holders[(s["code"], Role.FIRST_CONTACT)])
                from_org = org.pk
            s["referrer"] = from_user
            s["from_org"] = from_org
            if state == CaseState.REFERRED:
                status, responded_at, responded_by = ReferralStatus.SENT, None, None
            elif state == CaseState.IN_TRIAGE:
                status = ReferralStatus.ACCEPTED
                responded_at = s["received_at"] + datetime.timedelta(hours=rng.uniform(1, 20))
                responded_by = s["triager"]
            else:
                status, responded_at, responded_by = (
                    ReferralStatus.COMPLETED,
                    triaged_at,
                    s["triager"],
                )
            referrals.append(
                (
                    s["pk"],
                    ReferralKind.TO_VISITATOR,
                    status,
                    from_user,
                    from_org,
                    org.pk,
                    s["main_visitator"],
                    _text(rng, 1, 2),
                    "",
                    s["received_at"],
                    responded_at,
                    responded_by,
                )
            )
            # 2. Routes chosen at triage, each with its referral and grants.
            if s["coordinator"]:
                self._onward(referrals, s, ReferralKind.TO_COORDINATOR, org.pk, s["coordinator"])
                for codename in ("view_case", "change_case"):
                    grants.append((perm[codename], s["coordinator"], s["pk"]))
            routes = (
                (s["police"], ConsentPartner.POLICE, police_holders, district),
                (s["dsc"], ConsentPartner.DSC, dsc_holders, dsc_org.pk),
            )
            for routed, partner, holders, to_org in routes:
                if routed or rng.random() < 0.08:  # some consent without a route
                    optional = [
                        ConsentScope.INCIDENT_LOG,
                        ConsentScope.ACTION_PLAN,
                        ConsentScope.NOTES,
                    ]
                    scopes = [ConsentScope.CONTACT, ConsentScope.SITUATION]
                    scopes += [scope for scope in optional if rng.random() < 0.5]
                    for scope in scopes:
                        consents.append(
                            (s["pk"], partner, scope, s["received_at"], from_user, None, None)
                        )
                if routed:
                    kind = _PARTNER_KIND[partner]
                    self._onward(referrals, s, kind, to_org, holders[0])
                    if not closed_at:  # closing revokes the partners' grants
                        for holder in holders:
                            grants.append((perm["view_case"], holder, s["pk"]))
        # COPY fills no Django defaults: every NOT NULL column is named (to_external, the name
        # of an onward referral's external actor, is empty on these; so are person_name and
        # case_reference, read only by "Mine henvisninger", which the bench does not drive).
        referrals = [(i, *row, "", "", "") for i, row in enumerate(referrals, start=1)]
        consents = [(i, *row) for i, row in enumerate(consents, start=1)]
        grants = [(i, *row) for i, row in enumerate(grants, start=1)]
        _copy(
            Referral,
            [
                "id",
                "case_id",
                "kind",
                "status",
                "from_user_id",
                "from_organisation_id",
                "to_organisation_id",
                "to_user_id",
                "reason",
                "decline_reason",
                "created_at",
                "responded_at",
                "responded_by_id",
                "to_external",
                "person_name",
                "case_reference",
            ],
            referrals,
        )
        _copy(
            Consent,
            [
                "id",
                "case_id",
                "partner",
                "scope",
                "given_at",
                "recorded_by_id",
                "withdrawn_at",
                "withdrawn_by_id",
            ],
            consents,
        )
        _copy(
            CaseUserObjectPermission,
            ["id", "permission_id", "user_id", "content_object_id"],
            grants,
        )
        _reset_sequences(Referral, Consent, CaseUserObjectPermission)
        return len(referrals), len(consents), len(grants)

    def notes_and_events(self):
        rng = self.rng
        weights = [NOTE_WEIGHT[s["state"]] * rng.expovariate(1.0) for s in self.specs]
        total = sum(weights)
        counts = [int(N_NOTES * w / total) for w in weights]
        for _ in range(N_NOTES - sum(counts)):
            counts[rng.randrange(len(counts))] += 1
        notes, events = [], []
        note_id = event_id = 0
        closing_labels = {value: str(label) for value, label in ClosingReason.choices}

        def event(s, kind, actor, at, summary="", note=None):
            nonlocal event_id
            event_id += 1
            events.append((event_id, s["pk"], kind, actor, summary, note, "", at))

        for s, n_notes in zip(self.specs, counts, strict=True):
            org = self.orgs[s["code"]]
            received, triaged, closed = s["received_at"], s["triaged_at"], s["closed_at"]
            from_org_name = org.name if s["from_org"] == org.pk else "politikreds"
            event(s, EventKind.REFERRED, s["referrer"], received, from_org_name)
            if s["state"] != CaseState.REFERRED:
                started = received + datetime.timedelta(hours=rng.uniform(1, 20))
                if triaged:
                    started = min(started, triaged - datetime.timedelta(minutes=5))
                event(s, EventKind.TRIAGE_STARTED, s["triager"], started)
            if triaged:
                event(s, EventKind.TRIAGED, s["triager"], triaged)
                if s["closing_reason"] == ClosingReason.NOT_STALKING:
                    event(s, EventKind.CLOSED, s["triager"], triaged, "Ikke stalking (rådgivet)")
                else:
                    routes = []
                    if s["police"]:
                        routes.append("Politikreds")
                    if s["dsc"]:
                        routes.append("Dansk Stalking Center")
                    if s["coordinator"]:
                        routes.append("Koordinator")
                    event(s, EventKind.ROUTED, s["triager"], triaged, ", ".join(routes))
            start = triaged or received
            end = closed or self.now
            span = max((end - start).total_seconds(), 60)
            for at in sorted(
                start + datetime.timedelta(seconds=rng.uniform(0, span)) for _ in range(n_notes)
            ):
                note_id += 1
                author = s["responsible"] if triaged else s["triager"]
                notes.append((note_id, s["pk"], author, _text(rng, 1, 6), at))
                event(s, EventKind.NOTE_ADDED, author, at, "", note_id)
            if closed and s["closing_reason"] != ClosingReason.NOT_STALKING:
                label = closing_labels[s["closing_reason"]]
                event(s, EventKind.CLOSED, s["responsible"], closed, label)
            s["notes"] = n_notes
        _copy(Note, ["id", "case_id", "author_id", "text", "created_at"], notes)
        _copy(
            CaseEvent,
            ["id", "case_id", "kind", "actor_id", "summary", "note_id", "consent_scope"]
            + ["created_at"],
            events,
        )
        _reset_sequences(Note, CaseEvent)
        return len(notes), len(events)

    def assessments(self):
        """The situation assessment of most stalking cases, some assessed twice, a quarter of
        them with a high-risk sign answered yes: the lists' risk mark and the case page's risk
        banner read the newest one (stalkingpakke.services.risk_summary)."""
        rng = self.rng
        version = ToolVersion.objects.filter(kind=ToolKind.ASSESSMENT).order_by("-pk").first()
        content = version.content
        fields = [f["key"] for section in content["sections"] for f in section["fields"]]
        indicators = content["risk_indicators"]
        high = [r["key"] for r in indicators if r.get("high_risk")]
        rows, form_id = [], 0
        for s in self.specs:
            stalking = s["triaged_at"] and s["closing_reason"] != ClosingReason.NOT_STALKING
            if not stalking or rng.random() > 0.8:
                continue
            end = s["closed_at"] or self.now
            for _ in range(1 if rng.random() > 0.25 else 2):
                answers = {key: _text(rng, 1, 2) for key in fields}
                for r in indicators:
                    answers[f"risk:{r['key']}"] = _pick(
                        rng, [("yes", 2), ("no", 6), ("unknown", 2)]
                    )
                if high and rng.random() < 0.25:
                    answers[f"risk:{rng.choice(high)}"] = "yes"
                is_high = any(answers[f"risk:{key}"] == "yes" for key in high)
                at = s["triaged_at"] + (end - s["triaged_at"]) * rng.random()
                form_id += 1
                rows.append(
                    (form_id, s["pk"], version.pk, Jsonb(answers), is_high, s["responsible"], at)
                )
        _copy(
            FilledForm,
            ["id", "case_id", "tool_version_id", "answers", "high_risk", "created_by_id"]
            + ["created_at", "updated_at", "version"],
            [(*row, row[-1], 1) for row in rows],
        )
        _reset_sequences(FilledForm)
        return len(rows)


def load() -> dict:
    """Fill an empty, migrated database. Returns the counts and the users/case to measure."""
    loader = _Loader()
    with transaction.atomic():
        loader.organisations()
        n_users = loader.users()
        loader.cases()
        n_referrals, n_consents, n_grants = loader.referrals_consents_grants()
        n_notes, n_events = loader.notes_and_events()
        n_assessments = loader.assessments()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "users": n_users,
        "cases": len(loader.specs),
        "referrals": n_referrals,
        "consents": n_consents,
        "grants": n_grants,
        "notes": n_notes,
        "events": n_events,
        "assessments": n_assessments,
    }
